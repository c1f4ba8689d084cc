"""Measure the default scorer on the labelled corpus: instrument extraction P/R/F1 and stance accuracy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from vprime_signal.domain.stance import LexiconStanceModel, Stance
from vprime_signal.scoring import default_scorer

CORPUS = Path(__file__).parents[1] / "corpus"
STANCES = {"+": Stance.BULLISH, "-": Stance.BEARISH, "0": Stance.NEUTRAL}


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    stance_right: int = 0
    stance_total: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def stance_accuracy(self) -> float:
        return self.stance_right / self.stance_total if self.stance_total else 1.0


def load(name: str) -> list[tuple[dict[str, Stance], str]]:
    rows = []
    for line in (CORPUS / name).read_text().splitlines():
        labels, text = line.split("\t", 1)
        expected = {} if labels.strip() == "~" else {tok[:-1]: STANCES[tok[-1]] for tok in labels.split()}
        rows.append((expected, text))
    return rows


def evaluate(model: LexiconStanceModel, rows: list[tuple[dict[str, Stance], str]]) -> tuple[Scores, list[str]]:
    scores, misses = Scores(), []
    for expected, text in rows:
        got = {s.instrument: s.stance for s in model.score(text)}
        for instrument in got.keys() | expected.keys():
            if instrument in got and instrument in expected:
                scores.tp += 1
                scores.stance_total += 1
                if got[instrument] is expected[instrument]:
                    scores.stance_right += 1
                else:
                    misses.append(f"stance {instrument}: want {expected[instrument].value}, got {got[instrument].value} | {text}")
            elif instrument in got:
                scores.fp += 1
                misses.append(f"extra {instrument} | {text}")
            else:
                scores.fn += 1
                misses.append(f"missed {instrument} | {text}")
    return scores, misses


@pytest.mark.parametrize("split", ["dev.tsv", "holdout.tsv"])
def test_scorer_meets_the_bar(split: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = load(split)
    scores, misses = evaluate(default_scorer(), rows)
    with capsys.disabled():  # the figures belong in every test run's output
        print(
            f"\n[scorer] {split}: {len(rows)} posts | instruments P={scores.precision:.3f} R={scores.recall:.3f} "
            f"F1={scores.f1:.3f} | stance accuracy={scores.stance_accuracy:.3f} ({scores.stance_right}/{scores.stance_total}) "
            f"| {len(misses)} misses (VPRIME_SHOW_MISSES=1 lists them)"
        )
        if os.environ.get("VPRIME_SHOW_MISSES"):
            for miss in misses:
                print(f"  {miss}")
    detail = "\n".join(misses)
    assert scores.f1 >= 0.9, f"instrument F1 {scores.f1:.3f} < 0.9; misses:\n{detail}"
    assert scores.stance_accuracy >= 0.8, f"stance accuracy {scores.stance_accuracy:.3f} < 0.8; misses:\n{detail}"


def test_corpus_is_big_enough_and_varied() -> None:
    rows = load("dev.tsv") + load("holdout.tsv")
    assert len(rows) >= 300
    assert sum(1 for e, _ in rows if not e) >= 30  # spam, stablecoins, word-like tickers
    assert sum(1 for e, _ in rows if len(e) >= 2) >= 30  # several instruments per post
    assert sum(1 for e, _ in rows if set(e) & {"GOLD", "SILVER", "WTI", "SPX500", "NAS100", "EURUSD", "USDJPY", "NVDA", "TSLA"}) >= 25
