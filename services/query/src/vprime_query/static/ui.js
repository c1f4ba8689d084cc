// Small helpers shared by the pages: escaping, formatting, venue names, errors beside fields.

export const VENUES = ["HYPERLIQUID", "OSTIUM", "GMX", "SPOT"];
export const VENUE_NAMES = { HYPERLIQUID: "Hyperliquid", OSTIUM: "Ostium", GMX: "GMX", SPOT: "SPOT", NONE: "no venue", MULTI: "Multi-Venue" };

export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
export const usd = (x) => (x == null ? "–" : (x < 0 ? "-" : "") + "$" + Math.abs(x).toLocaleString("en-US", { maximumFractionDigits: 2 }));
export const pct = (x, digits = 1) => (x == null ? "–" : `${Number(x).toFixed(digits)} %`);
export const num = (x) => (x == null ? "–" : Number(x).toPrecision(6).replace(/\.?0+$/, ""));
export const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "–");
export const short = (address) => (address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "");
export const venueName = (v) => VENUE_NAMES[v] || v;
export const badge = (v) => `<span class="badge" style="background:var(--${esc(v)})">${esc(venueName(v))}</span>`;
export const status = (s) => `<span class="status ${esc(s)}">${esc(s)}</span>`;

/** The Multi-Venue badge naming the venues ("Multi-Venue · Hyperliquid + Ostium"), or the single venue's. */
export function venueBadge(agent) {
  const venues = agent.enabled_venues || [];
  if (agent.venue && agent.venue !== "MULTI") return `${badge(agent.venue)}<span class="dim">fixed venue</span>`;
  if (!venues.length) return `<span class="badge multi">Multi-Venue</span><span class="dim">not deployed yet</span>`;
  return `<span class="badge multi">Multi-Venue</span> ${venues.map(venueName).map(esc).join(" + ")}`;
}

export function $(selector, root = document) { return root.querySelector(selector); }
export function $$(selector, root = document) { return [...root.querySelectorAll(selector)]; }

/** The app-wide message line: errors (role=alert) and confirmations. */
export function notify(message, kind = "error") {
  const el = document.getElementById("notice");
  el.textContent = message;
  el.className = kind === "ok" ? "notice ok" : "notice";
  el.setAttribute("role", kind === "ok" ? "status" : "alert");
  el.hidden = !message;
}

/** A panel saying what failed and offering to try again: a failed load never leaves a blank page. */
export function failed(el, error, retry) {
  el.innerHTML = `<div class="panel error-panel" role="alert"><h2>Could not load</h2><p>${esc(error.message || error)}</p>
    ${retry ? '<button type="button" data-retry>Try again</button>' : ""}</div>`;
  if (retry) el.querySelector("[data-retry]").addEventListener("click", retry);
}

/** Clear a form's errors, then show an ApiError: each detail beside its field (`data-field` names the body path,
 * e.g. `policy.max_leverage`), what has no field at the form's top. */
export function clearErrors(form) {
  $$(".field-error", form).forEach((e) => (e.textContent = ""));
  $$("[aria-invalid]", form).forEach((e) => e.removeAttribute("aria-invalid"));
  const top = $(".form-error", form);
  if (top) top.textContent = "";
}

export function showErrors(form, error) {
  clearErrors(form);
  const unplaced = [];
  for (const d of error.details || []) {
    const path = String(d.field || "").split(".").filter((p) => p !== "body");
    let box = null;
    for (let n = path.length; n > 0 && !box; n--) box = form.querySelector(`[data-field="${CSS.escape(path.slice(0, n).join("."))}"]`);
    if (box) {
      const message = $(".field-error", box);
      message.textContent = message.textContent ? `${message.textContent}; ${d.message}` : d.message;
      const input = $("input, select, textarea", box);
      if (input) input.setAttribute("aria-invalid", "true");
    } else {
      unplaced.push(d.field ? `${path.join(".")}: ${d.message}` : d.message);
    }
  }
  const top = $(".form-error", form);
  const text = error.details && error.details.length ? unplaced.join("; ") : error.message;
  if (top) top.textContent = text;
  const first = form.querySelector("[aria-invalid=true]") || top;
  if (first) first.focus && first.focus();
}

/** A labelled input with room for its error, for `data-field` `name`. */
export function field(name, label, input, hint = "") {
  const id = `f-${name.replace(/\W/g, "-")}`;
  return `<div class="field" data-field="${esc(name)}">
    <label for="${id}">${label}</label>${input.replace("<INPUT", `<input id="${id}" aria-describedby="${id}-err${hint ? ` ${id}-hint` : ""}"`).replace("<SELECT", `<select id="${id}" aria-describedby="${id}-err"`)}
    ${hint ? `<div class="hint" id="${id}-hint">${hint}</div>` : ""}<div class="field-error" id="${id}-err"></div></div>`;
}

export const list = (text) => String(text || "").split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
export const numberOrNull = (value) => (value === "" || value == null ? null : Number(value));
