"""The live tick feed: a seeded random walk, published to market.ticks.v1 for every venue that lists
each fed instrument."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer

from vprime_shared.contracts import MarketTick
from vprime_shared.contracts.base import utcnow
from vprime_shared.kafka import ensure_topics
from vprime_shared.settings import ServiceSettings

from vprime_simulator.exchange import Exchange

log = logging.getLogger(__name__)


async def run_feed(exchange: Exchange, bootstrap: str, instruments: list[str], interval_s: float,
                   topic: str = MarketTick.TOPIC) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    while True:
        try:
            # The simulator starts before the services, which make every topic: the ticks topic is made here first, as
            # they would make it, rather than by the broker on the first tick (with an error logged until it has a leader).
            await ensure_topics(bootstrap, [topic], partitions=ServiceSettings().kafka_topic_partitions)
            await producer.start()
            break
        except Exception as exc:  # Kafka may come up after the simulator
            log.warning("tick feed waiting for kafka: %s", exc)
            await asyncio.sleep(1)
    try:
        while True:
            exchange.step()
            for instrument in instruments:
                for venue in exchange.markets:
                    m = exchange.by_instrument(venue, instrument)
                    if m is None or m.delisted:
                        continue
                    book = exchange.book(m, levels=1)
                    unit = m.multiplier
                    tick = MarketTick(venue=venue, instrument=m.instrument, bid=book["bids"][0][0] / unit,
                                      ask=book["asks"][0][0] / unit, mid=exchange.mid(m) / unit, ts=utcnow())
                    await producer.send(topic, tick.model_dump_json().encode(), key=m.instrument.encode())
            await asyncio.sleep(interval_s)
    finally:
        await producer.stop()
