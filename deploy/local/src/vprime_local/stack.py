"""Every Vprime service as its own background process, against local (or given) infrastructure."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from vprime_shared.db import SERVICES

from vprime_shared.settings import SERVICE_PORTS
from vprime_shared.sign_in import bearer

from vprime_local.infra import InfraError, pid_alive, port_open, say, secret, stop_pid

PROCESSES = ("chain", "simulator", *SERVICES)

# What a service calls as soon as it runs, and so must be healthy before it starts: the simulator deploys the venues'
# contracts to the chain, the router reads the simulator's catalogs and the chain, the executor trades on both.
CALLS: dict[str, tuple[str, ...]] = {"simulator": ("chain",), "router": ("simulator", "chain"),
                                     "executor": ("simulator", "chain")}
MODULES = {"chain": "vprime_chain"}  # the module a process runs, where it is not `vprime_<name>`


def start_waves(services: tuple[str, ...], calls: dict[str, tuple[str, ...]] = CALLS) -> list[tuple[str, ...]]:
    """`services` in the waves `up` starts them in: a service that calls nothing is in the first wave, any other in the
    wave after the last of those it calls. Each wave keeps `services`' order."""
    wave: dict[str, int] = {}

    def wave_of(service: str, seen: tuple[str, ...] = ()) -> int:
        if service in seen:
            raise ValueError(f"services call each other in a cycle: {' → '.join((*seen, service))}")
        if service not in wave:
            called = [c for c in calls.get(service, ()) if c in services]
            wave[service] = max((1 + wave_of(c, (*seen, service)) for c in called), default=0)
        return wave[service]

    last = max((wave_of(s) for s in services), default=-1)
    return [tuple(s for s in services if wave[s] == k) for k in range(last + 1)]


INSTANCE_PORT_STEP = 100
SIMULATED_HYPERLIQUID = {"HYPERLIQUID_WEIGHT_PER_MINUTE": "1000000", "SIMULATOR_HYPERLIQUID_WEIGHT_PER_MINUTE": "1000000"}


def _label(service: str, instance: int) -> str:
    return service if instance == 0 else f"{service}.{instance}"


def operator_token_path(home: Path) -> Path:
    return home / "secrets" / "operator-api.token"


def operator_headers(home: Path) -> dict[str, str]:
    """The local operator's bearer header, for tools driving a local stack (demo, reliability, benchmarks)."""
    return bearer(operator_token_path(home).read_text().strip())


def simulator_admin_token_path(home: Path) -> Path:
    return home / "secrets" / "simulator-admin.token"


def simulator_admin_headers(home: Path) -> dict[str, str]:
    """The bearer header the local venue simulator's `/admin/*` routes want (its token is made with the stack's
    other secrets), for whatever drives them: the demo, reliability runs, the tests."""
    return bearer(secret(simulator_admin_token_path(home)))


