from __future__ import annotations

import json

from vprime_cli.__main__ import main
from vprime_cli.publish import parse


def test_score_prints_instruments_with_stance(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["score", "--json", "Long $ETH, short BTC. Anyone holding USDC?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {(s["instrument"], s["stance"]) for s in out} == {("ETH", "bullish"), ("BTC", "bearish")}
    assert all(0 < s["confidence"] <= 1 for s in out)


def test_score_neutral_mention_and_nothing(capsys) -> None:  # type: ignore[no-untyped-def]
    main(["score", "--json", "When is the next ETH upgrade?"])
    assert json.loads(capsys.readouterr().out) == [{"instrument": "ETH", "stance": "neutral", "confidence": 0.0}]
    main(["score", "--json", "I'm NOT going, ONE day maybe"])
    assert json.loads(capsys.readouterr().out) == []


def test_parse_reports_bad_lines_by_number() -> None:
    lines = [
        '{"post_id": "1", "account_id": "a", "author_handle": "@a", "text": "gm", "posted_at": "2026-11-21T10:00:00Z"}',
        "not json",
        '{"post_id": "2", "account_id": "a", "text": "missing handle and time"}',
        "",
    ]
    events, invalid = parse("posts", lines)
    assert [e.post_id for e in events] == ["1"]  # type: ignore[attr-defined]
    assert [n for n, _ in invalid] == [2, 3]
    assert "author_handle" in invalid[1][1] and "posted_at" in invalid[1][1]
