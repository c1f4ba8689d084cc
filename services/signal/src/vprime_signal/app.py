"""Wiring: the signal service's subscribers. No logic here."""

from vprime_shared.contracts import AgentState, MarketTick, Post, Research, Signal
from vprime_shared.runtime import ServiceRuntime

from vprime_signal import handlers
from vprime_signal.scoring import default_scorer
from vprime_signal.settings import SignalSettings

settings = SignalSettings()
runtime = ServiceRuntime(settings, package="vprime_signal")
runtime.publishes(Signal)
scorer = default_scorer()


@runtime.subscriber(AgentState)
async def on_agent(event: AgentState) -> None:
    await runtime.once(event, handlers.agent_changed)


@runtime.subscriber(Post)
async def on_post(event: Post) -> None:
    await runtime.once(event, handlers.post_received, scorer, settings)


@runtime.subscriber(Research)
async def on_research(event: Research) -> None:
    await runtime.once(event, handlers.research_received, scorer, settings)


@runtime.subscriber(MarketTick)
async def on_tick(event: MarketTick) -> None:
    # Ticks are facts keyed by time (idempotent upserts): no inbox row per tick.
    async with runtime.uow.begin() as tx:
        await handlers.tick_received(tx, event, settings)


app = runtime.http_app(title="Vprime signal (Agent What)")
