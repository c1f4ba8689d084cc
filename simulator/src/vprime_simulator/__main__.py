"""Run the venue simulator: `python -m vprime_simulator`.

Environment: SIMULATOR_HOST (127.0.0.1), SIMULATOR_PORT (8010), SIMULATOR_ADMIN_TOKEN (the bearer the
`/admin/*` routes want; none: they answer 503), SIMULATOR_SEED (7), SIMULATOR_FEED_INSTRUMENTS (BTC,ETH,SOL,GOLD,EURUSD;
empty: no feed), SIMULATOR_TICK_INTERVAL_S (1.0), SIMULATOR_TIMEOUT_S (30: how long the `timeout` fault hangs), KAFKA_BOOTSTRAP_SERVERS (127.0.0.1:9092),
SIMULATOR_HYPERLIQUID_NETWORK (testnet: the network whose signatures Hyperliquid takes, mainnet or testnet),
SIMULATOR_HYPERLIQUID_WEIGHT_PER_MINUTE (1200, the venue's: request weight each client address may spend a minute),
ARBITRUM_RPC_URL (none: no chain; else the local chain the on-chain venues' contracts are deployed to and kept by
this process), SIMULATOR_CHAIN_FILE (.vprime/chain/deployment.json: where the deployment's addresses are written),
SIMULATOR_KEEPERS (1; 0: run no keepers, for a second simulator on a chain another one keeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn

from vprime_shared import logs
from vprime_simulator.app import create_app
from vprime_simulator.chain import open_chain
from vprime_simulator.exchange import Exchange
from vprime_simulator.feed import run_feed
from vprime_simulator.hyperliquid_api import DEFAULT_WEIGHT_PER_MINUTE

DEFAULT_HOST = "127.0.0.1"


def main() -> None:
    logs.configure("simulator", os.environ.get("LOG_LEVEL", "INFO"))
    exchange = Exchange(seed=int(os.environ.get("SIMULATOR_SEED", 7)))
    app = create_app(exchange, admin_token=os.environ.get("SIMULATOR_ADMIN_TOKEN", "").strip(),
                     timeout_s=float(os.environ.get("SIMULATOR_TIMEOUT_S", 30)),
                     hyperliquid_network=os.environ.get("SIMULATOR_HYPERLIQUID_NETWORK", "").strip().lower() or "testnet",
                     hyperliquid_weight_per_minute=int(os.environ.get("SIMULATOR_HYPERLIQUID_WEIGHT_PER_MINUTE",
                                                                      DEFAULT_WEIGHT_PER_MINUTE)))
    feed = os.environ.get("SIMULATOR_FEED_INSTRUMENTS", "BTC,ETH,SOL,GOLD,EURUSD")
    instruments = [i.strip().upper() for i in feed.split(",") if i.strip()]
    interval = float(os.environ.get("SIMULATOR_TICK_INTERVAL_S", 1.0))
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")

    rpc_url = os.environ.get("ARBITRUM_RPC_URL", "").strip()
    keep = os.environ.get("SIMULATOR_KEEPERS", "1").strip() != "0"
    chain_file = Path(os.environ.get("SIMULATOR_CHAIN_FILE", "").strip() or Path.cwd() / ".vprime" / "chain" / "deployment.json")

    @contextlib.asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        if rpc_url:  # deployed (or found) before the simulator answers its health check
            app.state.chain = await open_chain(exchange, rpc_url, chain_file, keepers=keep)
        task = asyncio.create_task(run_feed(exchange, bootstrap, instruments, interval)) if instruments else None
        yield
        if task:
            task.cancel()
        if app.state.chain is not None:
            await app.state.chain.close()

    app.router.lifespan_context = lifespan
    uvicorn.run(app, host=bind_host(), port=int(os.environ.get("SIMULATOR_PORT", 8010)), log_config=None, access_log=False)


def bind_host() -> str:
    """Loopback unless SIMULATOR_HOST says otherwise: its admin API moves prices and funds accounts."""
    return os.environ.get("SIMULATOR_HOST", "").strip() or DEFAULT_HOST


if __name__ == "__main__":
    main()
