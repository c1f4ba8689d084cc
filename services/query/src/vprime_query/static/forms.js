// Creating an agent (no venue: Multi-Venue, venues are chosen at deployment) and deploying one (venues in priority
// order with their live pair counts, the policy, and a venue agent wallet per venue with what to do on the venue).
import { ApiError, control, read, session } from "./api.js";
import { $, $$, VENUES, badge, clearErrors, esc, field, list, notify, numberOrNull, showErrors, status, venueName } from "./ui.js";

function needsWallet(view, what) {
  if (session()) return false;
  view.innerHTML = `<h1>${what}</h1><div class="panel"><p>${what} needs a signed-in wallet: the agent or deployment is made for it.</p>
    <p>Use <b>Sign in with wallet</b> at the top. Everything else can be read without one.</p></div>`;
  document.body.dataset.loaded = "true";
  return true;
}

export function renderCreate(view) {
  if (needsWallet(view, "Create an agent")) return () => {};
  const s = session();
  view.innerHTML = `<h1>Create an agent</h1>
  <form id="create-form" class="panel" novalidate>
    ${field("name", "Name", '<INPUT name="name" required maxlength="200" autocomplete="off">')}
    <p class="note" id="venue-note"><b>Venue: Multi-Venue (auto-routing)</b> — you'll select venues during deployment. Each trade goes to the first of your venues that lists the pair and is up.</p>
    ${field("x_account_ids", "X accounts to follow", '<INPUT name="x_account_ids" placeholder="44196397, 1234567890">', "X account ids, separated by commas or spaces")}
    ${field("research_institute_ids", "Research institutes", '<INPUT name="research_institute_ids" placeholder="inst_xyz">', "institute ids, separated by commas or spaces")}
    <fieldset data-field="weights"><legend>Weights</legend><div class="row">
      ${field("weights.x", "X posts", '<INPUT name="weight_x" type="number" step="any" value="0.5">')}
      ${field("weights.research", "Research", '<INPUT name="weight_research" type="number" step="any" value="0.5">')}
    </div><div class="field-error"></div></fieldset>
    ${field("profit_receiver_address", "Profit receiver", `<INPUT name="profit_receiver_address" value="${esc(s.wallet)}" autocomplete="off" spellcheck="false">`, "the address profits are paid to")}
    ${field("signal_threshold", "Signal threshold", '<INPUT name="signal_threshold" type="number" step="any" value="0.6">', "the confidence (0–1) Agent What needs before it signals")}
    <details><summary>Advanced: a fixed venue (legacy)</summary>
      <p class="dim">A fixed-venue agent trades on one venue only, as agents did before multi-venue routing.</p>
      ${field("venue", "Venue", `<SELECT name="venue"><option value="MULTI">Multi-Venue (auto-routing, recommended)</option>${VENUES.map((v) => `<option value="${v}">${venueName(v)} only</option>`).join("")}</select>`)}
    </details>
    <div class="form-error" role="alert" tabindex="-1"></div>
    <p><button class="primary" type="submit">Create agent</button></p>
  </form>`;
  const form = $("#create-form", view);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const f = Object.fromEntries(new FormData(form));
    const body = {
      creator_wallet: session()?.wallet, name: f.name.trim(), x_account_ids: list(f.x_account_ids),
      research_institute_ids: list(f.research_institute_ids),
      weights: { x: numberOrNull(f.weight_x) ?? 0, research: numberOrNull(f.weight_research) ?? 0 },
      profit_receiver_address: f.profit_receiver_address.trim(), signal_threshold: numberOrNull(f.signal_threshold) ?? 0.6,
    };
    if (f.venue && f.venue !== "MULTI") body.venue = f.venue;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { agent } = await control("POST", "/api/v3/agents/create", body);
      notify(`Agent “${agent.name}” created (${agent.venue === "MULTI" ? "Multi-Venue" : venueName(agent.venue)}, ${agent.status}). Now deploy it.`, "ok");
      location.hash = `#/deploy/${agent.id}`;
    } catch (err) {
      showErrors(form, err);
    } finally {
      button.disabled = false;
    }
  });
  document.body.dataset.loaded = "true";
  form.querySelector("input").focus();
  return () => {};
}

