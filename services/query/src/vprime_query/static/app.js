// The web app's shell: hash routes, the sign-in control, and one view at a time (each returns how to stop it).
import { config, session } from "./api.js";
import * as agent from "./agent.js";
import * as agents from "./agents.js";
import * as dashboard from "./dashboard.js";
import { renderCreate, renderDeploy } from "./forms.js";
import { esc, notify, short } from "./ui.js";
import { provider, signIn, signOut, watchAccounts } from "./wallet.js";

const view = document.getElementById("view");
let stop = () => {};

const ROUTES = [
  [/^#?\/?$/, "dashboard", () => dashboard.render(view)],
  [/^#\/agents\/?$/, "agents", () => agents.render(view)],
  [/^#\/agents\/([0-9a-f-]{36})$/, "agents", (id) => agent.render(view, id)],
  [/^#\/create$/, "create", () => renderCreate(view)],
  [/^#\/deploy\/([0-9a-f-]{36})$/, "agents", (id) => renderDeploy(view, id)],
];

function route(event) {
  stop();
  notify("");
  delete document.body.dataset.loaded;
  const hash = location.hash || "#/";
  const found = ROUTES.find(([re]) => re.test(hash));
  document.querySelectorAll("nav a").forEach((a) => a.removeAttribute("aria-current"));
  if (!found) {
    view.innerHTML = `<h1>Not found</h1><p>Nothing lives at <code>${esc(hash)}</code>. <a href="#/">Back to the dashboard</a>.</p>`;
    stop = () => {};
    return;
  }
  const [re, nav, render] = found;
  document.querySelector(`nav a[data-nav="${nav}"]`)?.setAttribute("aria-current", "page");
  try {
    stop = render(...hash.match(re).slice(1)) || (() => {});
  } catch (e) {
    view.innerHTML = `<div class="panel error-panel" role="alert"><h1>Something went wrong</h1><p>${esc(e.message)}</p></div>`;
    stop = () => {};
  }
  const h1 = view.querySelector("h1");
  if (event && h1 && !view.contains(document.activeElement)) {  // a new page: focus its heading (not on first load)
    h1.setAttribute("tabindex", "-1");
    h1.focus({ preventScroll: true });
  }
}

function drawSession() {
  const el = document.getElementById("session");
  const s = session();
  if (s) {
    el.innerHTML = `<span>Signed in as <code title="${esc(s.wallet)}">${esc(short(s.wallet))}</code></span><button type="button" id="sign-out">Sign out</button>`;
    el.querySelector("#sign-out").addEventListener("click", async () => { await signOut(); drawSession(); route(); notify("Signed out", "ok"); });
  } else {
    el.innerHTML = `<span class="dim">read-only</span><button type="button" id="sign-in" class="primary">Sign in with wallet</button>`;
    el.querySelector("#sign-in").addEventListener("click", async (e) => {
      e.target.disabled = true;
      e.target.textContent = "Check your wallet…";
      try {
        const { wallet, warning } = await signIn();
        drawSession();
        route();
        notify(warning ? `Signed in as ${wallet}. ${warning}` : `Signed in as ${wallet}`, warning ? "error" : "ok");
      } catch (err) {
        notify(err.message);
        drawSession();
      }
    });
    if (!provider()) el.querySelector("#sign-in").title = "No wallet in this browser: pages are read-only";
  }
}

config.then((c) => { if (c.unreachable) notify("The web app's configuration did not load: query may be down. Reads will fail until it answers."); });
window.addEventListener("hashchange", route);
window.addEventListener("vprime:session", () => { drawSession(); notify("Your session ended: sign in again to make changes."); });
watchAccounts(() => { drawSession(); route(); notify("The wallet switched accounts: signed out.", "ok"); });
drawSession();
route();
