"""vprime: drive and watch Vprime from a terminal. Every command takes --json.

Addresses: VPRIME_CONTROL_URL (http://127.0.0.1:8000), VPRIME_QUERY_URL (http://127.0.0.1:8001),
KAFKA_BOOTSTRAP_SERVERS (127.0.0.1:9092), or the matching flags.

Control writes need a bearer token: VPRIME_TOKEN (from `vprime login`), else the local stack's operator
token in $VPRIME_HOME/secrets (./.vprime by default) when it is there.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from vprime_cli import dlq as dead_letters
from vprime_cli.client import Api, ApiError
from vprime_cli.publish import KINDS, publish_file

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
agents = typer.Typer(help="Create, list, deploy agents; pause and resume deployments.", no_args_is_help=True)
signals = typer.Typer(help="Send manual signals.", no_args_is_help=True)
routing = typer.Typer(help="Routing decisions.", no_args_is_help=True)
context = typer.Typer(help="Feed context events (posts, research, ticks) into Kafka.", no_args_is_help=True)
dlq = typer.Typer(help="Dead letters: what no service could process, and why; replay after a fix.", no_args_is_help=True)
app.add_typer(agents, name="agents")
app.add_typer(signals, name="signals")
app.add_typer(routing, name="routing")
app.add_typer(context, name="context")
app.add_typer(dlq, name="dlq")
console = Console()
errors = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="print the API's JSON instead of a table")]
Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")]


class State:
    api: Api
    control_url: str = ""
    injected: Api | None = None  # tests hand in an Api over a fake transport


state = State()


def local_operator_token() -> str | None:
    """The operator token `make up` wrote for this checkout, if any: local use needs no sign-in."""
    path = Path(os.environ.get("VPRIME_HOME", ".vprime")) / "secrets" / "operator-api.token"
    return path.read_text().strip() if path.is_file() else None


@app.callback()
def main_options(
    control_url: Annotated[str, typer.Option(envvar="VPRIME_CONTROL_URL")] = "http://127.0.0.1:8000",
    query_url: Annotated[str, typer.Option(envvar="VPRIME_QUERY_URL")] = "http://127.0.0.1:8001",
    token: Annotated[str | None, typer.Option(envvar="VPRIME_TOKEN", help="bearer token for control writes",
                                              show_default=False)] = None,
) -> None:
    state.control_url = control_url
    state.api = state.injected or Api(control_url, query_url, token=token or local_operator_token())


@app.command("login")
def login(key_env: Annotated[str, typer.Option(help="environment variable holding the wallet's private key")] = "VPRIME_WALLET_KEY",
          as_json: JsonFlag = False) -> None:
    """Sign in with a wallet (EIP-4361 message, EIP-191 signature) and print a session token.

    The key is read from an environment variable, never a flag, so it stays out of shell history and `ps`.
    """
    from vprime_shared.sign_in import sign_in

    key = os.environ.get(key_env, "").strip()
    if not key:
        console.print(f"[red]error:[/red] set {key_env} to the wallet's private key (0x hex)")
        raise typer.Exit(2)
    try:
        token = sign_in(state.api.control, state.control_url, key)
    except (ValueError, PermissionError, httpx.HTTPError) as exc:
        console.print(f"[red]error:[/red] sign-in failed: {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        print(json.dumps({"token": token}))
    else:
        print(f"export VPRIME_TOKEN={token}")


def call(side: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    try:
        return state.api.call(side, method, path, **kwargs)
    except ApiError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def show(body: dict[str, Any], as_json: bool, table: Table | None) -> None:
    if as_json or table is None:
        print(json.dumps(body, indent=2, default=str))
    else:
        console.print(table)


def grid(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    return t


# ---- agents ------------------------------------------------------------------------------------
@agents.command("create")
def agents_create(
    name: str, wallet: Annotated[str, typer.Option(help="creator and profit receiver wallet")],
    venue: Annotated[str, typer.Option(help="MULTI, or one venue for a single-venue agent")] = "MULTI",
    x_account: Annotated[list[str] | None, typer.Option(help="X account id to follow (repeatable)")] = None,
    institute: Annotated[list[str] | None, typer.Option(help="research institute id to follow (repeatable)")] = None,
    threshold: Annotated[float, typer.Option(help="signal confidence threshold")] = 0.6,
    as_json: JsonFlag = False,
) -> None:
    body = call("control", "POST", "/api/v3/agents/create", json={
        "creator_wallet": wallet, "name": name, "profit_receiver_address": wallet, "venue": venue.upper(),
        "x_account_ids": x_account or [], "research_institute_ids": institute or [], "signal_threshold": threshold})
    a = body["agent"]
    show(body, as_json, grid("agent created", ["id", "name", "venue", "status"], [[a["id"], a["name"], a["venue"], a["status"]]]))


@agents.command("list")
def agents_list(wallet: Annotated[str | None, typer.Option()] = None, status: Annotated[str | None, typer.Option()] = None,
                as_json: JsonFlag = False) -> None:
    params = {k: v for k, v in {"creator_wallet": wallet, "status": status}.items() if v}
    body = call("control", "GET", "/api/v3/agents/list", params=params)
    rows = [[a["id"], a["name"], a["status"], a["venue"], ", ".join(a["enabled_venues"])] for a in body["agents"]]
    show(body, as_json, grid(f"{body['count']} of {body['total']} agents", ["id", "name", "status", "venue", "enabled venues"], rows))


@agents.command("deploy")
def agents_deploy(agent_id: str, wallet: Annotated[str, typer.Option(help="the user's wallet")],
                  venues: Annotated[str | None, typer.Option(help="ordered, comma-separated, e.g. HYPERLIQUID,OSTIUM")] = None,
                  policy: Annotated[str | None, typer.Option(help='risk policy as JSON, e.g. \'{"max_open_positions": 3}\'')] = None,
                  as_json: JsonFlag = False) -> None:
    body: dict[str, Any] = {"agent_id": agent_id, "user_wallet": wallet}
    if venues:
        body["enabled_venues"] = [v.strip().upper() for v in venues.split(",") if v.strip()]
    if policy:
        try:
            body["policy"] = json.loads(policy)
        except json.JSONDecodeError as exc:
            console.print(f"[red]error:[/red] --policy is not JSON: {exc}")
            raise typer.Exit(2) from exc
    d = call("control", "POST", "/api/v3/agents/deploy", json=body)
    dep = d["deployment"]
    show(d, as_json, grid("deployed", ["deployment", "agent", "venues", "status"],
                          [[dep["id"], dep["agent_id"], " → ".join(dep["enabled_venues"]), dep["status"]]]))


@app.command("seal-key")
def seal_key(
    wallet: Annotated[str, typer.Option(help="the deploying user's wallet (0x…): the keys open only for its deployments")],
    key: Annotated[list[str], typer.Option("--key", help="VENUE=path to a file holding the venue agent's hex private key "
                                                           "(repeatable, e.g. HYPERLIQUID=hl.key)")],
) -> None:
    """Seal venue agent keys for a deploy body and print its fields as one JSON object.

    Asks control for a key import nonce for the wallet, seals each key to the executor's import key for
    that wallet, venue and nonce (docs/key-import.md), and prints user_wallet, key_import_nonce and each
    venue's <venue>_agent_address, _agent_key_encrypted, _iv and _tag. Keys are read from files, never
    flags, and never printed.
    """
    from vprime_shared.key_envelope import EnvelopeError

    from vprime_cli.seal import SealError, check_wallet, deploy_fields, read_keys

    try:
        keys = read_keys(key)
        check_wallet(wallet)
    except SealError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        issued = state.api.call("control", "POST", "/api/v3/key-imports", json={"wallet": wallet})
        fields = deploy_fields(issued, wallet, keys)
    except ApiError as exc:
        errors.print(f"[red]error:[/red] no key import nonce from control: {exc}")
        raise typer.Exit(1) from None
    except KeyError as exc:
        errors.print(f"[red]error:[/red] control's key import answer has no {exc}")
        raise typer.Exit(1) from None
    except (SealError, EnvelopeError) as exc:
        errors.print(f"[red]error:[/red] cannot seal with control's answer: {exc}")
        raise typer.Exit(1) from None
    print(json.dumps(fields, indent=2))


@agents.command("pause")
def agents_pause(deployment_id: str, as_json: JsonFlag = False) -> None:
    d = call("control", "POST", f"/api/v3/deployments/{deployment_id}/pause")
    show(d, as_json, grid("paused", ["deployment", "status"], [[d["deployment"]["id"], d["deployment"]["status"]]]))


@agents.command("resume")
def agents_resume(deployment_id: str, as_json: JsonFlag = False) -> None:
    d = call("control", "POST", f"/api/v3/deployments/{deployment_id}/resume")
    show(d, as_json, grid("resumed", ["deployment", "status"], [[d["deployment"]["id"], d["deployment"]["status"]]]))


# ---- signals, stats, routing, timeline -------------------------------------------------------------
@signals.command("send")
def signals_send(agent_id: str, token: str, side: str, size: Annotated[float, typer.Option(help="% of equity")] = 10.0,
                 stop: Annotated[float, typer.Option(help="trailing stop, fraction")] = 0.03,
                 leverage: Annotated[float, typer.Option()] = 1.0, confidence: Annotated[float, typer.Option()] = 0.8,
                 as_json: JsonFlag = False) -> None:
    body = call("control", "POST", "/api/v3/signals/generate", json={
        "agent_id": agent_id, "token_symbol": token, "side": side.upper(), "confidence": confidence,
        "size_model": {"type": "percentage", "value": size}, "risk_model": {"type": "trailing-stop", "stop": stop, "leverage": leverage}})
    s = body["signal"]
    show(body, as_json, grid("signal sent", ["id", "instrument", "side", "venue", "status"],
                             [[s["id"], s["token_symbol"], s["side"], s["requested_venue"], s["status"]]]))


@app.command("stats")
def stats(as_json: JsonFlag = False) -> None:
    """The overview: agents, signals, positions, routing."""
    body = call("query", "GET", "/api/v3/stats/overview")
    s = body["stats"]
    rows = [["agents", s["agents"]["total"], f"{s['agents']['active']} active"],
            ["signals", s["signals"]["total"], f"{s['signals']['executed']} executed, {s['signals']['skipped']} skipped, "
                                               f"{s['signals']['rejected']} rejected"],
            ["positions", s["positions"]["total"], f"{s['positions']['open']} open, realised {s['positions']['realized_pnl_usd']:.2f} USD"],
            ["routing", s["routing"]["total"], ", ".join(f"{v}: {x['count']} ({x['share_pct']}%)" for v, x in s["routing"]["by_venue"].items())]]
    show(body, as_json, grid("Vprime", ["", "total", ""], rows))


@routing.command("history")
def routing_history(token: Annotated[str | None, typer.Option()] = None, venue: Annotated[str | None, typer.Option()] = None,
                    agent_id: Annotated[str | None, typer.Option()] = None, limit: Annotated[int, typer.Option()] = 20,
                    as_json: JsonFlag = False) -> None:
    params = {k: v for k, v in {"token_symbol": token, "selected_venue": venue.upper() if venue else None, "agent_id": agent_id,
                                "limit": limit}.items() if v}
    body = call("query", "GET", "/api/v3/stats/routing-history", params=params)
    rows = [[h["created_at"][11:19], h["token_symbol"], h["selected_venue"] or "-", h["attempt"], f"{h['routing_duration_us']:.0f}",
             h["routing_reason"]] for h in body["history"]]
    show(body, as_json, grid(f"routing history ({body['summary']['total']} decisions)", ["time", "instrument", "venue", "attempt", "µs",
                                                                                           "reason"], rows))


@app.command("timeline")
def timeline(signal_id: str, as_json: JsonFlag = False) -> None:
    """A signal's whole path: intents, routing decisions, orders, positions."""
    t = call("query", "GET", f"/api/v3/signals/{signal_id}/timeline")
    s = t["signal"]
    rows = [["signal", s["status"], f"{s['token_symbol']} {s['side']} confidence {s['confidence']}"]]
    rows += [["intent", i["status"], "; ".join(f"{r['rule']}: {r['detail']}" for r in i["reasons"])] for i in t["intents"]]
    rows += [["routing", d["selected_venue"] or "no venue", f"attempt {d['attempt']}: {d['reason']}"] for d in t["routing_decisions"]]
    rows += [["order", o["status"], f"{o['venue']} {o.get('venue_symbol') or ''} {o.get('reason') or ''}"] for o in t["orders"]]
    rows += [["position", p["state"], f"entry {p['entry_price']:.6g} qty {p['qty']:.6g}"
              + (f" PnL {p['realized_pnl_usd']:.2f}" if p["realized_pnl_usd"] is not None else "")] for p in t["positions"]]
    show(t, as_json, grid(f"signal {signal_id}", ["step", "status", "detail"], rows))


