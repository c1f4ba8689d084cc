// The dashboard: overview cards, charts, venue breakdown, most common routes, routing history with filters, the live
// decision feed and a signal's timeline.
import { eventStream, read } from "./api.js";
import * as charts from "./charts.js";
import { $, VENUES, badge, esc, failed, num, pct, status, time, usd, venueName } from "./ui.js";

export function timelineHtml(t) {
  const s = t.signal;
  const steps = [`<div class="step"><b>Signal</b> ${esc(s.token_symbol)} ${esc(s.side)} · confidence ${esc(s.confidence)} · ${status(s.status)}
      <div>${esc(s.origin)} · ${esc(s.id)}${s.source_tweets?.length ? ` · posts: ${s.source_tweets.map(esc).join(", ")}` : ""}${s.source_research?.length ? ` · research: ${s.source_research.map(esc).join(", ")}` : ""}</div></div>`]
    .concat(t.intents.map((i) => `<div class="step"><b>Intent</b> ${status(i.status)} · size ${esc(i.size_pct)} % · ${esc(i.leverage)}x
      <div>${i.reasons.map((r) => `${esc(r.rule)}: ${esc(r.detail)}`).join("; ")}</div></div>`))
    .concat(t.routing_decisions.map((d) => `<div class="step"><b>Routing</b> attempt ${esc(d.attempt)} → ${d.selected_venue ? badge(d.selected_venue) : "no venue"}
      <div>${esc(d.reason)}</div></div>`))
    .concat(t.orders.map((o) => `<div class="step"><b>Order</b> ${badge(o.venue)} ${esc(o.venue_symbol)} · ${status(o.status)}<div>${esc(o.reason || "")}</div></div>`))
    .concat(t.positions.map((p) => `<div class="step"><b>Position</b> ${status(p.state)} · entry ${num(p.entry_price)} · qty ${num(p.qty)}${p.exit_price != null ? ` · exit ${num(p.exit_price)}` : ""}
      ${p.realized_pnl_usd != null ? `· PnL ${usd(p.realized_pnl_usd)}` : ""}<div>${esc(p.close_reason || "")}</div></div>`));
  return steps.join("");
}

export async function showTimeline(el, signalId) {
  el.innerHTML = '<p class="dim">Loading the signal\'s path…</p>';
  try {
    el.innerHTML = timelineHtml(await read(`/api/v3/signals/${signalId}/timeline`));
  } catch (e) {
    failed(el, e, () => showTimeline(el, signalId));
  }
}

