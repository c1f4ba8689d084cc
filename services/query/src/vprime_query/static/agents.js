// Agent cards: the Multi-Venue badge naming the venues, status, APR 30d/90d, Sharpe, open positions, realised PnL.
import { read, session } from "./api.js";
import { esc, failed, pct, status, usd, venueBadge } from "./ui.js";

export function card(a) {
  const s = session();
  const mine = s && a.creator_wallet && s.wallet.toLowerCase() === a.creator_wallet.toLowerCase();
  return `<article class="panel card" data-agent="${esc(a.id)}" aria-labelledby="agent-${esc(a.id)}">
    <h3 id="agent-${esc(a.id)}"><a href="#/agents/${esc(a.id)}">${esc(a.name)}</a></h3>
    <div>${venueBadge(a)}</div>
    <div class="kv">
      <div><span>Status</span>${status(a.status)}${mine ? ' <span class="dim">yours</span>' : ""}</div>
      <div><span>Open positions</span>${a.open_positions}</div>
      <div><span>APR 30d</span>${pct(a.apr_30d_pct)}</div>
      <div><span>APR 90d</span>${pct(a.apr_90d_pct)}</div>
      <div><span>Sharpe 30d</span>${a.sharpe_30d == null ? "–" : a.sharpe_30d.toFixed(2)}</div>
      <div><span>Realised PnL</span>${usd(a.realized_pnl_usd)}</div>
    </div>
    <a class="button" href="#/deploy/${esc(a.id)}" aria-label="Deploy ${esc(a.name)}">Deploy</a>
  </article>`;
}

export function render(view) {
  view.innerHTML = '<h1>Agents</h1><p><a class="button primary" href="#/create">Create an agent</a></p><div id="cards" class="cards"><p class="dim">Loading…</p></div>';
  const el = view.querySelector("#cards");
  async function load() {
    try {
      const { agents } = await read("/api/v3/stats/agents", { limit: 200 });
      el.innerHTML = agents.length ? agents.map(card).join("") : '<p class="empty">No agents yet. Create the first one.</p>';
      document.body.dataset.loaded = "true";
    } catch (e) {
      failed(el, e, load);
    }
  }
  load();
  const timer = setInterval(() => load(), 10000);
  return () => clearInterval(timer);
}
