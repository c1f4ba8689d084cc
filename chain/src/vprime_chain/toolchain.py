"""Where the chain's npm-installed tools are: `make install` runs `npm ci` in `chain/` (package-lock.json pins anvil,
solc and Uniswap's published artifacts)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHAIN_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = Path(os.environ.get("VPRIME_CHAIN_NODE_MODULES", CHAIN_ROOT / "node_modules"))
CONTRACTS = CHAIN_ROOT / "contracts"


class ToolMissing(RuntimeError):
    pass


def anvil_path() -> Path:
    path = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    if not path.exists():
        raise ToolMissing(f"anvil is not installed at {path}: run `make install` (npm ci in chain/)")
    return path


def node() -> str:
    found = shutil.which("node")
    if not found:
        raise ToolMissing("node is not on PATH: the Solidity compiler (solcjs) runs on Node.js")
    return found


def npm_package(name: str) -> Path:
    path = NODE_MODULES / name
    if not path.exists():
        raise ToolMissing(f"npm package {name} is not installed: run `make install` (npm ci in chain/)")
    return path
