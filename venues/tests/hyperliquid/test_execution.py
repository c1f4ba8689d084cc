from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import httpx
import pytest
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action

from vprime_shared.contracts import Position, PositionState, Side, Venue
from vprime_shared.contracts.base import utcnow
from vprime_venues.execution import Signer, VenueRefused, VenueUnavailable, VenueUnknown
from vprime_venues.hyperliquid.execution import HyperliquidVenue
from vprime_venues.hyperliquid.nonces import MemoryNonces
from vprime_venues.ratelimit import RateBudget

from venues.tests.hyperliquid import shapes
from venues.tests.hyperliquid.conftest import BASE, no_sleep
from venues.tests.hyperliquid.fakes import FakeHyperliquid, an_order, cloid


def a_position(symbol: str, side: Side, qty: float, multiplier: float = 1.0) -> Position:
    return Position(position_id=uuid.uuid4(), order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(),
                    agent_id=uuid.uuid4(), deployment_id=uuid.uuid4(), venue=Venue.HYPERLIQUID, venue_symbol=symbol,
                    instrument=symbol, side=side, state=PositionState.OPEN, entry_price=3000.0, qty=qty,
                    notional_usd=qty * 3000.0, size_pct=10, equity_usd=10_000, leverage=20, fees_usd=qty * 3000.0 * 0.00045,
                    opened_at=utcnow(), extra={"contract_multiplier": multiplier})


def order_wires(fake: FakeHyperliquid) -> list[dict]:
    return [w for body in fake.sent("order") for w in body["action"]["orders"]]