// What the user does on each venue once the executor generated its agent wallet, in the venue's own words
// (docs/venues/*.md).
const CONNECT = {
  HYPERLIQUID: (a) => [
    `<b>Approve the API wallet</b> on Hyperliquid: open <i>More → API</i>, paste <span class="addr">${a}</span>, name it and authorize it (the <code>approveAgent</code> action). Approval is per account: it then trades for that account only.`,
    "<b>Fund your account</b> with USDC on Hyperliquid.",
  ],
  OSTIUM: (a) => [
    `<b>Delegate to it</b> from your wallet: call <code>setDelegate(${a})</code> on Ostium's trading contract. One delegate per wallet; <code>removeDelegate()</code> revokes it.`,
    "<b>Approve USDC to the trading storage</b> (not the trading contract: the storage pulls the collateral): <code>approve(&lt;trading storage&gt;, amount)</code> on USDC, from your wallet. A delegate cannot approve for you.",
    "<b>Fund your wallet</b> with USDC.",
  ],
  GMX: (a) => [
    `<b>Add it as your subaccount</b> on GMX's SubaccountRouter (GMX's one-click trading does the same): <code>addSubaccount(${a})</code>, then set its max action count and expiry (<code>setMaxAllowedSubaccountActionCount</code>, <code>setSubaccountExpiresAt</code>).`,
    "<b>Approve GMX's Router</b> (SyntheticsRouter) for your USDC: <code>approve(router, amount)</code> on USDC.",
    "<b>Fund</b> your account with USDC, and send the agent wallet a little ETH: it pays each order's execution fee.",
  ],
  SPOT: (a) => [
    `<b>Fund the agent wallet</b> <span class="addr">${a}</span> with the USDC you want it to trade, and a little ETH for gas. It is a trading wallet the executor holds the key of: long only, no leverage.`,
    "<b>Take funds out</b> whenever you like; to stop trading, stop the deployment first.",
  ],
};

function describe(v) {
  if (v.pairs == null) return v.status === "UNKNOWN" ? "catalog not synced yet" : "no pairs known";
  const classes = Object.entries(v.asset_classes || {}).sort((a, b) => b[1] - a[1]).map(([c]) => c);
  const kind = classes.length === 1 && classes[0] === "crypto" ? "crypto" : classes.filter((c) => c !== "crypto").length ? "synthetics" : classes.join(", ");
  const fee = v.median_taker_fee_bps == null ? "" : v.median_taker_fee_bps <= 5 ? ", low fees" : `, ${v.median_taker_fee_bps.toFixed(1)} bps taker`;
  return `${v.pairs} pairs${fee}, ${kind}${v.long_only ? ", long only" : ""}`;
}

const POLICY = `
  <fieldset><legend>Policy (Agent How)</legend>
    <p class="dim">Every field is optional: an empty policy approves every signal as it comes.</p>
    <div class="row">
      ${field("policy.min_confidence", "Minimum confidence", '<INPUT name="min_confidence" type="number" step="any" placeholder="e.g. 0.6">')}
      ${field("policy.max_position_pct", "Max position (% of equity)", '<INPUT name="max_position_pct" type="number" step="any" placeholder="e.g. 20">')}
      ${field("policy.size_multiplier", "Size multiplier", '<INPUT name="size_multiplier" type="number" step="any" placeholder="e.g. 1">')}
      ${field("policy.max_leverage", "Max leverage", '<INPUT name="max_leverage" type="number" step="any" placeholder="e.g. 3">')}
    </div>
    <div class="row">
      ${field("policy.max_open_positions", "Max open positions", '<INPUT name="max_open_positions" type="number" step="1" placeholder="e.g. 3">')}
      ${field("policy.max_exposure_pct", "Max exposure (% of equity)", '<INPUT name="max_exposure_pct" type="number" step="any" placeholder="e.g. 60">')}
      ${field("policy.cooldown_minutes", "Cooldown per instrument (min)", '<INPUT name="cooldown_minutes" type="number" step="any" placeholder="e.g. 30">')}
    </div>
    <div class="row">
      ${field("policy.daily_loss_limit_pct", "Daily loss limit (%)", '<INPUT name="daily_loss_limit_pct" type="number" step="any" placeholder="e.g. 5">')}
      ${field("policy.max_drawdown_pct", "Max drawdown (%)", '<INPUT name="max_drawdown_pct" type="number" step="any" placeholder="e.g. 15">')}
    </div>
    <div class="field inline" data-field="policy.allowed_sides" role="group" aria-labelledby="sides-l"><span id="sides-l" class="dim">Sides</span>
      <label><input type="checkbox" name="side" value="LONG" checked> Long</label><label><input type="checkbox" name="side" value="SHORT" checked> Short</label>
      <div class="field-error"></div></div>
    <div class="field inline" data-field="policy.allowed_asset_classes" role="group" aria-labelledby="classes-l"><span id="classes-l" class="dim">Asset classes</span>
      ${["crypto", "fx", "commodity", "index", "stocks"].map((c) => `<label><input type="checkbox" name="asset_class" value="${c}" checked> ${c}</label>`).join("")}
      <div class="field-error"></div></div>
    <div class="row">
      ${field("policy.allowed_instruments", "Only these instruments", '<INPUT name="allowed_instruments" placeholder="ETH, BTC (empty: any)">')}
      ${field("policy.denied_instruments", "Never these instruments", '<INPUT name="denied_instruments" placeholder="DOGE">')}
    </div>
    <div class="row" data-field="policy.trading_hours">
      ${field("policy.trading_hours.0.start", "Trading from (UTC)", '<INPUT name="hours_start" type="time">')}
      ${field("policy.trading_hours.0.end", "until (UTC)", '<INPUT name="hours_end" type="time">')}
      <div class="field-error"></div>
    </div>
  </fieldset>`;

