"""Run the local chain: `python -m vprime_chain` becomes anvil on CHAIN_HOST (127.0.0.1):CHAIN_PORT (8545), keeping
its state in CHAIN_STATE_FILE when set (the local stack sets `.vprime/chain/state.json`)."""

from __future__ import annotations

import os
from pathlib import Path

from vprime_chain.anvil import Anvil


def main() -> None:
    state = os.environ.get("CHAIN_STATE_FILE", "").strip()
    node = Anvil(int(os.environ.get("CHAIN_PORT", 8545)), host=os.environ.get("CHAIN_HOST", "127.0.0.1"),
                 state_path=Path(state) if state else None)
    cmd = node.command()
    os.execv(cmd[0], cmd)  # the process is anvil itself: a stop signal reaches it, and it writes its state


if __name__ == "__main__":
    main()
