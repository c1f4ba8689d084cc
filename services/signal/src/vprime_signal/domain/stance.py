"""Stance per instrument in a text: bullish, bearish or neutral, with a confidence.

VADER (a lexicon and rule model made for social-media text) scores each clause, with its lexicon
extended by crypto and trading terms. On top of it:

- trade verbs apply to the instrument right after them ("long ETH", "selling LINK to buy UNI",
  "out of ETH into SOL"), negated by "not", "no longer", "never", "stopped" ("no longer short ETH");
- a text is cut into clauses at sentence ends, commas and contrast words (but, while, vs), so "ETH
  strong but BTC weak" gives each its own stance; a clause without an instrument speaks of the one
  before it ("Solana dumped, looks terrible"), and an instrument listed without words of its own takes
  those of the clause after it ("BTC, ETH and SOL all pumping");
- "the yen falls" is USDJPY up: stances on a quote currency are inverted.

Neutral is never a trade: below `NEUTRAL_BAND` a stance is neutral.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from vprime_signal.domain.instruments import InstrumentExtractor, Mention

NEUTRAL_BAND = 0.2


class Stance(StrEnum):
    BULLISH = "bullish"
    BEARISH = "bearish"
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class InstrumentStance:
    instrument: str
    stance: Stance
    confidence: float
    score: float  # signed, -1..1

    def as_dict(self) -> dict[str, object]:
        return {"instrument": self.instrument, "stance": self.stance.value, "confidence": round(self.confidence, 3)}


# Valences on VADER's -4..4 scale. Overrides where VADER's general-English sense is wrong for markets.
TRADING_LEXICON: dict[str, float] = {
    "bullish": 2.8, "bearish": -2.8, "moon": 2.2, "mooning": 2.5, "pump": 1.8, "pumping": 2.2, "pumped": 1.5,
    "ripping": 2.2, "rip": 1.5, "flying": 2.0, "breakout": 2.3, "breakdown": -2.3, "rally": 2.0, "rallying": 2.0,
    "rallies": 2.0, "squeeze": 1.2, "bid": 1.0, "higher": 1.5, "lower": -1.5, "up": 1.0, "down": -1.0,
    "green": 1.2, "red": -1.2, "ath": 2.0, "newhigh": 2.0, "newhighs": 2.0, "hodl": 1.2, "hodlers": 1.0, "wagmi": 1.8,
    "ngmi": -1.8, "printing": 1.5, "exploding": 2.0, "booming": 2.0, "surge": 1.8, "spiking": 1.5, "waking": 1.0,
    "dump": -2.2, "dumping": -2.5, "dumped": -2.2, "dumpers": -2.0, "rekt": -2.5, "rug": -3.0, "rugged": -3.0, "rugging": -3.0,
    "cooked": -2.2, "bleeding": -2.2, "bleed": -1.8, "crash": -2.5, "crashing": -2.5, "collapse": -2.5,
    "collapsing": -2.5, "tanking": -2.5, "tank": -2.0, "toast": -1.8, "heavy": -1.3, "toppy": -1.8,
    "overextended": -1.3, "overbought": -1.3, "oversold": 1.3, "overvalued": -1.8, "overhyped": -1.8, "undervalued": 2.0,
    "cheap": 1.2, "expensive": -1.2, "exhausted": -1.3, "fading": -1.5, "fade": -1.3, "rejected": -1.8,
    "rejection": -1.8, "reclaim": 1.8, "reclaimed": 1.8, "bounce": 1.3, "bouncing": 1.3, "reversal": 1.0,
    "unlock": -1.0, "unlocks": -1.0, "capitulating": -1.5, "capitulation": -1.5, "downside": -1.8,
    "upside": 1.8, "outperform": 1.8, "outperforming": 1.8, "underperform": -1.8, "lagging": -1.5, "wins": 1.5,
    "bubble": -1.8, "topped": -1.8, "topin": -2.2, "bottomin": 2.2, "bottoming": 1.8, "soback": 2.8,
    "sendit": 2.8, "send": 1.5, "tozero": -3.0, "nobid": -2.2, "downonly": -2.8, "buythedip": 2.2,
    "accumulating": 1.8, "accumulate": 1.8, "loading": 1.5, "falling": -1.8, "sliding": -1.8, "dropping": -1.8,
    "drop": -1.5, "plunge": -2.2, "missed": -1.5, "beat": 1.2, "nailedit": 2.5, "parabolic": 2.2,
    "fire": 1.5, "insane": 1.0, "joke": -1.8, "support": 0.6, "top": 0.0, "free": 0.0, "no": 0.0,
    "diamond": 1.0, "gift": 2.0, "strengthening": 1.5, "weakness": -1.5, "strength": 1.5, "casino": -1.5,
    "dinosaur": -1.5, "pain": -1.8, "worries": -1.5, "fragile": -1.5, "hedge": 0.5, "unstoppable": 2.2,
    "recovering": 1.5, "flipped": 0.0, "buybacks": 1.5, "risky": -1.2, "careful": -0.8, "avoid": -1.8,
    "imploding": -2.5, "szn": 1.2, "inflows": 1.5, "outflows": -1.5, "beautiful": 2.0, "ugly": -2.0,
    "hammered": -2.0, "offered": -1.2, "finished": -2.0, "tradebuy": 2.2, "tradesell": -2.2, "killing": -2.0, "dead": -2.5, "heating": 1.5, "winning": 2.0, "losing": -1.8, "strong": 2.0, "weak": -2.0,
}

# Rewritten before scoring so one token carries a phrase's meaning.
PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), r)
    for p, r in [
        (r"\bbreak(?:ing|s)? out\b|\bbroke (?:out|resistance)\b|\bbreaks? resistance\b", " breakout "),
        (r"\bbreak(?:ing|s)? down\b|\bbroke down\b|\blost support\b", " breakdown "),
        (r"\ball[- ]time highs?\b|\bnew (?:all time )?highs?\b|\brecord highs?\b", " newhigh "),
        (r"\bto the moon\b", " moon "),
        (r"\bsend(?:ing)? it\b|\bready to send\b", " sendit "),
        (r"\b(?:going|goes|go) to zero\b", " tozero "),
        (r"\bbuy(?:ing)? the dip\b|\bdip is a gift\b", " buythedip "),
        (r"\bno bid\b|\bno buyers\b", " nobid "),
        (r"\bdown only\b", " downonly "),
        (r"\b(?:we(?: are|'re)|is) so back\b", " soback "),
        (r"\btop is in\b", " topin "),
        (r"\bbottom is in\b", " bottomin "),
        (r"\bcrushed it\b", " nailedit "),
        (r"\blong[- ]term\b|\blong time\b", " longterm "),
        (r"\bshort[- ]term\b", " shortterm "),
        (r"\bdead money\b", " dead "),
        (r"\bonly goes up\b", " unstoppable "),
        (r"\btaking profits?\b", " fade "),
        (r"\b(?:i'?m|i am|getting|get) out\b", " exiting "),
        (r"\bwill pay off\b", " payoff "),
        (r"\bin control\b", " strong "),
        (r"\b(?:is|are) (?:done|over|finished)\b", " finished "),
    ]
]

# Trade verbs: they apply to the instrument right after them (a few filler words allowed between).
DIRECTION = re.compile(
    r"\b(?P<verb>long(?:ing|ed)?|buy(?:ing|s)?|bought|accumulat\w*|adding(?: to)?|add(?:ed)?(?: to)?|load(?:ing|ed)?(?: up)?(?: on)?|"
    r"calls(?: on)?|ape[ds]? into|rotating into|into|prefer|"
    r"short(?:ing|ed|s)?|sell(?:ing|s)?|sold|dumping|exit(?:ing|ed)?|exiting|puts(?: on)?|out of|over|avoid)\b",
    re.IGNORECASE,
)
STANDALONE_VERB = re.compile(
    r"\b(?:long(?:ing)?|buy(?:ing)?|bought|accumulating|short(?:ing)?|sell(?:ing)?|sold|dumping|exit(?:ing|ed)?)\b"
    r"(?!\s+(?:puts|calls)\b)",  # "buying puts" is a bet on the way down: the option word decides
    re.IGNORECASE,
)
BULLISH_VERBS = re.compile(r"^(long|buy|bought|accumulat|add|load|calls|ape|rotating into|into|prefer)", re.IGNORECASE)
NEGATIONS = re.compile(r"\b(?:not|no longer|never|don'?t|won'?t|stopped|isn'?t|aren'?t|wasn'?t|no more)\s+(?:\w+\s+){0,1}$", re.IGNORECASE)
FILLER = re.compile(r"^(?:\s|more|some|my|the|a|all|of|on|up|in|into|to|more of|\$)*$", re.IGNORECASE)
CLAUSE_SPLIT = re.compile(
    r"[.!?;:\n]+(?:\s|$)|,|\s-\s|\b(?:but|while|whereas|however|although|though|meanwhile|vs\.?|versus)\b",
    re.IGNORECASE,
)
VERB_VALENCE = 0.6  # a trade verb on its own is a strong stance (VADER-compound scale)


class LexiconStanceModel:
    """The default scorer: offline, deterministic, explainable."""

    name = "lexicon-vader-v1"

    def __init__(self, extractor: InstrumentExtractor) -> None:
        self.extractor = extractor
        self.vader = SentimentIntensityAnalyzer()
        self.vader.lexicon.update(TRADING_LEXICON)

    def score(self, text: str) -> list[InstrumentStance]:
        mentions = self.extractor.extract(text)
        if not mentions:
            return []
        clauses = _clauses(text)
        per_clause: list[tuple[list[Mention], float, dict[int, float]]] = []
        for start, end in clauses:
            inside = [m for m in mentions if start <= m.start < end]
            verbs, applied_spans = self._verbs(text, start, end, inside)
            per_clause.append((inside, self._sentiment(text, start, end, inside, applied_spans), verbs))

        totals: dict[str, float] = {}
        last_mentions: list[Mention] = []
        for i, (inside, sentiment, verbs) in enumerate(per_clause):
            if not inside:
                for m in last_mentions:  # words without an instrument speak of the one before
                    totals[m.instrument] = totals.get(m.instrument, 0.0) + _signed(sentiment, m)
                continue
            if abs(sentiment) < 0.05 and not verbs:
                sentiment = _next_sentiment(per_clause, i)  # a list: "BTC, ETH and SOL all pumping"
            for m in inside:
                value = verbs.get(m.start, 0.0) + sentiment
                totals[m.instrument] = totals.get(m.instrument, 0.0) + _signed(value, m)
            last_mentions = inside

        out = []
        for instrument in dict.fromkeys(m.instrument for m in mentions):
            raw = totals.get(instrument, 0.0)
            score = math.tanh(raw * 1.5)
            stance = Stance.NEUTRAL if abs(score) < NEUTRAL_BAND else (Stance.BULLISH if score > 0 else Stance.BEARISH)
            out.append(InstrumentStance(instrument, stance, abs(score) if stance is not Stance.NEUTRAL else 0.0, score))
        return out

    def _sentiment(self, text: str, start: int, end: int, mentions: list[Mention], applied: list[tuple[int, int]]) -> float:
        chunk = list(text[start:end])
        # An instrument's own name carries no sentiment ("gold", "Trump"); a trade verb already applied to
        # an instrument is counted there, once.
        for s0, e0 in [(m.start, m.end) for m in mentions] + applied:
            for k in range(s0 - start, e0 - start):
                chunk[k] = " "
        clause = "".join(chunk)
        # A trade verb with no instrument after it is a stance on what the clause is about ("TON dumping", ", short").
        clause = STANDALONE_VERB.sub(lambda v: " tradebuy " if BULLISH_VERBS.match(v.group(0)) else " tradesell ", clause)
        for pattern, replacement in PHRASES:
            clause = pattern.sub(replacement, clause)
        return self.vader.polarity_scores(clause)["compound"] if clause.strip() else 0.0

    def _verbs(self, text: str, start: int, end: int, mentions: list[Mention]) -> tuple[dict[int, float], list[tuple[int, int]]]:
        """Trade verbs in the clause that apply to an instrument: value by the mention's position, and their spans."""
        applied: dict[int, float] = {}
        spans: list[tuple[int, int]] = []
        for v in DIRECTION.finditer(text, start, end):
            target = next((m for m in mentions if m.start >= v.end() and FILLER.match(text[v.end() : m.start])), None)
            if target is None:
                continue
            verb = v.group("verb").lower()
            value = VERB_VALENCE if BULLISH_VERBS.match(verb) else -VERB_VALENCE
            if NEGATIONS.search(text[max(start, v.start() - 20) : v.start()]):
                value *= -0.74  # VADER's own negation factor
            applied[target.start] = applied.get(target.start, 0.0) + value
            spans.append((v.start(), v.end()))
        return applied, spans


def _signed(value: float, mention: Mention) -> float:
    return -value if mention.inverted else value


def _clauses(text: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for m in CLAUSE_SPLIT.finditer(text):
        if m.start() > start:
            bounds.append((start, m.start()))
        start = m.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds


def _next_sentiment(per_clause: list[tuple[list[Mention], float, dict[int, float]]], i: int) -> float:
    for _, sentiment, verbs in per_clause[i + 1 :]:
        if abs(sentiment) >= 0.05:
            return sentiment
        if verbs:
            return 0.0
    return 0.0
