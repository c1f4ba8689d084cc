"""Agent What: context in, venue-agnostic signals out.

A post or research note is stored once; its stances become evidence for every active agent that
follows its source; each touched (agent, instrument) is judged again, and a signal is emitted when
the evidence is strong and agreeing enough (see `domain.aggregation`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from vprime_shared.contracts import AgentState, MarketTick, Post, Research, Signal, SignalOrigin
from vprime_shared.ids import new_id
from vprime_shared.unit_of_work import Tx

from vprime_signal.adapters.repository import Follower, SignalRepository
from vprime_signal.domain.aggregation import Evidence, Source, judge, should_emit, size_for, trailing_stop_for
from vprime_signal.domain.stance import Stance
from vprime_signal.scoring import Scorer
from vprime_signal.settings import SignalSettings


async def agent_changed(tx: Tx, agent: AgentState) -> None:
    await SignalRepository(tx.conn).save_agent(agent)


async def tick_received(tx: Tx, tick: MarketTick, settings: SignalSettings) -> None:
    await SignalRepository(tx.conn).record_tick(tick, settings.tick_history)


async def post_received(tx: Tx, post: Post, scorer: Scorer, settings: SignalSettings) -> list[Signal]:
    repo = SignalRepository(tx.conn)
    await repo.save_post(post)
    followers = await repo.followers(Source.X, post.account_id)
    if not followers:
        return []
    stances = [
        (s.instrument, Evidence(Source.X, post.post_id, 1 if s.stance is Stance.BULLISH else -1, s.confidence, post.posted_at))
        for s in scorer.score(post.text)
        if s.stance is not Stance.NEUTRAL  # neutral is never a trade
    ]
    return await _weigh(tx, repo, followers, stances, scorer.name, settings)


async def research_received(tx: Tx, note: Research, scorer: Scorer, settings: SignalSettings) -> list[Signal]:
    repo = SignalRepository(tx.conn)
    await repo.save_research(note)
    followers = await repo.followers(Source.RESEARCH, note.institute_id)
    if not followers:
        return []
    if note.instrument and note.side:  # the institute said it outright: its conviction counts directly
        stated = [(note.instrument.upper(), 1 if note.side.value == "LONG" else -1)]
    else:
        stated = [(s.instrument, 1 if s.stance is Stance.BULLISH else -1) for s in scorer.score(note.text) if s.stance is not Stance.NEUTRAL]
    stances = [(i, Evidence(Source.RESEARCH, note.research_id, d, note.conviction, note.published_at)) for i, d in stated]
    return await _weigh(tx, repo, followers, stances, scorer.name, settings)


async def _weigh(tx: Tx, repo: SignalRepository, followers: list[Follower], stances: list[tuple[str, Evidence]],
                 model: str, settings: SignalSettings) -> list[Signal]:
    window, half_life = timedelta(minutes=settings.window_minutes), timedelta(minutes=settings.half_life_minutes)
    emitted = []
    for follower in followers:
        for instrument, evidence in stances:
            if not await repo.add_evidence(follower.agent_id, instrument, evidence):
                continue  # this source already counted for this agent and instrument
            now: datetime = await repo.latest_evidence_time(follower.agent_id, instrument) or evidence.observed_at
            mids = await repo.recent_mids(instrument, settings.tick_history)
            verdict = judge(
                await repo.evidence(follower.agent_id, instrument, now - window), follower.profile,
                now=now, window=window, half_life=half_life, mids=mids[-10:], model=model,
            )
            if not should_emit(verdict, await repo.live_side(follower.agent_id, instrument, now, window)):
                continue
            assert verdict.side is not None
            signal = Signal(
                signal_id=new_id(),
                agent_id=follower.agent_id,
                instrument=instrument,
                side=verdict.side,
                size_model=size_for(verdict.confidence, follower.profile.threshold),
                risk_model=trailing_stop_for(mids),
                confidence=round(verdict.confidence, 4),
                requested_venue=follower.venue,
                origin=SignalOrigin.SCORED,
                source_tweets=[e.source_id for e in verdict.supporting if e.source is Source.X],
                source_research=[e.source_id for e in verdict.supporting if e.source is Source.RESEARCH],
                score=verdict.breakdown,
            )
            await repo.save_signal(signal, now)
            await tx.publish(signal)
            emitted.append(signal)
    return emitted
