"""A real anvil with Uniswap V3 from its published builds (vprime_chain), pools for WETH (18 decimals), WBTC (8),
LINK and PEPE (18, priced at a hundred-thousandth of a dollar), and a token list in Uniswap's shape naming them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from vprime_chain import uniswap
from vprime_chain.anvil import Anvil
from vprime_chain.deploy import Chain, Deployment, Faucet, deploy_tokens
from vprime_shared.contracts import Order, RiskModel, Side, Venue
from vprime_venues.evm import EvmClient, MemoryJournal
from vprime_venues.execution import Signer
from vprime_venues.spot.execution import SpotVenue
from vprime_venues.spot.tokens import TokenList

PORT = 18602
TOKEN_LIST_URL = "http://tokens.test/tokenlist.json"
PRICES = {"WETH": Decimal(3000), "WBTC": Decimal(60000), "LINK": Decimal("14.25"), "PEPE": Decimal("0.00001")}


def token_list(deployment: Deployment) -> dict[str, Any]:
    """The deployment's tokens as a Uniswap token list (tokenlists.org schema), plus a token of another chain."""
    tokens = [{"chainId": deployment.chain_id, "address": t.address, "name": s, "symbol": s, "decimals": t.decimals}
              for s, t in deployment.tokens.items()]
    tokens.append({"chainId": 42161, "address": "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1", "name": "Wrapped Ether",
                   "symbol": "WETH", "decimals": 18})
    return {"name": "Vprime local", "timestamp": "2026-01-01T00:00:00Z", "version": {"major": 1, "minor": 0, "patch": 0},
            "tokens": tokens}


@pytest.fixture(scope="package")
def anvil():
    with Anvil(PORT) as node:
        yield node


@pytest.fixture(scope="package")
async def chain(anvil: Anvil) -> AsyncIterator[tuple[Chain, Deployment]]:
    chain = Chain(anvil.rpc_url)
    deployment = Deployment(await chain.chain_id(), anvil.rpc_url)
    await deploy_tokens(chain, deployment, list(PRICES))
    await uniswap.deploy(chain, deployment, PRICES)
    yield chain, deployment


@pytest.fixture
async def http(chain: tuple[Chain, Deployment]) -> AsyncIterator[httpx.AsyncClient]:
    listed = token_list(chain[1])

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=listed) if str(request.url) == TOKEN_LIST_URL else httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        yield client


def evm_client(rpc_url: str, journal: MemoryJournal | None = None) -> EvmClient:
    return EvmClient(AsyncWeb3(AsyncHTTPProvider(rpc_url)), Venue.SPOT, journal=journal or MemoryJournal(), poll_s=0.01)


def spot_venue(chain: tuple[Chain, Deployment], http: httpx.AsyncClient, evm: EvmClient | None = None,
               slippage: float = 0.01) -> SpotVenue:
    _, d = chain
    usdc = d.tokens["USDC"].address
    return SpotVenue(evm or evm_client(d.rpc_url), http, TokenList(TOKEN_LIST_URL, exclude=(usdc,)),
                     factory=d.contracts["uniswap_factory"], quoter=d.contracts["uniswap_quoter"],
                     router=d.contracts["uniswap_swap_router"], usdc=usdc, slippage=slippage)


@pytest.fixture
def venue(chain: tuple[Chain, Deployment], http: httpx.AsyncClient) -> SpotVenue:
    return spot_venue(chain, http)


async def funded_signer(chain: tuple[Chain, Deployment], usdc: str = "10000") -> Signer:
    """A fresh agent trading wallet with `usdc` USDC and ether for gas: the trader itself."""
    wallet = Account.create()
    await Faucet(*chain).fund(wallet.address, usdc=Decimal(usdc), eth=Decimal(1))
    return Signer(address=wallet.address, account=wallet)


@pytest.fixture
async def signer(chain: tuple[Chain, Deployment]) -> Signer:
    return await funded_signer(chain)


def an_order(symbol: str = "WETH", side: Side = Side.LONG) -> Order:
    return Order(order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=uuid.uuid4(),
                 deployment_id=uuid.uuid4(), venue=Venue.SPOT, venue_symbol=symbol, instrument=symbol.removeprefix("W"),
                 side=side, size_pct=10, leverage=1, taker_fee_bps=30, risk_model=RiskModel(type="none"))


def cid() -> str:
    return "0x" + uuid.uuid4().hex
