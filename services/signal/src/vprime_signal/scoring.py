"""The scorer interface: text in, per-instrument stances out. The default needs no network; an LLM
classifier can be plugged in by implementing `Scorer`."""

from __future__ import annotations

from functools import cache
from typing import Protocol

from vprime_shared.reference import canonical_instruments, venue_symbols

from vprime_signal.domain.instruments import InstrumentExtractor
from vprime_signal.domain.stance import InstrumentStance, LexiconStanceModel


class Scorer(Protocol):
    name: str

    def score(self, text: str) -> list[InstrumentStance]: ...


@cache
def default_scorer() -> LexiconStanceModel:
    return LexiconStanceModel(InstrumentExtractor(canonical_instruments(), venue_symbols()))
