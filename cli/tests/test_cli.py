from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from vprime_cli import __main__ as cli
from vprime_cli.client import Api
from vprime_cli.publish import parse

runner = CliRunner()


def test_score_prints_instruments_with_stance() -> None:
    result = runner.invoke(cli.app, ["score", "--json", "Long $ETH, short BTC. Anyone holding USDC?"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {(s["instrument"], s["stance"]) for s in out} == {("ETH", "bullish"), ("BTC", "bearish")}
    assert all(0 < s["confidence"] <= 1 for s in out)


def test_score_neutral_mention_and_nothing() -> None:
    assert json.loads(runner.invoke(cli.app, ["score", "--json", "When is the next ETH upgrade?"]).stdout) == [
        {"instrument": "ETH", "stance": "neutral", "confidence": 0.0}]
    assert json.loads(runner.invoke(cli.app, ["score", "--json", "I'm NOT going, ONE day maybe"]).stdout) == []
    table = runner.invoke(cli.app, ["score", "gold is ripping"]).stdout
    assert "GOLD" in table and "bullish" in table


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


def fake_api(handler) -> Api:  # type: ignore[no-untyped-def]
    return Api("http://control", "http://query", transport=httpx.MockTransport(handler))


def test_tables_and_json_from_the_api() -> None:
    agents = {"success": True, "count": 1, "total": 1, "agents": [
        {"id": "a1", "name": "Alpha", "status": "ACTIVE", "venue": "MULTI", "enabled_venues": ["HYPERLIQUID", "OSTIUM"]}]}
    cli.state.injected = fake_api(lambda request: httpx.Response(200, json=agents))
    table = runner.invoke(cli.app, ["agents", "list"]).stdout
    assert "Alpha" in table and "HYPERLIQUID, OSTIUM" in table
    assert json.loads(runner.invoke(cli.app, ["agents", "list", "--json"]).stdout) == agents


def test_api_errors_say_what_is_wrong() -> None:
    cli.state.injected = fake_api(lambda request: httpx.Response(404, json={"success": False, "error": "agent x does not exist"}))
    result = runner.invoke(cli.app, ["timeline", "x"])
    cli.state.injected = None
    assert result.exit_code == 1 and "404: agent x does not exist" in result.stdout
