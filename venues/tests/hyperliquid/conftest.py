from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from eth_account import Account

from vprime_venues.execution import Signer
from vprime_venues.hyperliquid.execution import HyperliquidVenue
from vprime_venues.ratelimit import RateBudget

from venues.tests.hyperliquid.fakes import FakeHyperliquid

BASE = "http://hyperliquid.test"


@pytest.fixture
def signer() -> Signer:
    agent, account = Account.create(), Account.create()
    return Signer(address=agent.address, account=agent, account_address=account.address)


@pytest.fixture
def fake(signer: Signer) -> Iterator[FakeHyperliquid]:
    fake = FakeHyperliquid(agent=signer.address, account=signer.trader, mainnet=False)
    yield fake
    assert not fake.violations, fake.violations


@pytest.fixture
async def http(fake: FakeHyperliquid) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        yield client


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def venue(http: httpx.AsyncClient) -> HyperliquidVenue:
    venue = HyperliquidVenue(http, BASE, mainnet=False, budget=RateBudget(1_000_000))
    venue.sleep = no_sleep
    return venue