@dataclass
class ServiceStack:
    home: Path
    bootstrap: str
    database_urls: dict[str, str]
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    services: tuple[str, ...] = PROCESSES
    extra_env: dict[str, str] = field(default_factory=dict)

    def port(self, service: str, instance: int = 0) -> int:
        """Instance 0 is the service's own port; further instances (scale-out) sit 100 ports above each other."""
        return self.ports[service] + INSTANCE_PORT_STEP * instance

    def url(self, service: str, instance: int = 0) -> str:
        return f"http://127.0.0.1:{self.port(service, instance)}"

    def secrets(self) -> dict[str, str]:
        """Made once per home (mode 0600 in `secrets/`): the executor's credentials key (a file only it is told about),
        the internal API token (control to executor), the local operator token (control's writes, for the CLI and
        demo) and the simulator's admin token (for the tools that set venues up)."""
        folder = self.home / "secrets"
        key, operator = folder / "credentials.key", operator_token_path(self.home)
        secret(key, lambda: base64.b64encode(secrets.token_bytes(32)).decode())
        return {"key_file": str(key), "token": secret(folder / "internal-api.token"), "operator_file": str(operator),
                "operator_token": secret(operator, lambda: "vpo_" + secrets.token_urlsafe(32)),
                "simulator_admin_token": secret(simulator_admin_token_path(self.home))}

    @property
    def deployment_file(self) -> Path:
        return self.home / "chain" / "deployment.json"

    def chain_env(self) -> dict[str, str]:
        """The local chain for every process: its RPC URL, and once the simulator has deployed to it, each contract as
        `<NAME>_ADDRESS` and the tokens as `CHAIN_TOKENS_JSON`. None of it when the environment names another chain
        (ARBITRUM_RPC_URL): the venues' own addresses then apply."""
        if "ARBITRUM_RPC_URL" in os.environ:
            return {}
        env = {"ARBITRUM_RPC_URL": self.url("chain"), "SIMULATOR_CHAIN_FILE": str(self.deployment_file),
               "CHAIN_PORT": str(self.port("chain")), "CHAIN_STATE_FILE": str(self.home / "chain" / "state.json")}
        if self.deployment_file.exists():
            deployment = json.loads(self.deployment_file.read_text())
            env |= {f"{name.upper()}_ADDRESS": address for name, address in deployment["contracts"].items()}
            env["CHAIN_TOKENS_JSON"] = json.dumps(deployment["tokens"], sort_keys=True)
        return env

    def env(self, service: str) -> dict[str, str]:
        found = self.secrets()
        private = {"CREDENTIALS_KEY_FILE": found["key_file"]} if service == "executor" else {}
        shared = {"INTERNAL_API_TOKEN": found["token"]} if service in ("control", "executor") else {}
        if service == "control":
            # Users sign in on the web app, which query serves: the sign-in message names its host, not control's.
            web = {k: v for k, v in (("SIGN_IN_DOMAIN", f"127.0.0.1:{self.port('query')}"),
                                     ("SIGN_IN_URI", self.url("query"))) if k not in os.environ}
            private = {"OPERATOR_TOKEN_FILE": found["operator_file"], **web}
        if service == "simulator":
            private = {"SIMULATOR_ADMIN_TOKEN": found["simulator_admin_token"]}
        inherited = {k: v for k, v in os.environ.items() if k != "SIMULATOR_ADMIN_TOKEN"}  # the simulator's alone
        # Hyperliquid is the simulator's (VENUE_API_URL) unless the environment names one (testnet, say). The
        # simulator's budget is not the venue's to keep: a local stack trades far faster than one account would.
        simulated = {} if "HYPERLIQUID_API_URL" in os.environ else SIMULATED_HYPERLIQUID
        return {
            **simulated,
            **self.chain_env(),
            **inherited,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DATABASE_URL": self.database_urls.get(service, ""),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.port(service)),
            "SIMULATOR_PORT": str(self.ports["simulator"]),
            "VENUE_SIMULATOR_URL": self.url("simulator"),
            "VENUE_API_URL": self.url("simulator"),
            "EXECUTOR_URL": self.url("executor"),
            **private,
            **shared,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def pid_file(self, service: str, instance: int = 0) -> Path:
        return self.home / "run" / f"{_label(service, instance)}.pid"

    def log_file(self, service: str, instance: int = 0) -> Path:
        return self.home / "logs" / f"{_label(service, instance)}.log"

    def start(self, service: str, instance: int = 0, **env_override: str) -> None:
        """Start the service (instance 0) or one more instance of it in the same consumer groups."""
        pid_file, port = self.pid_file(service, instance), self.port(service, instance)
        if pid_alive(pid_file):
            return
        if port_open(port):
            raise InfraError(f"port {port} for {_label(service, instance)} is taken by another program")
        for d in (self.home / "run", self.home / "logs"):
            d.mkdir(parents=True, exist_ok=True)
        with self.log_file(service, instance).open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", MODULES.get(service, f"vprime_{service}")],
                env={**self.env(service), "HTTP_PORT": str(port), **env_override}, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        pid_file.write_text(str(proc.pid))

    def up(self, timeout_s: float = 120) -> None:
        """Start every service, each only once what it calls is healthy (`start_waves`: the simulator before the
        router and executor, the others with it); wait until all are healthy, within `timeout_s` in all."""
        deadline = time.monotonic() + timeout_s
        healthy: list[str] = []
        for wave in start_waves(self.services):
            called = tuple(c for c in self.services if any(c in CALLS.get(s, ()) for s in wave) and c not in healthy)
            if called:
                self.wait_healthy(max(deadline - time.monotonic(), 1), services=called)
                healthy.extend(called)
            for service in wave:
                self.start(service)
        rest = tuple(s for s in self.services if s not in healthy)
        if rest:
            self.wait_healthy(max(deadline - time.monotonic(), 1), services=rest)

    def wait_healthy(self, timeout_s: float = 120, services: tuple[str, ...] | None = None, instance: int = 0) -> None:
        pending = set(services or self.services)
        deadline = time.monotonic() + timeout_s
        last_report = 0.0
        with httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for service in sorted(pending):
                    log = self.log_file(service, instance)
                    if not pid_alive(self.pid_file(service, instance)):
                        tail = log.read_text()[-3000:] if log.exists() else ""
                        raise InfraError(f"{_label(service, instance)} exited during start; last log lines:\n{tail}")
                    try:
                        if self.answers(client, service, instance):
                            pending.discard(service)
                            say(f"{_label(service, instance):<9} healthy at {self.url(service, instance)}")
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() - last_report > 10:
                    last_report = time.monotonic()
                    say(f"waiting for {', '.join(sorted(pending))} ...")
                time.sleep(0.25)
        if pending:
            raise InfraError(f"not healthy after {timeout_s:.0f}s: {', '.join(sorted(pending))}; logs in {self.home / 'logs'}")

    def answers(self, client: httpx.Client, service: str, instance: int = 0) -> bool:
        """Healthy: a 200 from `/health`; for the chain, an answer to `eth_chainId`."""
        if service == "chain":
            rpc = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
            return client.post(self.url(service, instance), json=rpc).status_code == 200
        return client.get(f"{self.url(service, instance)}/health").status_code == 200

    def stop(self, service: str, instance: int = 0) -> None:
        """SIGTERM (a graceful shutdown: consumers stop, offsets commit, the relay stops), SIGKILL after 20 s."""
        stop_pid(self.pid_file(service, instance), _label(service, instance))

    def kill(self, service: str, instance: int = 0) -> None:
        """SIGKILL: the crash case."""
        pid_file = self.pid_file(service, instance)
        pid = pid_alive(pid_file)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while pid_alive(pid_file):
                time.sleep(0.05)
        pid_file.unlink(missing_ok=True)

    def down(self) -> None:
        for service in reversed(self.services):
            for extra in sorted((self.home / "run").glob(f"{service}.*.pid")):
                self.stop(service, int(extra.stem.rsplit(".", 1)[1]))
            self.stop(service)
