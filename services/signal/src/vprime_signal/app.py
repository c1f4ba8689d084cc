"""Wiring: the signal service's subscribers. No logic here."""

from vprime_shared.contracts import AgentState, MarketTick, Post, Research
from vprime_shared.kafka import consumer_options
from vprime_shared.runtime import ServiceRuntime

from vprime_signal import handlers
from vprime_signal.settings import SignalSettings

runtime = ServiceRuntime(SignalSettings(), package="vprime_signal")
broker = runtime.broker


@broker.subscriber(AgentState.TOPIC, **consumer_options("signal", AgentState.TOPIC))
async def on_agent(event: AgentState) -> None:
    async with runtime.uow.once(event) as tx:
        if tx is not None:
            await handlers.agent_changed(tx, event)


@broker.subscriber(Post.TOPIC, **consumer_options("signal", Post.TOPIC))
async def on_post(event: Post) -> None:
    async with runtime.uow.once(event) as tx:
        if tx is not None:
            await handlers.post_received(tx, event)


@broker.subscriber(Research.TOPIC, **consumer_options("signal", Research.TOPIC))
async def on_research(event: Research) -> None:
    async with runtime.uow.once(event) as tx:
        if tx is not None:
            await handlers.research_received(tx, event)


@broker.subscriber(MarketTick.TOPIC, **consumer_options("signal", MarketTick.TOPIC))
async def on_tick(event: MarketTick) -> None:
    # Latest-price upsert is idempotent by timestamp; no inbox row per tick.
    async with runtime.uow.begin() as tx:
        await handlers.tick_received(tx, event)


app = runtime.http_app(title="Vprime signal (Agent What)")
