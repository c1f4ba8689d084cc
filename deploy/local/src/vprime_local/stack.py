"""Every Vprime service as its own background process, against local (or given) infrastructure."""

from __future__ import annotations

import base64
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

# The venue simulator comes first: the router reads its catalogs at start.
PROCESSES = ("simulator", *SERVICES)
from vprime_shared.settings import SERVICE_PORTS

from vprime_local.infra import InfraError, pid_alive, port_open, say, stop_pid


@dataclass
class ServiceStack:
    home: Path
    bootstrap: str
    database_urls: dict[str, str]
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    services: tuple[str, ...] = PROCESSES
    extra_env: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def secrets(self) -> dict[str, str]:
        """The executor's credentials key (a file only it is told about) and the internal API token, made once."""
        folder = self.home / "secrets"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key, token = folder / "credentials.key", folder / "internal-api.token"
        for path, make in ((key, lambda: base64.b64encode(secrets.token_bytes(32)).decode()), (token, lambda: secrets.token_urlsafe(32))):
            if not path.exists():
                path.write_text(make())
                path.chmod(0o600)
        return {"key_file": str(key), "token": token.read_text().strip()}

    def env(self, service: str) -> dict[str, str]:
        found = self.secrets()
        private = {"CREDENTIALS_KEY_FILE": found["key_file"]} if service == "executor" else {}
        shared = {"INTERNAL_API_TOKEN": found["token"]} if service in ("control", "executor") else {}
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DATABASE_URL": self.database_urls.get(service, ""),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.ports[service]),
            "SIMULATOR_PORT": str(self.ports["simulator"]),
            "VENUE_SIMULATOR_URL": self.url("simulator"),
            "VENUE_API_URL": self.url("simulator"),
            "EXECUTOR_URL": self.url("executor"),
            **private,
            **shared,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def pid_file(self, service: str) -> Path:
        return self.home / "run" / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.home / "logs" / f"{service}.log"

    def start(self, service: str, **env_override: str) -> None:
        if pid_alive(self.pid_file(service)):
            return
        if port_open(self.ports[service]):
            raise InfraError(f"port {self.ports[service]} for {service} is taken by another program")
        for d in (self.home / "run", self.home / "logs"):
            d.mkdir(parents=True, exist_ok=True)
        with self.log_file(service).open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", f"vprime_{service}"],
                env={**self.env(service), **env_override}, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file(service).write_text(str(proc.pid))

    def up(self, timeout_s: float = 120) -> None:
        for service in self.services:
            self.start(service)
        self.wait_healthy(timeout_s)

    def wait_healthy(self, timeout_s: float = 120, services: tuple[str, ...] | None = None) -> None:
        pending = set(services or self.services)
        deadline = time.monotonic() + timeout_s
        last_report = 0.0
        with httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for service in sorted(pending):
                    if not pid_alive(self.pid_file(service)):
                        tail = self.log_file(service).read_text()[-3000:] if self.log_file(service).exists() else ""
                        raise InfraError(f"{service} exited during start; last log lines:\n{tail}")
                    try:
                        if client.get(f"{self.url(service)}/health").status_code == 200:
                            pending.discard(service)
                            say(f"{service:<9} healthy at {self.url(service)}")
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() - last_report > 10:
                    last_report = time.monotonic()
                    say(f"waiting for {', '.join(sorted(pending))} ...")
                time.sleep(0.25)
        if pending:
            raise InfraError(f"not healthy after {timeout_s:.0f}s: {', '.join(sorted(pending))}; logs in {self.home / 'logs'}")

    def stop(self, service: str) -> None:
        """SIGTERM (a graceful shutdown: consumers stop, offsets commit, the relay stops), SIGKILL after 20 s."""
        stop_pid(self.pid_file(service), service)

    def kill(self, service: str) -> None:
        """SIGKILL: the crash case."""
        pid = pid_alive(self.pid_file(service))
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while pid_alive(self.pid_file(service)):
                time.sleep(0.05)
        self.pid_file(service).unlink(missing_ok=True)

    def down(self) -> None:
        for service in reversed(self.services):
            self.stop(service)
