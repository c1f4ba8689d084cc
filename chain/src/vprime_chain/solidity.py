"""Compile our own test contracts with solc 0.8.30 (solcjs from npm, standard JSON), cached by the sources' hash so
a stack starts in seconds after the first compile. Published contracts (Uniswap) are never compiled: their own build
artifacts are loaded as they were released."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vprime_chain.toolchain import CONTRACTS, NODE_MODULES, node, npm_package

BUILD_DIR = Path(os.environ.get("VPRIME_CHAIN_BUILD_DIR", CONTRACTS.parents[1] / ".vprime" / "chain" / "build"))

_SOLCJS = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.on('data', d => input += d);
process.stdin.on('end', () => process.stdout.write(solc.compile(input)));
"""


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed creation code


class CompileError(RuntimeError):
    pass


def sources_under(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (CONTRACTS / f).rglob("*.sol"))


def compile_sources(paths: list[Path]) -> dict[str, Artifact]:
    """Every contract defined in `paths` and the files they import (relative imports under `chain/contracts`), by
    contract name."""
    sources = _with_imports({_unit(p): p.read_text() for p in paths})
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:24]
    cached = BUILD_DIR / f"{digest}.json"
    if cached.exists():
        output = json.loads(cached.read_text())
    else:
        output = _solc(sources)
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(output))
        tmp.replace(cached)
    return {name: Artifact(name, c["abi"], "0x" + c["evm"]["bytecode"]["object"])
            for file in output["contracts"].values() for name, c in file.items()}


def _unit(path: Path) -> str:
    return str(path.resolve().relative_to(CONTRACTS))


def _with_imports(sources: dict[str, str]) -> dict[str, str]:
    """solcjs reads sources from its standard JSON only (no import callback here), so imports are resolved up front."""
    todo = list(sources)
    while todo:
        name = todo.pop()
        for line in sources[name].splitlines():
            if line.strip().startswith("import "):
                unit = _unit(CONTRACTS / Path(name).parent / line.split('"')[1])
                if unit not in sources:
                    sources[unit] = (CONTRACTS / unit).read_text()
                    todo.append(unit)
    return sources


def _solc(sources: dict[str, str]) -> dict[str, Any]:
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {"optimizer": {"enabled": True, "runs": 200}, "evmVersion": "cancun",
                     "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    solc_js = npm_package("solc") / "index.js"
    proc = subprocess.run([node(), "-e", _SOLCJS, str(solc_js)], input=json.dumps(standard_input), capture_output=True,
                          text=True, check=False, cwd=NODE_MODULES)
    if proc.returncode != 0:
        raise CompileError(proc.stderr.strip() or "solc failed")
    output = json.loads(proc.stdout)
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise CompileError("\n".join(errors))
    return output


def published(package: str, artifact_path: str) -> Artifact:
    """A contract as its npm package published it (Hardhat artifact: abi + bytecode)."""
    data = json.loads((npm_package(package) / artifact_path).read_text())
    return Artifact(data["contractName"], data["abi"], data["bytecode"])
