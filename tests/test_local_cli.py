"""The local runner's entrypoint (`make up`, `make dev`) loads and names its commands; the suite
itself drives the stack through `vprime_local.stack`, so nothing else would import it."""

from __future__ import annotations

import subprocess
import sys


def test_vprime_local_entrypoint_loads() -> None:
    result = subprocess.run([sys.executable, "-m", "vprime_local", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("infra-up", "infra-down", "up", "down", "dev", "demo", "status"):
        assert command in result.stdout


def test_reliability_runner_loads() -> None:
    result = subprocess.run([sys.executable, "-c", "import vprime_local.reliability"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