const HTML = `
<h1>Dashboard</h1>
<div class="grid" id="dash">
  <section class="panel s3" aria-labelledby="c-agents-h"><h2 id="c-agents-h">Agents</h2><div class="big" id="card-agents">–</div><div class="sub" id="card-agents-sub"></div></section>
  <section class="panel s3" aria-labelledby="c-signals-h"><h2 id="c-signals-h">Signals</h2><div class="big" id="card-signals">–</div><div class="sub" id="card-signals-sub"></div></section>
  <section class="panel s3" aria-labelledby="c-pos-h"><h2 id="c-pos-h">Open positions</h2><div class="big" id="card-positions">–</div><div class="sub" id="card-positions-sub"></div></section>
  <section class="panel s3" aria-labelledby="c-routing-h"><h2 id="c-routing-h">Routing decisions</h2><div class="big" id="card-routing">–</div><div class="sub" id="card-routing-sub"></div></section>
  <section class="panel s6"><figure id="fig-pnl"><figcaption><h2>PnL over time (24 h)</h2></figcaption><div class="chart" id="chart-pnl"></div></figure></section>
  <section class="panel s6"><figure id="fig-share"><figcaption><h2>Venue share over time</h2></figcaption><div class="chart" id="chart-share"></div></figure></section>
  <section class="panel s6"><figure id="fig-latency"><figcaption><h2>Routing decision latency (microseconds)</h2></figcaption><div class="chart" id="chart-latency"></div></figure></section>
  <section class="panel s6"><figure id="fig-signals"><figcaption><h2>Signals per hour</h2></figcaption><div class="chart" id="chart-signals"></div></figure></section>
  <section class="panel s5" aria-labelledby="venues-h"><h2 id="venues-h">Venue breakdown</h2><div id="venues"></div></section>
  <section class="panel s7" aria-labelledby="routes-h"><h2 id="routes-h">Most common routes</h2><div class="table-wrap"><table id="routes">
    <thead><tr><th scope="col">Route</th><th scope="col" class="num">Decisions</th><th scope="col" class="num">Fallback</th><th scope="col">Where it went</th></tr></thead><tbody></tbody></table></div></section>
  <section class="panel s8" aria-labelledby="history-h"><h2 id="history-h">Routing history</h2>
    <form class="filters" id="filters" role="search" aria-label="Filter the routing history">
      <label>Instrument <input id="f-token" name="token_symbol" placeholder="e.g. ETH" size="10" autocomplete="off"></label>
      <label>Venue <select id="f-venue" name="selected_venue"><option value="">any</option>${VENUES.map((v) => `<option value="${v}">${venueName(v)}</option>`).join("")}<option value="NONE">no venue</option></select></label>
      <label>Outcome <select id="f-outcome" name="outcome"><option value="">any</option><option value="routed">routed</option><option value="no_venue">no venue</option></select></label>
      <label>Strategy <select id="f-strategy" name="strategy"><option value="">any</option><option>FIRST_AVAILABLE</option><option>BEST_EXECUTION</option></select></label>
    </form>
    <div class="table-wrap"><table id="history"><thead><tr><th scope="col">Time</th><th scope="col">Instrument</th><th scope="col">Venue</th><th scope="col" class="num">Attempt</th><th scope="col" class="num">µs</th><th scope="col">Reason</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section class="panel s4" aria-labelledby="feed-h"><h2 id="feed-h">Live decisions <span class="dim" id="feed-state">connecting…</span></h2>
    <ul class="feed" id="feed" aria-live="off"><li class="empty">waiting for decisions…</li></ul></section>
  <section class="panel s12" aria-labelledby="timeline-h"><h2 id="timeline-h">Signal timeline</h2><div id="timeline" class="empty">Choose a routing decision's instrument to see its signal's whole path.</div></section>
</div>`;