function policyOf(f, form) {
  const p = {};
  for (const k of ["min_confidence", "max_position_pct", "size_multiplier", "max_leverage", "max_open_positions", "max_exposure_pct",
    "cooldown_minutes", "daily_loss_limit_pct", "max_drawdown_pct"]) {
    if (f[k] !== "" && f[k] != null) p[k] = Number(f[k]);
  }
  const sides = $$("input[name=side]:checked", form).map((i) => i.value);
  if (sides.length !== 2) p.allowed_sides = sides;
  const classes = $$("input[name=asset_class]:checked", form).map((i) => i.value);
  if (classes.length !== 5) p.allowed_asset_classes = classes;
  if (list(f.allowed_instruments).length) p.allowed_instruments = list(f.allowed_instruments);
  if (list(f.denied_instruments).length) p.denied_instruments = list(f.denied_instruments);
  if (f.hours_start || f.hours_end) p.trading_hours = [{ start: f.hours_start, end: f.hours_end }];
  return p;
}

export function renderDeploy(view, agentId) {
  if (needsWallet(view, "Deploy an agent")) return () => {};
  const s = session();
  view.innerHTML = `<h1>Deploy <span id="deploy-agent-name">an agent</span></h1>
  <form id="deploy-form" novalidate>
    <section class="panel" aria-labelledby="venues-legend">
      <h2 id="venues-legend">Select trading venues</h2>
      <p class="dim" id="venues-help">Tick the venues to trade on and put them in order: the agent tries them in this order, first to last, for every trade. Pair counts and status are live from each venue's catalog.</p>
      <div data-field="enabled_venues"><ol class="venues" id="venue-list" aria-describedby="venues-help"></ol><div class="field-error"></div></div>
    </section>
    <section class="panel">${POLICY}
      <p class="dim">Trades for <code>${esc(s.wallet)}</code>, the signed-in wallet.</p>
      <div class="form-error" role="alert" tabindex="-1"></div>
      <button class="primary" type="submit">Deploy</button>
    </section>
  </form>
  <section class="panel" id="connect" hidden aria-labelledby="connect-h"><h2 id="connect-h">Connect your venue accounts</h2><div id="connect-body"></div></section>`;
  const form = $("#deploy-form", view);
  const ol = $("#venue-list", view);
  let catalogs = {};
  let order = [...VENUES];
  const ticked = new Set(["HYPERLIQUID", "OSTIUM"]);

  function drawVenues(focus) {
    ol.innerHTML = order.map((v, i) => {
      const c = catalogs[v] || { status: "UNKNOWN" };
      return `<li data-venue="${v}" class="${ticked.has(v) ? "" : "off"}">
        <span class="rank" aria-hidden="true">${ticked.has(v) ? order.filter((x) => ticked.has(x)).indexOf(v) + 1 : "–"}</span>
        <label class="name"><input type="checkbox" name="venue" value="${v}" ${ticked.has(v) ? "checked" : ""}> <b>${venueName(v)}</b> <span class="pairs">(${esc(describe(c))})</span></label>
        <span class="venue-status">${status(c.status)}${c.age_s != null ? ` <span class="dim">synced ${Math.round(c.age_s)} s ago</span>` : ""}${c.error ? ` <span class="dim">${esc(c.error)}</span>` : ""}</span>
        <button type="button" data-move="-1" aria-label="Move ${venueName(v)} up" ${i === 0 ? "disabled" : ""}>↑</button>
        <button type="button" data-move="1" aria-label="Move ${venueName(v)} down" ${i === order.length - 1 ? "disabled" : ""}>↓</button></li>`;
    }).join("");
    if (focus) {
      const b = ol.querySelector(`li[data-venue="${focus.venue}"] button[data-move="${focus.move}"]`);
      (b && !b.disabled ? b : ol.querySelector(`li[data-venue="${focus.venue}"] input`)).focus();
    }
  }
  ol.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-move]");
    if (!b) return;
    const v = b.closest("li").dataset.venue;
    const i = order.indexOf(v);
    const j = i + Number(b.dataset.move);
    if (j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    drawVenues({ venue: v, move: b.dataset.move });
    notify("");
  });
  ol.addEventListener("change", (e) => {
    if (e.target.name !== "venue") return;
    e.target.checked ? ticked.add(e.target.value) : ticked.delete(e.target.value);
    drawVenues({ venue: e.target.value, move: "none" });
  });

  async function loadCatalogs() {
    try {
      const { venues } = await read("/api/v3/venues");
      catalogs = Object.fromEntries(venues.map((v) => [v.venue, v]));
      const focused = document.activeElement && ol.contains(document.activeElement) ? document.activeElement : null;
      if (focused) {  // redraw only the changing parts, not the control in use
        for (const li of $$("li", ol)) {
          const c = catalogs[li.dataset.venue];
          li.querySelector(".pairs").textContent = `(${describe(c)})`;
        }
      } else drawVenues();
    } catch (e) {
      notify(`Venue catalogs: ${e.message}`);
    }
  }
  drawVenues();
  loadCatalogs();
  const timer = setInterval(loadCatalogs, 5000);
  const named = (tries) => read(`/api/v3/agents/${agentId}/performance`).then(({ agent }) => {
    const name = view.querySelector("#deploy-agent-name");  // gone if the user moved on meanwhile
    if (name) name.textContent = `“${agent.name}”`;
  }).catch((e) => { if (e.status === 404 && tries > 0) setTimeout(() => named(tries - 1), 1000); });  // just created
  named(30);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const f = Object.fromEntries(new FormData(form));
    const venues = order.filter((v) => ticked.has(v));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (!venues.length) throw new ApiError("Tick at least one venue", 422, [{ field: "body.enabled_venues", message: "tick at least one venue to trade on" }]);
      const { deployment } = await control("POST", "/api/v3/agents/deploy", {
        agent_id: agentId, user_wallet: session()?.wallet, enabled_venues: venues, policy: policyOf(f, form),
      });
      notify(`Deployed on ${deployment.enabled_venues.map(venueName).join(" → ")}. Connect each venue below.`, "ok");
      form.hidden = true;
      connect(deployment);
    } catch (err) {
      showErrors(form, err);
    } finally {
      button.disabled = false;
    }
  });

  function connect(deployment) {
    const box = $("#connect", view);
    box.hidden = false;
    $("#connect-body", view).innerHTML = `<p>Deployment <code>${esc(deployment.id)}</code> trades on ${deployment.enabled_venues.map((v, i) => `${i + 1}. ${badge(v)}`).join(" ")}.
      Until a venue is connected its orders are filled on paper. For each venue, generate an agent wallet (its key stays in the executor) and approve it on the venue.</p>
      ${deployment.enabled_venues.map((v) => `<div class="panel" data-connect="${v}" style="margin-bottom:10px"><h3>${venueName(v)}</h3>
        <button type="button" data-generate="${v}">Generate ${venueName(v)} agent wallet</button><div class="connect-out" aria-live="polite"></div></div>`).join("")}
      <p><a class="button primary" href="#/agents/${esc(agentId)}">Go to the agent's page</a></p>`;
    $("#connect-body", view).addEventListener("click", async (e) => {
      const b = e.target.closest("button[data-generate]");
      if (!b) return;
      const v = b.dataset.generate;
      const out = b.parentElement.querySelector(".connect-out");
      b.disabled = true;
      try {
        const r = await control("POST", `/api/v3/deployments/${deployment.id}/agent-wallets/${v}`);
        b.remove();
        out.innerHTML = `<p>Agent wallet: <span class="addr" data-address="${esc(r.address)}">${esc(r.address)}</span>
          <button type="button" data-copy="${esc(r.address)}">Copy address</button></p><ol class="steps">${CONNECT[v](esc(r.address)).map((x) => `<li>${x}</li>`).join("")}</ol>`;
        out.querySelector("[data-copy]").addEventListener("click", () => navigator.clipboard?.writeText(r.address).then(() => notify("Address copied", "ok")).catch(() => {}));
      } catch (err) {
        out.innerHTML = `<p class="field-error" role="alert">${esc(err.message)}</p>`;
        b.disabled = false;
      }
    });
    $("#connect-h", view).setAttribute("tabindex", "-1");
    $("#connect-h", view).focus();
  }
  document.body.dataset.loaded = "true";
  return () => clearInterval(timer);
}
