"""The vprime command against the running system."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from eth_account import Account

from vprime_local.stack import ServiceStack
from tests.conftest import Endpoints, eventually

pytestmark = pytest.mark.integration


def vprime(stack: ServiceStack, infra: Endpoints, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {"VPRIME_CONTROL_URL": stack.url("control"), "VPRIME_QUERY_URL": stack.url("query"),
           "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap, "PATH": "/usr/bin:/bin", "COLUMNS": "200",
           "VPRIME_HOME": str(stack.home / "cli-home"), **env_extra}
    return subprocess.run([sys.executable, "-m", "vprime_cli", *args], capture_output=True, text=True, env=env, timeout=120)


async def test_a_session_through_the_cli(stack: ServiceStack, infra: Endpoints) -> None:
    wallet = Account.create()
    refused = vprime(stack, infra, "agents", "create", "CLI agent", "--wallet", wallet.address)
    assert refused.returncode == 1 and "401" in refused.stdout and "Bearer" in refused.stdout
    assert vprime(stack, infra, "login").returncode == 2  # no key given
    login = vprime(stack, infra, "login", "--json", VPRIME_WALLET_KEY=wallet.key.hex())
    assert login.returncode == 0, login.stdout + login.stderr
    token = json.loads(login.stdout)["token"]

    def as_user(*args: str) -> subprocess.CompletedProcess[str]:
        return vprime(stack, infra, *args, VPRIME_TOKEN=token)

    created = json.loads(as_user("agents", "create", "CLI agent", "--wallet", wallet.address, "--json").stdout)
    agent_id = created["agent"]["id"]
    deployed = as_user("agents", "deploy", agent_id, "--wallet", wallet.address, "--venues", "HYPERLIQUID,OSTIUM",
                       "--policy", '{"max_open_positions": 5}', "--json")
    deployment = json.loads(deployed.stdout)["deployment"]
    assert deployment["policy"] == {"max_open_positions": 5}
    listed = vprime(stack, infra, "agents", "list", "--wallet", wallet.address)  # reads are public
    assert "CLI agent" in listed.stdout and "HYPERLIQUID" in listed.stdout
    sent = json.loads(as_user("signals", "send", agent_id, "GOLD", "LONG", "--json").stdout)
    signal_id = sent["signal"]["id"]

    async def executed() -> dict | None:
        t = json.loads((await asyncio.to_thread(vprime, stack, infra, "timeline", signal_id, "--json")).stdout)
        return t if t["signal"]["status"] == "EXECUTED" else None

    await eventually(executed, what="the CLI's signal to execute")
    table = vprime(stack, infra, "timeline", signal_id).stdout
    assert "OSTIUM" in table and "position" in table
    assert "GOLD" in vprime(stack, infra, "routing", "history", "--token", "GOLD").stdout
    stats = json.loads(vprime(stack, infra, "stats", "--json").stdout)
    assert stats["stats"]["signals"]["total"] >= 1
    assert as_user("agents", "pause", deployment["id"]).returncode == 0
    bad = as_user("signals", "send", "00000000-0000-0000-0000-000000000000", "ETH", "LONG")
    assert bad.returncode == 1 and "does not exist" in bad.stdout
    wrong_policy = as_user("agents", "deploy", agent_id, "--wallet", wallet.address, "--policy", "{not json")
    assert wrong_policy.returncode == 2 and "not JSON" in wrong_policy.stdout


async def test_dead_letters_are_listed_and_replayed_once(stack: ServiceStack, infra: Endpoints) -> None:
    import uuid

    from aiokafka import AIOKafkaProducer

    marker = uuid.uuid4().hex
    bad = json.dumps({"post_id": marker, "account_id": "a", "author_handle": "@a", "text": "gm", "posted_at": "not a time"}).encode()
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("context.posts.v1", bad, key=b"a")
    finally:
        await producer.stop()

    def mine(command: str) -> list[dict]:
        out = vprime(stack, infra, "dlq", command, "--topic", "context.posts.v1", "--json").stdout
        rows = json.loads(out)["letters" if command == "list" else "replayed"]
        return rows

    async def listed() -> list[dict] | None:
        rows = [r for r in await asyncio.to_thread(mine, "list") if r["service"] == "signal"]
        return rows or None

    rows = await eventually(listed, what="the bad post in the DLQ")
    assert "posted_at" in rows[-1]["error"] and rows[-1]["source"].startswith("context.posts.v1/")
    first = await asyncio.to_thread(mine, "replay")
    assert len(first) >= 1
    second = await asyncio.to_thread(mine, "replay")
    # A dead letter is replayed once however often the command runs (the second run may find the
    # replayed post dead-lettered anew: a new letter).
    assert not {r["dlq_offset"] for r in first} & {r["dlq_offset"] for r in second}

    async def dead_again() -> bool:  # still bad: the replayed original lands in the DLQ a second time
        rows = [r for r in await asyncio.to_thread(mine, "list") if r["service"] == "signal"]
        return len(rows) >= 2

    await eventually(dead_again, what="the replayed post to come back to the DLQ")
    assert marker
