// Charts with uPlot (vendored from npm by `make install`, served from /vendor/uplot/). Each chart sits in a
// <figure> whose caption says what it shows and whose aria-label gives the latest values in words.
import { VENUES, esc, venueName } from "./ui.js";

const AXIS = { stroke: "#9aa3b8", grid: { stroke: "#2a3040", width: 1 }, ticks: { stroke: "#2a3040" } };
const charts = new Map(); // element -> uPlot, so a refresh updates in place

function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#8aa6ff"; }
const secs = (iso) => Date.parse(iso) / 1000;

function draw(el, options, data, summary) {
  el.closest("figure")?.setAttribute("aria-label", summary);
  if (!window.uPlot) {
    el.innerHTML = `<p class="empty">Charts are unavailable: the charting library is not installed here (make install). ${esc(summary)}</p>`;
    return;
  }
  const width = Math.max(el.clientWidth || 300, 240);
  const old = charts.get(el);
  if (old && old.series.length === options.series.length) {
    old.setData(data);
    const range = options.scales && options.scales.x && options.scales.x.range;
    if (Array.isArray(range)) old.setScale("x", { min: range[0], max: range[1] });  // the window moves on
    return;
  }
  if (old) old.destroy();
  el.innerHTML = "";
  const chart = new window.uPlot({ width, height: 200, ...options, axes: options.axes || [AXIS, AXIS] }, data, el);
  charts.set(el, chart);
  new ResizeObserver(() => chart.setSize({ width: Math.max(el.clientWidth, 240), height: 200 })).observe(el);
}

export function forget(root) {
  for (const [el, chart] of charts) if (!document.body.contains(el) || (root && root.contains(el))) { chart.destroy(); charts.delete(el); }
}

/** Cumulative realised PnL over time. */
export function pnl(el, series) {
  const points = series.points;
  const xs = [secs(series.since ?? points[0]?.t), ...points.map((p) => secs(p.t))];
  const ys = [series.start_usd, ...points.map((p) => p.realized_usd)];
  if (series.until) { xs.push(secs(series.until)); ys.push(ys[ys.length - 1]); }
  const last = ys[ys.length - 1];
  draw(el, { series: [{}, { label: "realised PnL (USD)", stroke: css("--green"), width: 2, fill: "rgba(63,185,80,.12)",
    value: (u, v) => (v == null ? "–" : `$${v.toFixed(2)}`) }] }, [xs, ys],
  `Cumulative realised PnL, now ${last.toFixed(2)} USD, ${points.reduce((n, p) => n + p.closed, 0)} positions closed in the window`);
}

/** Share of routed decisions per venue over time (percent of each bucket, stacked as lines). */
export function venueShare(el, rows, window_) {
  const xs = rows.map((r) => secs(r.t));
  const totals = rows.map((r) => VENUES.concat("NONE").reduce((n, v) => n + (r[v] || 0), 0));
  const venues = VENUES.concat("NONE").filter((v) => rows.some((r) => r[v]));
  const shown = venues.length ? venues : VENUES;
  const data = [xs, ...shown.map((v) => rows.map((r, i) => (totals[i] ? (100 * (r[v] || 0)) / totals[i] : 0)))];
  const all = totals.reduce((a, b) => a + b, 0);
  const words = shown.map((v) => `${venueName(v)} ${all ? ((100 * rows.reduce((n, r) => n + (r[v] || 0), 0)) / all).toFixed(0) : 0} %`).join(", ");
  draw(el, {
    scales: { x: { time: true, range: [secs(window_.since), secs(window_.until)] }, y: { range: [0, 100] } },
    series: [{}, ...shown.map((v) => ({ label: venueName(v), stroke: css(`--${v}`), width: 2, value: (u, x) => (x == null ? "–" : `${x.toFixed(0)} %`) }))],
  }, data, `Venue share of routing decisions over the window: ${words}`);
}

function bars(el, labels, values, label, color, summary) {
  const xs = labels.map((_, i) => i);
  draw(el, {
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
    axes: [{ ...AXIS, values: (u, splits) => splits.map((i) => labels[i] ?? ""), space: 40, rotate: 0 }, AXIS],
    series: [{ value: (u, i) => labels[i] ?? "" }, { label, stroke: color, fill: color, paths: window.uPlot ? window.uPlot.paths.bars({ size: [0.8, 60] }) : undefined, points: { show: false } }],
  }, [xs, values], summary);
}

/** Histogram of routing decision latency. */
export function latency(el, buckets) {
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const top = buckets.reduce((a, b) => (b.count > a.count ? b : a), buckets[0]);
  bars(el, buckets.map((b) => b.bucket.replace(" µs", "")), buckets.map((b) => b.count), "decisions", css("--accent"),
    `Routing decision latency, ${total} decisions; most took ${top ? top.bucket : "–"}`);
}

/** Signals per hour. */
export function signals(el, rows, window_) {
  const xs = rows.map((r) => secs(r.t));
  const total = rows.reduce((n, r) => n + r.n, 0);
  draw(el, {
    scales: { x: { time: true, range: [secs(window_.since) - 1800, secs(window_.until) + 1800] } },
    series: [{}, { label: "signals per hour", stroke: css("--amber"),
      fill: css("--amber"), paths: window.uPlot ? window.uPlot.paths.bars({ size: [0.7, 40] }) : undefined, points: { show: false } }],
  }, [xs, rows.map((r) => r.n)], `Signals over the window: ${total}`);
}