# ---- the account, never the agent ----------------------------------------------------------------
async def test_equity_and_positions_name_the_account(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    fake.account_value = "1182.312496"
    fake.positions = [shapes.position("ETH", "0.1334", {"type": "cross", "value": 20}),
                      shapes.position("BTC", "-0.00785", {"type": "cross", "value": 20})]

    assert await venue.equity(signer) == pytest.approx(1182.312496)
    assert await venue.positions(signer) == {"ETH": pytest.approx(0.1334), "BTC": pytest.approx(-0.00785)}
    users = {b["user"] for b in fake.sent("clearinghouseState")}
    assert users == {signer.trader}
    assert signer.address not in users


async def test_an_agent_query_is_caught_by_the_double(fake: FakeHyperliquid, http: httpx.AsyncClient, signer: Signer) -> None:
    """The double is strict: naming the agent wallet fails (and so would any adapter doing it)."""
    agent_only = Signer(address=signer.address, account=signer.account)  # no account_address: trader is the agent
    venue = HyperliquidVenue(http, BASE, mainnet=False, budget=RateBudget(1_000_000))
    with pytest.raises(AssertionError, match="agent wallet"):
        await venue.equity(agent_only)
    fake.violations.clear()


# ---- signing and nonces --------------------------------------------------------------------------
async def test_sixteen_concurrent_orders_get_sixteen_distinct_nonces_signed_by_the_agent(
        venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    fills = await asyncio.gather(*(venue.place(signer, an_order(), 1000.0, cloid()) for _ in range(16)))

    assert len(fills) == 16 and all(f.qty == pytest.approx(0.3332) for f in fills)
    nonces = [b["nonce"] for b in fake.sent("order")]
    assert len(nonces) == 16 and len(set(nonces)) == 16
    assert len(fake.sent("meta")) == 1  # one universe read for all sixteen
    assert len(fake.sent("allMids")) == 1  # one mid read within the second
    assert len(fake.sent("activeAssetData")) == 1  # one leverage read for the (account, asset)


async def test_memory_nonces_serve_the_same_millisecond_without_collisions(http: httpx.AsyncClient, fake: FakeHyperliquid,
                                                                           signer: Signer) -> None:
    t0 = int(time.time() * 1000)
    venue = HyperliquidVenue(http, BASE, mainnet=False, budget=RateBudget(1_000_000), nonces=MemoryNonces(clock_ms=lambda: t0))
    await asyncio.gather(*(venue.place(signer, an_order(), 1000.0, cloid()) for _ in range(4)))
    assert sorted(b["nonce"] for b in fake.sent("order")) == [t0, t0 + 1, t0 + 2, t0 + 3]


async def test_an_order_expires_thirty_seconds_after_signing_and_its_signature_covers_it(
        venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    before = int(time.time() * 1000)
    await venue.place(signer, an_order(leverage=10), 1000.0, cloid())
    after = int(time.time() * 1000)

    [body] = fake.sent("order")
    assert before + 30_000 <= body["expiresAfter"] <= after + 30_000
    assert venue.lookup_window_s >= 30 + 10  # past the expiry, and a margin for clocks
    unexpired = recover_agent_or_user_from_l1_action(body["action"], body["signature"], None, body["nonce"], None, False)
    assert unexpired.lower() != signer.address.lower()  # the expiry is part of what was signed
    [leverage] = fake.sent("updateLeverage")
    assert leverage["expiresAfter"] is None  # as the SDK sends it


async def test_an_order_signed_for_the_other_network_is_refused(http: httpx.AsyncClient, fake: FakeHyperliquid,
                                                                signer: Signer) -> None:
    mainnet = HyperliquidVenue(http, BASE, mainnet=True, budget=RateBudget(1_000_000))  # the double is testnet
    with pytest.raises(VenueRefused, match="does not exist") as refused:
        await mainnet.place(signer, an_order(), 1000.0, cloid())
    assert not refused.value.venue_specific


# ---- leverage ------------------------------------------------------------------------------------
async def test_leverage_is_set_once_when_it_differs(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    await venue.place(signer, an_order(leverage=7.9), 1000.0, cloid())
    await venue.place(signer, an_order(leverage=7.9), 1000.0, cloid())

    [update] = fake.sent("updateLeverage")
    assert update["action"] == {"type": "updateLeverage", "asset": 1, "isCross": True, "leverage": 7}  # rounded down
    assert len(fake.sent("activeAssetData")) == 1  # the second order asks nothing
    assert fake.sent("activeAssetData")[0]["user"] == signer.trader
    assert len(fake.sent("order")) == 2


async def test_leverage_already_right_is_not_sent(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    await venue.place(signer, an_order(leverage=20), 1000.0, cloid())
    assert fake.sent("updateLeverage") == []


async def test_the_right_leverage_in_the_wrong_margin_mode_is_set_cross(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                                        signer: Signer) -> None:
    fake.leverage["ETH"] = {"type": "isolated", "value": 20, "rawUsd": "0.0"}
    await venue.place(signer, an_order(leverage=20), 1000.0, cloid())
    [update] = fake.sent("updateLeverage")
    assert update["action"] == {"type": "updateLeverage", "asset": 1, "isCross": True, "leverage": 20}


async def test_an_only_isolated_asset_is_set_isolated(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    await venue.place(signer, an_order("HPOS", leverage=2), 1000.0, cloid())
    await venue.place(signer, an_order("XYZ", leverage=4), 1000.0, cloid())  # isolated by marginMode

    updates = [b["action"] for b in fake.sent("updateLeverage")]
    assert updates == [{"type": "updateLeverage", "asset": 2, "isCross": False, "leverage": 2},
                       {"type": "updateLeverage", "asset": 5, "isCross": False, "leverage": 4}]


async def test_a_refused_leverage_refuses_the_order(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    fake.leverage_replies.append(shapes.err("Insufficient margin to change leverage."))
    with pytest.raises(VenueRefused, match="leverage 10x cross") as refused:
        await venue.place(signer, an_order(leverage=10), 1000.0, cloid())
    assert not refused.value.venue_specific
    assert fake.sent("order") == []
    await venue.place(signer, an_order(leverage=10), 1000.0, cloid())  # what was known is forgotten: read again
    assert len(fake.sent("activeAssetData")) == 2


async def test_leverage_above_the_assets_maximum_is_refused_before_sending(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                                          signer: Signer) -> None:
    with pytest.raises(VenueRefused) as refused:
        await venue.place(signer, an_order(leverage=30), 1000.0, cloid())  # ETH takes 25x
    assert refused.value.venue_specific
    assert fake.sent("updateLeverage") == [] and fake.sent("order") == []


async def test_an_unknown_symbol_is_refused_and_meta_is_not_read_for_it_each_time(
        venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    for _ in range(3):
        with pytest.raises(VenueRefused, match="no perp NOPE") as refused:
            await venue.place(signer, an_order("NOPE"), 1000.0, cloid())
        assert refused.value.venue_specific
    assert len(fake.sent("meta")) == 1  # re-read at most once a minute


async def test_a_delisted_asset_is_refused_before_sending(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                          signer: Signer) -> None:
    with pytest.raises(VenueRefused, match="delisted") as refused:
        await venue.place(signer, an_order("LOOM", leverage=2), 1000.0, cloid())
    assert refused.value.venue_specific
    assert fake.sent("order") == [] and fake.sent("updateLeverage") == []


# ---- the order on the wire -----------------------------------------------------------------------
async def test_an_order_goes_on_the_wire_as_the_sdk_builds_it(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                              signer: Signer) -> None:
    cid = cloid()
    fill = await venue.place(signer, an_order(side=Side.SHORT), 1000.0, cid)

    [body] = fake.sent("order")
    assert body["vaultAddress"] is None
    [w] = body["action"]["orders"]
    # 1000 / 3000.5 = 0.33327... rounded down to 4 decimals; 3000.5 x 0.99 = 2970.495, up to 5 figures for a sell
    assert w == {"a": 1, "b": False, "p": "2970.5", "s": "0.3332", "r": False, "t": {"limit": {"tif": "Ioc"}}, "c": cid}
    assert fill.price == pytest.approx(3000.5) and fill.qty == pytest.approx(0.3332)


async def test_sizes_go_on_the_wire_without_float_artefacts(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                            signer: Signer) -> None:
    qty = 0.1 + 0.2
    assert repr(qty) == "0.30000000000000004"
    await venue.close(signer, a_position("ETH", Side.LONG, qty), cloid())
    await venue.close(signer, a_position("kPEPE", Side.SHORT, 1099.9999999999998 * 1000, multiplier=1000), cloid())

    first, second = order_wires(fake)
    assert (first["s"], first["r"], first["b"]) == ("0.3", True, False)
    assert (second["s"], second["b"]) == ("1100", True)
    assert fake.sent("updateLeverage") == [] and fake.sent("activeAssetData") == []  # closes leave leverage alone


async def test_a_price_under_one_keeps_the_decimals_the_asset_allows(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                                     signer: Signer) -> None:
    await venue.place(signer, an_order("kPEPE", leverage=10, multiplier=1000), 100.0, cloid())
    [w] = order_wires(fake)
    assert w["p"] == "0.012468"  # 0.012345 x 1.01 = 0.01246845, 5 figures, rounded down for a buy
    assert w["s"] == "8100"  # 100 / 0.012345 = 8100.4 kPEPE, whole contracts


async def test_an_order_under_the_minimum_value_is_refused_before_sending(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                                          signer: Signer) -> None:
    with pytest.raises(VenueRefused) as refused:
        await venue.place(signer, an_order(), 9.99, cloid())
    assert refused.value.venue_specific
    assert fake.sent("order") == []


# ---- answers -------------------------------------------------------------------------------------
async def test_a_fill_takes_price_and_size_from_the_answer_and_the_fee_from_the_fills(
        venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    fake.order_replies.append(lambda w: shapes.filled("0.2", "3001.2", 424242))  # a partial fill of 0.3332
    fill = await venue.place(signer, an_order(), 1000.0, cloid())

    assert fill.qty == pytest.approx(0.2) and fill.price == pytest.approx(3001.2)
    assert fill.notional_usd == pytest.approx(600.24)
    assert fill.venue_order_id == "424242"
    assert fill.fee_usd == pytest.approx(0.180072)  # the venue's own fee for that oid (3 bps), not 4.5 bps of 600.24
    [fills_read] = fake.sent("userFillsByTime")
    assert fills_read["user"] == signer.trader


async def test_a_fee_not_yet_visible_falls_back_to_the_taker_rate(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                                  signer: Signer) -> None:
    fake.record_fills = False
    fill = await venue.place(signer, an_order(), 1000.0, cloid())
    assert fill.fee_usd == pytest.approx(3000.5 * 0.3332 * 4.5 / 10_000)
    assert len(fake.sent("userFillsByTime")) == 1


async def test_a_fee_read_that_fails_never_loses_the_fill(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                          signer: Signer) -> None:
    fake.throttle["userFillsByTime"] = 1
    fill = await venue.place(signer, an_order(), 1000.0, cloid())
    assert fill.qty == pytest.approx(0.3332)
    assert fill.fee_usd == pytest.approx(3000.5 * 0.3332 * 4.5 / 10_000)
    assert len(fake.sent("userFillsByTime")) == 1  # one try: the fill is not held up by retries


async def test_contract_units_are_scaled_to_canonical_units(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                            signer: Signer) -> None:
    fill = await venue.place(signer, an_order("kPEPE", leverage=10, multiplier=1000), 100.0, cloid())
    assert fill.qty == pytest.approx(8_100_000) and fill.price == pytest.approx(0.000012345)


async def test_an_ioc_that_could_not_match_is_a_venue_specific_refusal(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                                       signer: Signer) -> None:
    fake.order_replies.append(fake.no_match)
    with pytest.raises(VenueRefused, match="could not immediately match") as refused:
        await venue.place(signer, an_order(), 1000.0, cloid())
    assert refused.value.venue_specific


async def test_other_refusals_are_not_venue_specific(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    fake.order_replies.append(lambda w: shapes.error("Insufficient margin to place order. asset=1"))
    with pytest.raises(VenueRefused, match="Insufficient margin") as refused:
        await venue.place(signer, an_order(), 1000.0, cloid())
    assert not refused.value.venue_specific


@pytest.mark.parametrize("lost", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
async def test_a_lost_answer_is_unknown_and_the_order_is_found_by_its_cloid(
        venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer, lost: type[httpx.HTTPError]) -> None:
    order, cid = an_order(), cloid()
    await venue.asset("ETH")  # meta read before the answers start getting lost
    await venue.place(signer, an_order(), 1000.0, cloid())  # leverage known
    fake.lose_answers.append(lost)
    with pytest.raises(VenueUnknown):
        await venue.place(signer, order, 1000.0, cid)

    found = await venue.status(signer, order, cid)  # the venue took it
    assert found is not None and found.qty == pytest.approx(0.3332)


async def test_a_5xx_to_an_order_is_unknown(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    await venue.place(signer, an_order(), 1000.0, cloid())
    original = fake.exchange
    fake.exchange = lambda body: (original(body), httpx.Response(502, text="bad gateway"))[1]  # type: ignore[method-assign]
    with pytest.raises(VenueUnknown):
        await venue.place(signer, an_order(), 1000.0, cloid())


async def test_an_order_that_never_left_is_unavailable(fake: FakeHyperliquid, signer: Signer) -> None:
    def refuse_connections(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/exchange":
            raise httpx.ConnectError("connection refused")
        return fake.handle(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse_connections)) as http:
        venue = HyperliquidVenue(http, BASE, mainnet=False, budget=RateBudget(1_000_000))
        with pytest.raises(VenueUnavailable):
            await venue.place(signer, an_order(), 1000.0, cloid())


# ---- rate limits ---------------------------------------------------------------------------------
async def test_an_order_answered_429_is_unavailable_at_once(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                            signer: Signer) -> None:
    await venue.place(signer, an_order(), 1000.0, cloid())
    sent = len(fake.requests)
    fake.throttle["exchange"] = 1
    with pytest.raises(VenueUnavailable, match="429"):
        await venue.place(signer, an_order(), 1000.0, cloid())
    assert [p for p, _ in fake.requests[sent:]].count("/exchange") == 1  # not retried


async def test_a_read_answered_429_is_retried_then_unavailable(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                               signer: Signer) -> None:
    fake.throttle["clearinghouseState"] = 2
    assert await venue.equity(signer) == pytest.approx(10_000)
    assert len(fake.sent("clearinghouseState")) == 3

    fake.throttle["clearinghouseState"] = 99
    with pytest.raises(VenueUnavailable, match="429"):
        await venue.equity(signer)


async def test_reads_and_orders_spend_their_documented_weights(http: httpx.AsyncClient, fake: FakeHyperliquid,
                                                               signer: Signer) -> None:
    now = [0.0]
    budget = RateBudget(60_000, burst=10_000, clock=lambda: now[0], sleep=no_sleep)
    venue = HyperliquidVenue(http, BASE, mainnet=False, budget=budget)
    venue.clock = lambda: now[0]
    await venue.equity(signer)
    assert budget.available == 10_000 - 2  # clearinghouseState
    await venue.place(signer, an_order(leverage=10), 1000.0, cloid())
    # meta 20, allMids 2, activeAssetData 20, updateLeverage 1, order 1, userFillsByTime 20
    assert budget.available == 10_000 - 2 - 20 - 2 - 20 - 1 - 1 - 20


async def test_a_long_fills_answer_spends_its_per_item_weight(http: httpx.AsyncClient, fake: FakeHyperliquid,
                                                               signer: Signer) -> None:
    budget = RateBudget(60_000, burst=10_000, clock=lambda: 0.0, sleep=no_sleep)
    venue = HyperliquidVenue(http, BASE, mainnet=False, budget=budget)
    cid, now = cloid(), int(time.time() * 1000)
    fake.orders[cid] = {"order": shapes.frontend_order("ETH", "B", "3030.5", "0.0", "4.5", 60, now, cid, False),
                        "status": "filled"}
    fake.fills = [shapes.fill("ETH", 60, "3000.0", "0.1", "B", "0.135", now, i) for i in range(45)]
    found = await venue.status(signer, an_order(), cid)
    assert found is not None and found.qty == pytest.approx(4.5)
    assert budget.available == 10_000 - 2 - 20 - 2  # orderStatus, userFillsByTime, and one per 20 fills returned


async def test_all_mids_is_read_again_after_a_second(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    now = [100.0]
    venue.clock = lambda: now[0]
    await venue.place(signer, an_order(), 1000.0, cloid())
    now[0] += 0.5
    await venue.place(signer, an_order(), 1000.0, cloid())
    assert len(fake.sent("allMids")) == 1
    now[0] += 1.0
    await venue.place(signer, an_order(), 1000.0, cloid())
    assert len(fake.sent("allMids")) == 2



async def test_a_close_reads_the_mid_afresh(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    """A stop closes after a price move: a limit priced from the mid before it would not cross the book."""
    now = [100.0]
    venue.clock = lambda: now[0]
    await venue.place(signer, an_order(), 1000.0, cloid())
    await venue.close(signer, a_position("ETH", Side.LONG, 0.1), cloid())
    assert len(fake.sent("allMids")) == 2

# ---- status --------------------------------------------------------------------------------------
async def test_status_of_an_order_the_venue_never_saw_is_none(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                              signer: Signer) -> None:
    cid = cloid()
    assert await venue.status(signer, an_order(), cid) is None
    [query] = fake.sent("orderStatus")
    assert query == {"type": "orderStatus", "user": signer.trader, "oid": cid}


async def test_status_of_a_filled_order_is_built_from_its_fills(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                                signer: Signer) -> None:
    order, cid, now = an_order(), cloid(), 1_700_000_000_000
    fake.orders[cid] = {"order": shapes.frontend_order("ETH", "B", "3030.5", "0.0", "0.3", 55, now, cid, False),
                        "status": "filled"}
    fake.fills = [shapes.fill("ETH", 55, "3000.0", "0.1", "B", "0.135", now + 1, 1),
                  shapes.fill("ETH", 55, "3003.0", "0.2", "B", "0.27027", now + 1, 2),
                  shapes.fill("ETH", 56, "9999.0", "5.0", "B", "9.0", now + 1, 3)]  # another order's

    found = await venue.status(signer, order, cid)
    assert found is not None
    assert found.qty == pytest.approx(0.3)
    assert found.price == pytest.approx((3000.0 * 0.1 + 3003.0 * 0.2) / 0.3)
    assert found.fee_usd == pytest.approx(0.40527)
    assert found.venue_order_id == "55"
    [fills_read] = fake.sent("userFillsByTime")
    assert fills_read["user"] == signer.trader and fills_read["startTime"] <= now


async def test_status_of_a_filled_order_whose_fills_are_not_visible_is_unknown(venue: HyperliquidVenue,
                                                                               fake: FakeHyperliquid, signer: Signer) -> None:
    cid = cloid()
    fake.orders[cid] = {"order": shapes.frontend_order("ETH", "B", "3030.5", "0.0", "0.3", 55, 1_700_000_000_000, cid, False),
                        "status": "filled"}
    with pytest.raises(VenueUnknown):
        await venue.status(signer, an_order(), cid)


async def test_status_of_a_canceled_order_with_nothing_filled_is_refused(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                                         signer: Signer) -> None:
    cid = cloid()
    fake.orders[cid] = {"order": shapes.frontend_order("ETH", "B", "3030.5", "0.3", "0.3", 57, 1_700_000_000_000, cid, False),
                        "status": "canceled"}
    with pytest.raises(VenueRefused, match="canceled") as refused:
        await venue.status(signer, an_order(), cid)
    assert not refused.value.venue_specific


async def test_status_of_a_partly_filled_ioc_is_what_filled(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                            signer: Signer) -> None:
    order, cid = an_order(), cloid()
    fake.order_replies.append(lambda w: shapes.filled("0.1", "3000.5", 58))
    await venue.place(signer, order, 1000.0, cid)
    assert fake.orders[cid]["status"] == "canceled"  # the remainder of the IoC

    found = await venue.status(signer, order, cid)
    assert found is not None and found.qty == pytest.approx(0.1) and found.venue_order_id == "58"


async def test_status_of_an_ioc_rejected_for_no_match_is_a_venue_specific_refusal(
        venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    order, cid = an_order(), cloid()
    fake.order_replies.append(fake.no_match)
    with pytest.raises(VenueRefused):
        await venue.place(signer, order, 1000.0, cid)
    with pytest.raises(VenueRefused) as refused:
        await venue.status(signer, order, cid)
    assert refused.value.venue_specific
    assert fake.sent("userFillsByTime") == []  # a rejected order never filled


async def test_status_of_an_open_order_is_unknown(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    order, cid = an_order(), cloid()
    fake.order_replies.append(lambda w: shapes.resting(59))
    with pytest.raises(VenueUnknown):
        await venue.place(signer, order, 1000.0, cid)  # an IoC should never rest; if it does, the venue holds it
    with pytest.raises(VenueUnknown, match="open"):
        await venue.status(signer, order, cid)


async def test_status_reads_are_unavailable_while_throttled(venue: HyperliquidVenue, fake: FakeHyperliquid,
                                                            signer: Signer) -> None:
    fake.throttle["orderStatus"] = 99
    with pytest.raises(VenueUnavailable):
        await venue.status(signer, an_order(), cloid())


async def test_an_info_error_answer_is_unavailable(venue: HyperliquidVenue, fake: FakeHyperliquid, signer: Signer) -> None:
    original = fake.info
    fake.info = lambda body: httpx.Response(422, json={"status": "order", "order": None})  # type: ignore[method-assign]
    with pytest.raises(VenueUnavailable, match="422"):
        await venue.status(signer, an_order(), cloid())
    fake.info = original  # type: ignore[method-assign]


def test_decimal_helpers_match_the_sdk() -> None:
    from hyperliquid.utils.signing import float_to_wire

    from vprime_venues.hyperliquid.execution import round_price, round_size, to_decimal, wire
    for x in [0.3, 1e-5, 100.0, 1234.5, 0.001234, 123456.0, 2.5, 0.0]:
        assert wire(to_decimal(x)) == float_to_wire(x)
    assert wire(round_size(to_decimal(0.1 + 0.2), 4)) == "0.3"
    assert round_size(Decimal("0.29"), 2) == Decimal("0.29")  # floats floor 0.29 x 100 to 28
    assert round_price(Decimal("123456.78"), 5, is_buy=True) == Decimal("123456")  # integers always allowed
    assert round_price(Decimal("1234.567"), 2, is_buy=False) == Decimal("1234.6")
    assert round_price(Decimal("1234.567"), 2, is_buy=True) == Decimal("1234.5")
    assert round_price(Decimal("0.0123456"), 1, is_buy=True) == Decimal("0.01234")  # 6 - 1 decimals
    with pytest.raises(ValueError):
        wire(Decimal("0.123456789"))
