"""Wiring: the signal service's subscribers. No logic here."""

from vprime_shared.contracts import AgentState, MarketTick, Post, Research
from vprime_shared.runtime import ServiceRuntime

from vprime_signal import handlers
from vprime_signal.settings import SignalSettings

runtime = ServiceRuntime(SignalSettings(), package="vprime_signal")


@runtime.subscriber(AgentState)
async def on_agent(event: AgentState) -> None:
    await runtime.once(event, handlers.agent_changed)


@runtime.subscriber(Post)
async def on_post(event: Post) -> None:
    await runtime.once(event, handlers.post_received)


@runtime.subscriber(Research)
async def on_research(event: Research) -> None:
    await runtime.once(event, handlers.research_received)


@runtime.subscriber(MarketTick)
async def on_tick(event: MarketTick) -> None:
    # Latest-price upsert is idempotent by timestamp; no inbox row per tick.
    async with runtime.uow.begin() as tx:
        await handlers.tick_received(tx, event)


app = runtime.http_app(title="Vprime signal (Agent What)")
