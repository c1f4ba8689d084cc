"""The running venue simulator's admin API answers its bearer token only: an anonymous or wrongly
authorised call is refused and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from vprime_local.stack import ServiceStack
from tests.e2e.helpers import sim_admin

pytestmark = pytest.mark.integration

SYMBOL = "ZETA"  # a Hyperliquid market no other test trades: its mid is pinned here


async def test_an_anonymous_book_change_is_refused_and_changes_nothing(stack: ServiceStack) -> None:
    sim = stack.url("simulator")
    async with httpx.AsyncClient(timeout=10) as client:
        async def mid() -> float:
            r = await client.post(f"{sim}/hyperliquid/info", json={"type": "l2Book", "coin": SYMBOL})
            assert r.status_code == 200, r.text
            bids, asks = r.json()["levels"]
            return (float(bids[0]["px"]) + float(asks[0]["px"])) / 2

        # Pin the mid where it is, so the random walk cannot move it between the two reads.
        pinned = await mid()
        set_mid = await client.post(f"{sim}/admin/book", json={"venue": "HYPERLIQUID", "instrument": SYMBOL, "mid": pinned},
                                    headers=sim_admin())
        assert set_mid.status_code == 200, set_mid.text
        before_mid = await mid()
        before = (await client.get(f"{sim}/admin/state", headers=sim_admin())).json()

        change = {"venue": "HYPERLIQUID", "instrument": SYMBOL, "mid": 1}
        for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": sim_admin()["Authorization"][7:]}):
            refused = await client.post(f"{sim}/admin/book", json=change, headers=headers)
            assert refused.status_code == 401, refused.text
        fault = await client.post(f"{sim}/admin/faults", json={"venue": "HYPERLIQUID", "mode": "down"})
        assert fault.status_code == 401, fault.text
        assert (await client.get(f"{sim}/admin/state")).status_code == 401

        assert await mid() == before_mid
        after = (await client.get(f"{sim}/admin/state", headers=sim_admin())).json()
        assert (after["faults"], after["fault_scope"]) == (before["faults"], before["fault_scope"])
