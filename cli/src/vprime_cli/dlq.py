"""Dead letters: list what landed in `<topic>.dlq` with the reason, and replay the original bytes to
their topic once the cause is fixed. Replay commits its progress in the `vprime-dlq-replay`
consumer group, so a letter is replayed once however often the command runs."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from vprime_shared.contracts import EVENT_TYPES, dead_letter_topic

REPLAY_GROUP = "vprime-dlq-replay"


@dataclass(frozen=True)
class Letter:
    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def source_topic(self) -> str:
        return self.dlq_topic.removesuffix(".dlq")

    def summary(self) -> dict[str, object]:
        return {"topic": self.source_topic, "service": self.headers.get("x-dlq-service"), "error": self.headers.get("x-dlq-error"),
                "first_seen": self.headers.get("x-dlq-first-seen"), "source": self.headers.get("x-dlq-source"),
                "dlq_offset": f"{self.partition}/{self.offset}", "bytes": len(self.value)}


def dlq_topics(topic: str | None) -> list[str]:
    if topic:
        return [dead_letter_topic(topic.removesuffix(".dlq"))]
    return [dead_letter_topic(t) for t in EVENT_TYPES]


async def _read(bootstrap: str, topics: list[str], group: str | None, limit: int) -> tuple[list[Letter], AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    await consumer._client.force_metadata_update()  # noqa: SLF001 - topics nobody here subscribed to
    partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or set())]
    consumer.assign(partitions)
    if group is None:
        await consumer.seek_to_beginning(*partitions)
    else:
        committed = {tp: await consumer.committed(tp) for tp in partitions}
        for tp, offset in committed.items():
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
    ends = await consumer.end_offsets(partitions) if partitions else {}
    letters: list[Letter] = []
    while len(letters) < limit and [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
        for records in (await consumer.getmany(timeout_ms=1000, max_records=500)).values():
            for r in records:
                if len(letters) < limit:
                    letters.append(Letter(r.topic, r.partition, r.offset, r.key, r.value or b"",
                                          {k: v.decode(errors="replace") for k, v in r.headers}))
    return letters, consumer


async def list_letters(bootstrap: str, topic: str | None, service: str | None, limit: int) -> list[Letter]:
    letters, consumer = await _read(bootstrap, dlq_topics(topic), None, 100_000)
    await consumer.stop()
    chosen = [x for x in letters if service is None or x.headers.get("x-dlq-service") == service]
    return chosen[-limit:]


async def replay(bootstrap: str, topic: str | None, service: str | None, limit: int, dry_run: bool) -> list[Letter]:
    """Send each letter's original bytes, with its key, back to its topic. One letter per source
    message: the same message dead-lettered by several services is replayed once."""
    letters, consumer = await _read(bootstrap, dlq_topics(topic), REPLAY_GROUP, limit)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    replayed: list[Letter] = []
    seen: set[str] = set()
    try:
        for letter in letters:
            if service is not None and letter.headers.get("x-dlq-service") != service:
                continue
            source = letter.headers.get("x-dlq-source") or f"{letter.dlq_topic}/{letter.partition}/{letter.offset}"
            if source in seen:
                continue
            seen.add(source)
            if not dry_run:
                await producer.send_and_wait(letter.source_topic, letter.value, key=letter.key,
                                             headers=[("x-dlq-replayed-from", source.encode())])
            replayed.append(letter)
        if not dry_run and letters:
            offsets = {}
            for letter in letters:
                tp = TopicPartition(letter.dlq_topic, letter.partition)
                offsets[tp] = max(offsets.get(tp, 0), letter.offset + 1)
            await consumer.commit(offsets)
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed
