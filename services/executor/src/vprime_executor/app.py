"""Wiring: the executor's subscribers. No logic here."""

from vprime_shared.contracts import Execution, MarketTick, Order, Position
from vprime_shared.reference import reference_prices as reference_prices_from
from vprime_shared.runtime import ServiceRuntime

from vprime_executor import handlers
from vprime_executor.adapters.prices import PriceBook
from vprime_executor.adapters.venues.paper import PaperVenue
from vprime_executor.settings import ExecutorSettings

settings = ExecutorSettings()
runtime = ServiceRuntime(settings, package="vprime_executor")
runtime.publishes(Execution, Position)
reference_prices = reference_prices_from(settings.reference_prices_path)


def paper_venue() -> PaperVenue:
    return PaperVenue(
        PriceBook(runtime.pool),
        reference_prices,
        equity_usd=settings.paper_equity_usd,
        slippage_bps=settings.paper_slippage_bps,
    )


@runtime.subscriber(MarketTick)
async def on_tick(event: MarketTick) -> None:
    # No inbox for ticks (the busiest topic): the price upsert is idempotent by timestamp, and a
    # redelivered tick finds the positions it closed already closed.
    async with runtime.uow.begin() as tx:
        await handlers.tick_received(tx, event, paper_venue())


@runtime.subscriber(Order)
async def on_order(event: Order) -> None:
    await runtime.once(event, handlers.order_received, paper_venue())


app = runtime.http_app(title="Vprime executor")