# ---- context and scoring ---------------------------------------------------------------------------
def _publish(kind: str, file: Path, bootstrap: str) -> None:
    if kind not in KINDS:
        console.print(f"[red]error:[/red] kind must be one of {', '.join(sorted(KINDS))}")
        raise typer.Exit(2)
    if not file.is_file():
        console.print(f"[red]error:[/red] {file} is not a file")
        raise typer.Exit(2)
    report = asyncio.run(publish_file(kind, file, bootstrap))
    print(f"[vprime] done: {report.published} published, {len(report.invalid)} skipped as invalid, {report.seconds:.1f}s", file=sys.stderr)
    raise typer.Exit(1 if report.invalid else 0)


@context.command("publish")
def context_publish(kind: str, file: Path, bootstrap: Bootstrap = "127.0.0.1:9092") -> None:
    """Publish a JSONL file of posts, research or ticks (one JSON object per line), with progress."""
    _publish(kind, file, bootstrap)


@app.command("publish", hidden=True)
def publish(kind: str, file: Path, bootstrap: Bootstrap = "127.0.0.1:9092") -> None:
    """Same as `context publish`."""
    _publish(kind, file, bootstrap)


@dlq.command("list")
def dlq_list(topic: Annotated[str | None, typer.Option(help="e.g. signals.v1 (default: every topic)")] = None,
             service: Annotated[str | None, typer.Option(help="only what this service dead-lettered")] = None,
             limit: Annotated[int, typer.Option()] = 50, bootstrap: Bootstrap = "127.0.0.1:9092", as_json: JsonFlag = False) -> None:
    letters = asyncio.run(dead_letters.list_letters(bootstrap, topic, service, limit))
    rows = [x.summary() for x in letters]
    show({"letters": rows, "count": len(rows)}, as_json,
         grid(f"{len(rows)} dead letters", ["topic", "service", "first seen", "error"],
              [[r["topic"], r["service"], r["first_seen"], str(r["error"])[:120]] for r in rows]))


