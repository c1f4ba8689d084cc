"""The chain base on a real anvil: our contracts compile, deploy and hold balances; a deployment round-trips as
JSON and is recognised as present (or absent on a fresh chain)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vprime_chain.anvil import Anvil
from vprime_chain.deploy import ERC20_ABI, Chain, Deployment, Faucet, code_fingerprint, deploy_tokens, is_deployed

PORT = 18590


@pytest.fixture(scope="module")
def anvil():
    with Anvil(PORT) as node:
        yield node


async def test_tokens_deploy_with_their_real_decimals_and_the_faucet_funds_an_account(anvil: Anvil) -> None:
    chain = Chain(anvil.rpc_url)
    deployment = Deployment(await chain.chain_id(), anvil.rpc_url, fingerprint=code_fingerprint())
    await deploy_tokens(chain, deployment, ["WETH", "WBTC", "LINK"])
    assert {s: t.decimals for s, t in deployment.tokens.items()} == {"USDC": 6, "WETH": 18, "WBTC": 8, "LINK": 18}
    wbtc = chain.contract(ERC20_ABI, deployment.tokens["WBTC"].address)
    assert await wbtc.functions.decimals().call() == 8

    user = "0x00000000000000000000000000000000000000a1"
    await Faucet(chain, deployment).fund(user, usdc=Decimal("1234.5"), eth=Decimal("0.25"))
    usdc = chain.contract(ERC20_ABI, deployment.tokens["USDC"].address)
    assert await usdc.functions.balanceOf(chain.w3.to_checksum_address(user)).call() == 1_234_500_000
    assert await chain.w3.eth.get_balance(chain.w3.to_checksum_address(user)) == 25 * 10**16

    assert Deployment.from_json(deployment.to_json()) == deployment
    assert await is_deployed(chain, deployment)


async def test_a_deployment_is_not_present_on_another_chain(anvil: Anvil) -> None:
    chain = Chain(anvil.rpc_url)
    ghost = Deployment(await chain.chain_id(), anvil.rpc_url, {"usdc": "0x00000000000000000000000000000000000000b2"},
                       fingerprint=code_fingerprint())
    assert not await is_deployed(chain, ghost)


async def test_a_deployment_made_by_other_code_is_not_taken(anvil: Anvil) -> None:
    chain = Chain(anvil.rpc_url)
    deployment = Deployment(await chain.chain_id(), anvil.rpc_url, fingerprint=code_fingerprint())
    await deploy_tokens(chain, deployment, [])
    assert await is_deployed(chain, deployment)
    deployment.fingerprint = "older-code"
    assert not await is_deployed(chain, deployment)


async def test_a_nonce_another_sender_used_is_read_again_after_one_failure(anvil: Anvil) -> None:
    ours, theirs = Chain(anvil.rpc_url), Chain(anvil.rpc_url)  # two processes signing as the same account
    deployment = Deployment(await ours.chain_id(), anvil.rpc_url, fingerprint=code_fingerprint())
    await deploy_tokens(ours, deployment, [])
    usdc = ours.contract(ERC20_ABI, deployment.tokens["USDC"].address)
    await theirs.transact(theirs.contract(ERC20_ABI, deployment.tokens["USDC"].address).functions.mint(
        ours.deployer.address, 1))  # uses the nonce `ours` holds next
    try:
        await ours.transact(usdc.functions.mint(ours.deployer.address, 1))
    except Exception as exc:  # noqa: BLE001 - the node refuses the stale nonce once
        assert "nonce" in str(exc).lower()
    await ours.transact(usdc.functions.mint(ours.deployer.address, 1))  # then it is read from the chain again
    assert await usdc.functions.balanceOf(ours.deployer.address).call() == 2
