"""A local anvil node (Foundry's EVM node; chain id 31337, ten funded dev accounts from the well-known test
mnemonic). It mines each transaction as it arrives, so a receipt is there in milliseconds; `state_path` keeps the
chain across restarts of the local stack."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from vprime_chain.toolchain import anvil_path

CHAIN_ID = 31337
# The well-known keys of anvil's dev accounts (test mnemonic "test test ... junk"): public knowledge, local only.
DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",  # 0: deployer, faucet
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",  # 1: the venues' keeper
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",  # 2: the pools' arbitrageur
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",  # 3: liquidity provider
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",  # 4
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",  # 5
)


class Anvil:
    def __init__(self, port: int = 8545, *, host: str = "127.0.0.1", state_path: Path | None = None,
                 log_path: Path | None = None) -> None:
        self.port, self.host, self.state_path, self.log_path = port, host, state_path, log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [str(anvil_path()), "--host", self.host, "--port", str(self.port), "--chain-id", str(CHAIN_ID),
               "--accounts", "10", "--balance", "1000000", "--silent"]
        if self.state_path is not None:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--state", str(self.state_path), "--state-interval", "5"]
        return cmd

    def start(self, timeout_s: float = 20.0) -> Anvil:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_ready(self.rpc_url, timeout_s, self.process)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_ready(rpc_url: str, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"anvil exited with {process.returncode} before answering at {rpc_url}")
        try:
            r = httpx.post(rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"anvil did not answer at {rpc_url} within {timeout_s:g}s")
        time.sleep(0.05)
