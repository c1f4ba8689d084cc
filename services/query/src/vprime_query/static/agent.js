// An agent's page: its deployments (pause, resume, stop), equity/PnL curve, trades by venue, positions, and its
// signals with their evidence; its creator sends manual signals from here.
import { control, read, session } from "./api.js";
import * as charts from "./charts.js";
import { showTimeline } from "./dashboard.js";
import { $, badge, clearErrors, esc, failed, field, notify, num, pct, showErrors, status, time, usd, venueBadge, venueName } from "./ui.js";

export function render(view, agentId) {
  // An answer that arrives after the user moved on writes into nothing rather than failing.
  const at = (selector) => view.querySelector(selector) || document.createElement("div");
  view.innerHTML = `<h1 id="agent-name">Agent</h1><div id="agent-body"><p class="dim">Loading…</p></div>`;
  const body = at("#agent-body");
  let timer;
  let built = false;
  let alive = true;

  function skeleton(perf) {
    const s = session();
    body.innerHTML = `
    <div class="grid">
      <section class="panel s12" aria-label="Summary"><div id="a-badge"></div><div class="kv" id="a-kv"></div>
        <a class="button" href="#/deploy/${esc(agentId)}">Deploy this agent</a></section>
      <section class="panel s12" aria-labelledby="dep-h"><h2 id="dep-h">Deployments</h2><div class="table-wrap"><table id="deployments">
        <thead><tr><th scope="col">Deployment</th><th scope="col">Wallet</th><th scope="col">Status</th><th scope="col">Venues (priority)</th><th scope="col" class="num">Open</th><th scope="col" class="num">Realised</th><th scope="col">Actions</th></tr></thead><tbody></tbody></table></div></section>
      <section class="panel s7"><figure id="fig-equity"><figcaption><h2>Realised PnL (30 days)</h2></figcaption><div class="chart" id="chart-equity"></div></figure></section>
      <section class="panel s5" aria-labelledby="tbv-h"><h2 id="tbv-h">Trades by venue</h2><div id="by-venue"></div></section>
      <section class="panel s12" aria-labelledby="pos-h"><h2 id="pos-h">Positions</h2><div class="table-wrap"><table id="positions">
        <thead><tr><th scope="col">Opened</th><th scope="col">Instrument</th><th scope="col">Venue</th><th scope="col">State</th><th scope="col" class="num">Entry</th><th scope="col" class="num">Qty</th><th scope="col" class="num">PnL</th></tr></thead><tbody></tbody></table></div></section>
      <section class="panel s8" aria-labelledby="sig-h"><h2 id="sig-h">Signals and their evidence</h2><div class="table-wrap"><table id="signals">
        <thead><tr><th scope="col">Time</th><th scope="col">Signal</th><th scope="col">Status</th><th scope="col">Venue</th><th scope="col">Evidence</th></tr></thead><tbody></tbody></table></div>
        <div id="timeline" class="empty" aria-live="polite"></div></section>
      <section class="panel s4" aria-labelledby="send-h"><h2 id="send-h">Send a manual signal</h2>
        <form id="signal-form" novalidate>
          <p class="dim">${s ? "Its creator sends signals; they are routed like any other." : "Sign in as the agent's creator to send one."}</p>
          ${field("token_symbol", "Instrument", '<INPUT name="token_symbol" required placeholder="ETH, GOLD, EURUSD" autocomplete="off">')}
          ${field("side", "Side", '<SELECT name="side"><option>LONG</option><option>SHORT</option></select>')}
          <div class="row">
            ${field("size_model.value", "Size (% of equity)", '<INPUT name="size" type="number" step="any" value="10">')}
            ${field("risk_model.stop", "Trailing stop (fraction)", '<INPUT name="stop" type="number" step="any" value="0.03">')}
          </div>
          ${field("confidence", "Confidence (0–1)", '<INPUT name="confidence" type="number" step="any" value="0.8">')}
          <div class="form-error" role="alert" tabindex="-1"></div>
          <button class="primary" type="submit" ${s ? "" : "disabled"}>Send signal</button>
        </form></section>
    </div>`;
    at("#signal-form").addEventListener("submit", sendSignal);
    body.addEventListener("click", onClick);
    built = true;
  }

  async function sendSignal(e) {
    e.preventDefault();
    const form = e.currentTarget;
    clearErrors(form);
    const f = Object.fromEntries(new FormData(form));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const r = await control("POST", "/api/v3/signals/generate", {
        agent_id: agentId, token_symbol: f.token_symbol, side: f.side,
        size_model: { type: "percentage", value: Number(f.size) }, risk_model: { type: "trailing-stop", stop: Number(f.stop) },
        confidence: Number(f.confidence),
      });
      notify(`Signal ${r.signal.token_symbol} ${r.signal.side} sent: ${r.message}`, "ok");
      load();
    } catch (err) {
      showErrors(form, err);
    } finally {
      button.disabled = false;
    }
  }

  async function onClick(e) {
    const act = e.target.closest("button[data-action]");
    if (act) {
      act.disabled = true;
      try {
        const r = await control("POST", `/api/v3/deployments/${act.dataset.deployment}/${act.dataset.action}`);
        notify(`Deployment ${r.deployment.id.slice(0, 8)} is ${r.deployment.status}`, "ok");
        const row = act.closest("tr");
        row.querySelector(".dep-status").innerHTML = status(r.deployment.status);
        row.dataset.status = r.deployment.status;
        row.querySelector(".dep-actions").innerHTML = actions(r.deployment, true);
      } catch (err) {
        notify(err.message);
        act.disabled = false;
      }
      return;
    }
    const sig = e.target.closest("button[data-signal]");
    if (sig) { at("#timeline").classList.remove("empty"); showTimeline(at("#timeline"), sig.dataset.signal); }
  }

  function actions(d, mine) {
    if (!mine) return '<span class="dim">its wallet steers it</span>';
    if (d.status === "STOPPED") return '<span class="dim">stopped for good</span>';
    const label = `deployment ${d.id.slice(0, 8)}`;
    return (d.status === "ACTIVE" ? `<button type="button" data-action="pause" data-deployment="${esc(d.id)}" aria-label="Pause ${label}">Pause</button>`
      : `<button type="button" data-action="resume" data-deployment="${esc(d.id)}" aria-label="Resume ${label}">Resume</button>`)
      + ` <button type="button" class="danger" data-action="stop" data-deployment="${esc(d.id)}" aria-label="Stop ${label} for good">Stop</button>`;
  }

  async function load() {
    let perf;
    try {
      perf = await read(`/api/v3/agents/${agentId}/performance`);
    } catch (e) {
      if (!alive) return;
      if (e.status === 404 && !built) {  // just created: the read model follows within moments
        body.innerHTML = '<p class="dim" role="status">This agent is on its way to the dashboard; it shows here in a moment…</p>';
        timer = setTimeout(load, 1000);
        return;
      }
      if (!built) { failed(body, e, load); return; }
      notify(e.message);
      return;
    }
    if (!alive) return;
    if (!built) skeleton(perf);
    at("#agent-name").textContent = perf.agent.name;
    at("#a-badge").innerHTML = `${venueBadge(perf.agent)} ${status(perf.agent.status)}`;
    at("#a-kv").innerHTML = `
      <div><span>APR 30d</span>${pct(perf.apr_30d_pct)}</div><div><span>APR 90d</span>${pct(perf.apr_90d_pct)}</div>
      <div><span>Sharpe 30d</span>${perf.sharpe_30d == null ? "–" : perf.sharpe_30d.toFixed(2)}</div>
      <div><span>Positions</span>${perf.positions.open} open · ${perf.positions.closed} closed</div>
      <div><span>Realised PnL</span>${usd(perf.pnl.realized_usd)}</div><div><span>Unrealised PnL</span>${usd(perf.pnl.unrealized_usd)}</div>`;
    const trades = Object.entries(perf.trades_by_venue);
    const total = trades.reduce((n, [, c]) => n + c, 0);
    at("#by-venue").innerHTML = trades.length ? trades.map(([v, c]) => `<div class="vbar" data-venue="${esc(v)}"><span>${badge(v)}</span>
        <div class="meter" role="img" aria-label="${esc(venueName(v))}: ${c} trades"><div style="width:${(100 * c) / total}%;background:var(--${esc(v)})"></div></div><span class="value">${c}</span></div>`).join("")
      : '<p class="empty">no trades yet</p>';
    const s = session();
    const results = await Promise.allSettled([
      read(`/api/v3/agents/${agentId}/deployments`).then(({ deployments }) => {
        at("#deployments tbody").innerHTML = deployments.length ? deployments.map((d) => {
          const mine = s && s.wallet.toLowerCase() === d.user_wallet.toLowerCase();
          return `<tr data-deployment="${esc(d.id)}" data-status="${esc(d.status)}"><td><code>${esc(d.id.slice(0, 8))}</code></td><td><code>${esc(d.user_wallet.slice(0, 10))}…</code></td>
            <td class="dep-status">${status(d.status)}</td><td class="dep-venues">${d.enabled_venues.map((v, i) => `${i + 1}. ${badge(v)}`).join(" ")}</td>
            <td class="num">${d.open_positions}</td><td class="num">${usd(d.realized_pnl_usd)}</td><td class="dep-actions">${actions(d, mine)}</td></tr>`;
        }).join("") : '<tr><td colspan="7" class="empty">not deployed yet</td></tr>';
      }),
      read("/api/v3/stats/charts", { agent_id: agentId, hours: 24 * 30 }).then((c) => charts.pnl(at("#chart-equity"), { ...c.pnl, since: c.since, until: c.until })),
      read("/api/v3/positions", { agent_id: agentId, limit: 20 }).then(({ positions }) => {
        at("#positions tbody").innerHTML = positions.length ? positions.map((p) => `<tr data-position="${esc(p.position_id)}">
          <td>${time(p.opened_at)}</td><td>${esc(p.instrument)} ${esc(p.side)} <span class="dim">${esc(p.venue_symbol)}</span></td><td>${badge(p.venue)}</td>
          <td>${status(p.state)}</td><td class="num">${num(p.entry_price)}</td><td class="num">${num(p.qty)}</td><td class="num">${usd(p.realized_pnl_usd)}</td></tr>`).join("")
          : '<tr><td colspan="7" class="empty">no positions yet</td></tr>';
      }),
      read("/api/v3/signals", { agent_id: agentId, limit: 20 }).then(({ signals }) => {
        at("#signals tbody").innerHTML = signals.length ? signals.map((g) => `<tr>
          <td>${time(g.created_at)}</td>
          <td><button type="button" class="link" data-signal="${esc(g.id)}" aria-label="Show the timeline of this ${esc(g.token_symbol)} ${esc(g.side)} signal">${esc(g.token_symbol)} ${esc(g.side)}</button> <span class="dim">${esc(g.confidence)}</span></td>
          <td>${status(g.status)}</td><td>${g.final_venue ? badge(g.final_venue) : "–"}</td>
          <td class="wrap">${esc(g.origin)}${g.source_tweets.length ? ` · posts ${g.source_tweets.map(esc).join(", ")}` : ""}${g.source_research.length ? ` · research ${g.source_research.map(esc).join(", ")}` : ""}${g.score ? ` · score ${esc(JSON.stringify(g.score))}` : ""}</td></tr>`).join("")
          : '<tr><td colspan="5" class="empty">no signals yet</td></tr>';
      }),
    ]);
    if (!alive) return;
    const failure = results.find((r) => r.status === "rejected");
    if (failure) notify(failure.reason.message);
    document.body.dataset.loaded = "true";
    clearTimeout(timer);
    timer = setTimeout(load, 4000);
  }
  load();
  return () => { alive = false; clearTimeout(timer); charts.forget(view); };
}