export function render(view) {
  view.innerHTML = HTML;
  // An answer that arrives after the user moved on writes into nothing rather than failing.
  const at = (selector) => view.querySelector(selector) || document.createElement("div");
  const timers = [];
  const filters = at("#filters");

  async function overview() {
    const { stats: s } = await read("/api/v3/stats/overview");
    at("#card-agents").textContent = s.agents.total;
    at("#card-agents-sub").textContent = `${s.agents.active} active · ${s.deployments.active} deployments`;
    at("#card-signals").textContent = s.signals.total;
    at("#card-signals-sub").textContent = `${s.signals.executed} executed · ${s.signals.skipped} skipped · ${s.signals.rejected} rejected`;
    at("#card-positions").textContent = s.positions.open;
    at("#card-positions-sub").textContent = `realised ${usd(s.positions.realized_pnl_usd)} · unrealised ${usd(s.positions.unrealized_pnl_usd)}`;
    at("#card-routing").textContent = s.routing.total;
    at("#card-routing-sub").textContent = `avg ${s.routing.avg_duration_ms.toFixed(3)} ms · p95 ${s.routing.p95_duration_ms.toFixed(3)} ms`;
  }

  async function venues() {
    const { venues, total_trades } = await read("/api/v3/stats/venues");
    at("#venues").innerHTML = Object.entries(venues).map(([v, s]) => `
      <div class="vbar" data-venue="${esc(v)}"><span>${badge(v)}</span>
        <div class="meter" role="img" aria-label="${esc(venueName(v))}: ${s.share_pct.toFixed(1)} % of trades"><div style="width:${Number(s.share_pct)}%;background:var(--${esc(v)})"></div></div>
        <span class="value">${s.trades} · ${s.share_pct.toFixed(1)}% · win ${s.performance.win_rate_pct.toFixed(0)}% · ${usd(s.performance.total_pnl_usd)}${s.failovers.away_from ? ` · failed over ${s.failovers.away_from}×` : ""}</span></div>`).join("")
      + `<p class="sub">${total_trades} trades in all</p>`;
  }

  async function routes() {
    const { routes } = await read("/api/v3/stats/routes", { limit: 8 });
    at("#routes tbody").innerHTML = routes.length ? routes.map((r) => `<tr>
        <td>${esc(r.most_common_route.split(",")[0])}</td><td class="num">${r.total}</td><td class="num">${pct(r.fallback_pct)}</td>
        <td>${Object.entries(r.venues).map(([v, s]) => `${v === "NONE" ? "no venue" : badge(v)} ${s.share_pct.toFixed(0)} %`).join(" ")}</td></tr>`).join("")
      : '<tr><td colspan="4" class="empty">no routes yet</td></tr>';
  }

  async function history() {
    const params = Object.fromEntries(new FormData(filters));
    params.token_symbol = params.token_symbol.trim();
    const { history } = await read("/api/v3/stats/routing-history", { ...params, limit: 25 });
    at("#history tbody").innerHTML = history.length ? history.map((h) => `<tr>
        <td>${time(h.created_at)}</td>
        <td><button type="button" class="link" data-signal="${esc(h.signal_id)}" aria-label="Show the timeline of this ${esc(h.token_symbol)} ${esc(h.side)} signal">${esc(h.token_symbol)} ${esc(h.side)}</button></td>
        <td>${h.selected_venue ? badge(h.selected_venue) : '<span class="status SKIPPED">none</span>'}</td>
        <td class="num">${h.attempt}</td><td class="num">${Number(h.routing_duration_us).toFixed(0)}</td><td class="wrap">${esc(h.routing_reason)}</td></tr>`).join("")
      : '<tr><td colspan="6" class="empty">no routing decisions match</td></tr>';
  }

  async function plots() {
    const c = await read("/api/v3/stats/charts", { hours: 24 });
    charts.pnl(at("#chart-pnl"), c.pnl.points.length || c.pnl.start_usd ? { ...c.pnl, since: c.since, until: c.until } : { start_usd: 0, points: [], since: c.since, until: c.until });
    charts.venueShare(at("#chart-share"), c.venue_share, c);
    charts.latency(at("#chart-latency"), c.latency_us);
    charts.signals(at("#chart-signals"), c.signals_per_hour, c);
  }

  const parts = { overview, plots, venues, routes, history };
  let refreshing = false;
  let alive = true;
  async function refresh() {
    if (refreshing) return;  // a slow answer is not asked for again on top of itself
    refreshing = true;
    const results = await Promise.allSettled(Object.values(parts).map((f) => f()));
    refreshing = false;
    if (!alive) return;
    const failures = results.filter((r) => r.status === "rejected");
    const line = view.querySelector("#dash-error");
    if (failures.length) {
      if (!line) view.querySelector("h1").insertAdjacentHTML("afterend", `<p id="dash-error" class="notice" role="alert">${esc(failures[0].reason.message)}</p>`);
      else line.textContent = failures[0].reason.message;
    } else if (line) line.remove();
    document.body.dataset.loaded = "true";
  }

  view.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-signal]");
    if (b) { showTimeline(at("#timeline"), b.dataset.signal); at("#timeline").classList.remove("empty"); }
  });
  let typing;
  filters.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => history().catch(() => {}), 250); });
  filters.addEventListener("submit", (e) => e.preventDefault());

  const feed = at("#feed");
  const stop = eventStream("/api/v3/stream/decisions", (d) => {
    if (feed.querySelector(".empty")) feed.innerHTML = "";
    const li = document.createElement("li");
    li.innerHTML = `${new Date().toLocaleTimeString()} · ${esc(d.instrument)} ${esc(d.side)} → ${d.selected_venue ? badge(d.selected_venue) : "no venue"} <span class="dim">${Number(d.duration_us).toFixed(0)} µs${d.attempt > 1 ? ` · attempt ${d.attempt}` : ""}</span>`;
    feed.prepend(li);
    while (feed.children.length > 50) feed.lastChild.remove();
  }, (state) => { at("#feed-state").textContent = state === "live" ? "● live" : `(${state})`; });

  refresh();
  timers.push(setInterval(refresh, 5000));
  return () => { alive = false; timers.forEach(clearInterval); stop(); charts.forget(view); };
}
