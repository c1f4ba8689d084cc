"""Settings every service shares. Each service subclasses `ServiceSettings` and sets its defaults.

Environment variables (no prefix, so one `.env` can serve a whole machine):

| variable | meaning | default |
|---|---|---|
| `KAFKA_BOOTSTRAP_SERVERS` | Kafka bootstrap list | `127.0.0.1:9092` |
| `DATABASE_URL` | the service's own Postgres role and database | `postgresql://vprime_<service>:vprime_<service>@127.0.0.1:5432/vprime` |
| `HTTP_HOST` / `HTTP_PORT` | where `/health` (and the API, for control and query) listens | `127.0.0.1` / per service |
| `HTTP_MAX_BODY_BYTES` | the longest request body HTTP accepts; a longer one is answered 413 before it is read (`runtime.BodyLimit`) | `65536` |
| `LOG_LEVEL` | Python log level | `INFO` |
| `OUTBOX_POLL_INTERVAL_S` | how often the leading relay reads what is pending besides what it is handed or notified of | `1.0` |
| `KAFKA_TOPIC_PARTITIONS` | partitions for topics the service creates | `3` |
| `CONSUMER_LAG_INTERVAL_S` | how often `vprime_consumer_lag` is sampled | `15` |
| `KAFKA_LINGER_MS` | how long the producer waits to fill a batch (fewer, larger requests under load) | `0` |
| `KAFKA_FETCH_MAX_WAIT_MS` | how long the broker holds an empty fetch of a consumer on a signal's way to its position (policy's signals, the router's intents, the executor's orders) before answering it. A partition whose records waited more than 100 ms to be handled is left out of its consumer's next fetch, and once handled is fetched again only when that fetch returns: if the fetch held only idle partitions (signals are keyed by agent, so a few agents can leave one idle), that was after the whole wait, aiokafka's default 500 ms | `100` |
| `GC_GEN0_THRESHOLD` | allocations between the cyclic collector's young collections (`0`: Python's default, 700) | `20000` |
| `PG_PLAN_CACHE_MODE` | PostgreSQL's `plan_cache_mode` for the service's connections: `force_custom_plan` plans every statement for its parameters, `force_generic_plan` once per prepared statement (`db.create_pool`) | router, executor, policy: `force_generic_plan`; others `auto` |
| `PG_PLAN_LIFETIME_S` | how long a prepared statement is kept before it is prepared (and so planned) again, for the tables' sizes of then; `0` keeps it for the connection's life (`db.create_pool`) | router, executor: `10`; others `300` |
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PlanCacheMode = Literal["auto", "force_custom_plan", "force_generic_plan"]

SERVICE_PORTS = {
    "control": 8000,
    "query": 8001,
    "signal": 8002,
    "policy": 8003,
    "router": 8004,
    "executor": 8005,
    "simulator": 8010,
    "chain": 8545,  # the local EVM chain's JSON-RPC (anvil)
}


def default_database_url(service: str, host: str = "127.0.0.1", port: int = 5432, database: str = "vprime") -> str:
    role = f"vprime_{service}"
    return f"postgresql://{role}:{role}@{host}:{port}/{database}"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    service_name: str = Field(default="vprime", exclude=True)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 0
    http_max_body_bytes: int = Field(default=64 * 1024, ge=1)  # a longer request body is answered 413 (`runtime.BodyLimit`)
    log_level: str = "INFO"
    outbox_poll_interval_s: float = 1.0
    kafka_topic_partitions: int = 3
    consumer_lag_interval_s: float = 15.0
    kafka_linger_ms: int = 0
    kafka_fetch_max_wait_ms: int = Field(default=100, ge=1)
    gc_gen0_threshold: int = Field(default=20_000, ge=0)
    pg_plan_cache_mode: PlanCacheMode = "auto"  # PostgreSQL's plan_cache_mode for the service's connections (`db.create_pool`)
    pg_plan_lifetime_s: float = Field(default=300.0, ge=0)  # a prepared statement's life, its plan's with it (`db.create_pool`)

    def model_post_init(self, __context: object) -> None:
        if not self.database_url:
            self.database_url = default_database_url(self.service_name)
        if not self.http_port:
            self.http_port = SERVICE_PORTS.get(self.service_name, 8080)

    @property
    def schema(self) -> str:
        return self.service_name
