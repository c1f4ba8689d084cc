from __future__ import annotations

import asyncio

from vprime_venues.hyperliquid.nonces import MemoryNonces, NonceSource


async def test_concurrent_nonces_are_unique_and_increasing_per_signer() -> None:
    nonces: NonceSource = MemoryNonces(clock_ms=lambda: 1_000)
    got = await asyncio.gather(*(nonces.next("0xAgent") for _ in range(50)))
    assert sorted(got) == list(range(1_000, 1_050))


async def test_nonces_follow_the_clock_and_never_go_back() -> None:
    now = [5_000]
    nonces = MemoryNonces(clock_ms=lambda: now[0])
    assert await nonces.next("0xa") == 5_000
    now[0] = 9_000
    assert await nonces.next("0xa") == 9_000  # fast-forwarded to the millisecond
    now[0] = 4_000  # the clock steps back
    assert await nonces.next("0xa") == 9_001


async def test_each_signer_counts_alone_whatever_the_case_of_its_address() -> None:
    nonces = MemoryNonces(clock_ms=lambda: 7)
    assert [await nonces.next("0xAB"), await nonces.next("0xab"), await nonces.next("0xcd")] == [7, 8, 7]
