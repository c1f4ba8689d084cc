"""A short demo through the public APIs: an agent, a deployment on all four venues, a few signals."""

from __future__ import annotations

import time

import httpx
from eth_account import Account

from vprime_shared.sign_in import bearer, sign_in

from vprime_local.infra import LocalInfra, say
from vprime_local.stack import simulator_admin_headers
from vprime_local.venue_accounts import connect_venue_blocking

DEMO_SIGNALS = [
    ("ETH", "LONG"),    # on Hyperliquid: routed there first
    ("GOLD", "LONG"),   # Ostium only (XAU-USD): falls back to Ostium
    ("BTC", "SHORT"),
    ("EURUSD", "SHORT"),
    ("SATS", "LONG"),   # GMX only (1000SATS/USD): a MarketIncrease order a keeper executes on the local chain
    ("MAGIC", "LONG"),  # SPOT only: a Uniswap V3 swap on the local chain
]


def run(control: str, query: str, simulator: str, timeout_s: float = 60, *,
        simulator_admin: dict[str, str] | None = None) -> dict:
    """`simulator_admin`: the simulator's admin bearer header; by default the one of the local home (VPRIME_HOME)."""
    simulator_admin = simulator_admin or simulator_admin_headers(LocalInfra.from_env().home)
    with httpx.Client(timeout=10) as http:
        # The demo user signs in with a fresh wallet (EIP-4361 message, EIP-191 signature): its agent is its own.
        wallet = Account.create()
        http.headers.update(bearer(sign_in(http, control, wallet.key)))
        say(f"signed in to control as {wallet.address}")
        agent = http.post(f"{control}/api/v3/agents/create", json={
            "creator_wallet": wallet.address,
            "name": "Multi-Venue Alpha Agent (demo)",
            "x_account_ids": ["44196397"],
            "research_institute_ids": ["inst_demo"],
            "weights": {"x": 0.6, "research": 0.4},
            "profit_receiver_address": wallet.address,
        }).raise_for_status().json()["agent"]
        say(f"created agent {agent['name']} ({agent['id']})")
        deployment = http.post(f"{control}/api/v3/agents/deploy", json={
            "agent_id": agent["id"], "user_wallet": wallet.address, "enabled_venues": ["HYPERLIQUID", "OSTIUM", "GMX", "SPOT"],
        }).raise_for_status().json()["deployment"]
        say(f"deployed on {' → '.join(deployment['enabled_venues'])} ({deployment['id']})")
        for venue in deployment["enabled_venues"]:  # agent wallets made and kept by the executor: trades go to the venues
            agent_wallet = http.post(f"{control}/api/v3/deployments/{deployment['id']}/agent-wallets/{venue}").raise_for_status().json()
            # On a real venue the user approves the agent wallet on the venue's site (or by a transaction); here the
            # demo does what the user would, with the local chain's faucet for funds.
            connect_venue_blocking(simulator, simulator_admin, venue, user=wallet, agent=agent_wallet["address"],
                                   equity_usd=10_000)
            say(f"agent wallet for {venue}: {agent_wallet['address']} (connected; its key stays in the executor)")
        ids = []
        for instrument, side in DEMO_SIGNALS:
            signal = http.post(f"{control}/api/v3/signals/generate", json={
                "agent_id": agent["id"], "token_symbol": instrument, "side": side,
                "size_model": {"type": "percentage", "value": 10},
                "risk_model": {"type": "trailing-stop", "stop": 0.03}, "confidence": 0.8,
            }).raise_for_status().json()["signal"]
            ids.append(signal["id"])
            say(f"signal {instrument} {side} → {signal['id']}")
        deadline = time.monotonic() + timeout_s
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            statuses = {}
            for sid in ids:
                r = http.get(f"{query}/api/v3/signals/{sid}/timeline")
                statuses[sid] = r.json()["signal"]["status"] if r.status_code == 200 else "UNSEEN"
            if all(s in ("EXECUTED", "FAILED", "SKIPPED", "REJECTED") for s in statuses.values()):
                break
            time.sleep(0.5)
        history = http.get(f"{query}/api/v3/stats/routing-history", params={"agent_id": agent["id"]}).json()
        for row in reversed(history["history"]):
            say(f"  {row['token_symbol']:<7} → {row['selected_venue'] or 'no venue':<12} {row['routing_reason']}")
        say(f"signal outcomes: {sorted(statuses.values())}")
        return {"agent": agent, "deployment": deployment, "signals": ids, "statuses": statuses}