@dlq.command("replay")
def dlq_replay(topic: Annotated[str | None, typer.Option(help="e.g. signals.v1 (default: every topic)")] = None,
               service: Annotated[str | None, typer.Option()] = None, limit: Annotated[int, typer.Option()] = 10_000,
               dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be replayed")] = False,
               bootstrap: Bootstrap = "127.0.0.1:9092", as_json: JsonFlag = False) -> None:
    letters = asyncio.run(dead_letters.replay(bootstrap, topic, service, limit, dry_run))
    rows = [x.summary() for x in letters]
    show({"replayed": rows, "count": len(rows), "dry_run": dry_run}, as_json,
         grid(f"{'would replay' if dry_run else 'replayed'} {len(rows)} letters", ["topic", "source", "error"],
              [[r["topic"], r["source"], str(r["error"])[:120]] for r in rows]))


@app.command("score")
def score(text: str, as_json: JsonFlag = False) -> None:
    """The instruments a text is about, with stance and confidence (the default scorer, offline)."""
    from vprime_signal.scoring import default_scorer

    stances = [s.as_dict() for s in default_scorer().score(text)]
    if as_json:
        print(json.dumps(stances))
    else:
        console.print(grid("score", ["instrument", "stance", "confidence"],
                           [[s["instrument"], s["stance"], f"{s['confidence']:.3f}"] for s in stances]))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
