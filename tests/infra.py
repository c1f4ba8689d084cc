"""Where the integration tests get real Kafka and Postgres from.

In order: testcontainers when a Docker engine answers; else the project's local infrastructure
(Kafka jars + embedded Postgres, on test ports under .vprime/test); else endpoints from the
environment (VPRIME_TEST_KAFKA_BOOTSTRAP, VPRIME_TEST_DATABASE_ADMIN_URL). VPRIME_TEST_INFRA=
docker|local|env forces one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from vprime_shared import db
from vprime_shared.db import SERVICES

REPO = Path(__file__).resolve().parents[1]
TEST_HOME = REPO / ".vprime" / "test"
DATABASE = "vprime"


@dataclass(frozen=True)
class Endpoints:
    bootstrap: str
    admin_url: str  # a superuser on the server; provisioning creates the `vprime` database and roles
    how: str
    # Each service role's password, by service; a service not here has its role's name (compose's and
    # testcontainers' throwaway servers).
    passwords: dict[str, str] = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        parts = urlsplit(self.admin_url)
        role = f"vprime_{service}"
        password = quote(self.passwords.get(service, role), safe="")
        return f"postgresql://{role}:{password}@{parts.hostname}:{parts.port or 5432}/{DATABASE}"

    @property
    def admin_database_url(self) -> str:
        parts = urlsplit(self.admin_url)
        return parts._replace(path=f"/{DATABASE}").geturl()


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def with_testcontainers() -> Iterator[Endpoints]:
    try:  # testcontainers >= 4.15 moved the modules
        from testcontainers.community.postgres import PostgresContainer  # type: ignore[import-not-found]
    except ImportError:
        from testcontainers.postgres import PostgresContainer

    with apache_kafka_container() as bootstrap, PostgresContainer(
        "postgres:18", username="postgres", password="postgres", dbname="postgres"
    ) as pg:
        host, port = pg.get_container_host_ip(), pg.get_exposed_port(5432)
        yield Endpoints(bootstrap, f"postgresql://postgres:postgres@{host}:{port}/postgres", "testcontainers")


# The Kafka that compose and the local stack (deploy/local/kafka/pom.xml) run: checked by tests/test_deployment.py.
KAFKA_IMAGE = "apache/kafka:4.1.1"
_KAFKA_STARTER = "/tmp/vprime-kafka-start.sh"


@contextmanager
def apache_kafka_container() -> Iterator[str]:
    """One KRaft broker+controller from the Apache image; yields its bootstrap address on this host.

    testcontainers' KafkaContainer drives the Confluent image's own scripts (/etc/confluent/docker), which the Apache
    image lacks; so a plain container whose command waits for a starter script: once Docker has assigned the host
    port, the script exports the advertised listener naming it and hands over to the image's /etc/kafka/docker/run."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_exposed_ports(9092)
        .with_envs(
            KAFKA_NODE_ID="1",
            KAFKA_PROCESS_ROLES="broker,controller",
            KAFKA_LISTENERS="PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9094,CONTROLLER://0.0.0.0:9093",
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT",
            KAFKA_INTER_BROKER_LISTENER_NAME="BROKER",
            KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER",
            KAFKA_CONTROLLER_QUORUM_VOTERS="1@localhost:9093",
            KAFKA_NUM_PARTITIONS="3",
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="1",
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
            KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR="1",
            KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS="0",
        )
        .with_command(["sh", "-c", f"while [ ! -f {_KAFKA_STARTER} ]; do sleep 0.1; done; exec bash {_KAFKA_STARTER}"])
    )
    with container:
        bootstrap = f"{container.get_container_host_ip()}:{container.get_exposed_port(9092)}"
        script = f"export KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://{bootstrap},BROKER://localhost:9094\nexec /etc/kafka/docker/run\n"
        container.copy_into_container(script.encode(), _KAFKA_STARTER, 0o755)
        wait_for_logs(container, r"Kafka Server started", timeout=120)
        yield bootstrap


@contextmanager
def with_local_infra() -> Iterator[Endpoints]:
    from vprime_local.infra import LocalInfra

    infra = LocalInfra(home=TEST_HOME, kafka_port=19092, kafka_controller_port=19093, pg_port=15432, kafka_heap="512m")
    infra.down()  # anything a previous, interrupted run left behind
    for state in ("kafka-data", "pg-data", "logs", "run"):
        shutil.rmtree(TEST_HOME / state, ignore_errors=True)
    infra.up()
    try:
        yield Endpoints(infra.bootstrap, infra.admin_url, "local (Kafka jars + embedded Postgres)", infra.role_passwords)
    finally:
        if not os.environ.get("VPRIME_TEST_KEEP"):
            infra.down()


@contextmanager
def with_env_endpoints() -> Iterator[Endpoints]:
    bootstrap = os.environ.get("VPRIME_TEST_KAFKA_BOOTSTRAP")
    admin = os.environ.get("VPRIME_TEST_DATABASE_ADMIN_URL")
    if not bootstrap or not admin:
        raise RuntimeError(
            "no infrastructure for the integration tests: no Docker engine, the local infrastructure could not start, "
            "and VPRIME_TEST_KAFKA_BOOTSTRAP / VPRIME_TEST_DATABASE_ADMIN_URL are not set"
        )
    yield Endpoints(bootstrap, admin, "environment")


@contextmanager
def endpoints() -> Iterator[Endpoints]:
    forced = os.environ.get("VPRIME_TEST_INFRA")
    if forced == "env" or (forced is None and not docker_engine_answers() and not _local_possible() and os.environ.get("VPRIME_TEST_KAFKA_BOOTSTRAP")):
        chosen = with_env_endpoints
    elif forced == "docker" or (forced is None and docker_engine_answers()):
        chosen = with_testcontainers
    else:
        chosen = with_local_infra
    with chosen() as found:
        asyncio.run(db.provision(found.admin_url, DATABASE, SERVICES, passwords=found.passwords))
        yield found


def _local_possible() -> bool:
    return shutil.which("java") is not None and shutil.which("mvn") is not None
