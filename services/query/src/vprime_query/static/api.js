// The two APIs the app talks to: query (this origin) for reads, control (its own origin, CORS) for writes and
// sign-in. Every failure becomes an ApiError with the API's own message and, for a bad body, its per-field details.

const SESSION_KEY = "vprime.session";

export class ApiError extends Error {
  constructor(message, status = 0, details = []) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

export const config = fetch("/web/config.json")
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
  .catch(() => ({ control_url: "", read_access: "public", charts: false, unreachable: true }));

/** The signed-in wallet's session ({token, wallet, expires_at, token_id}) for this tab, or null. */
export function session() {
  let s = null;
  try { s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null"); } catch { s = null; }
  if (s && Date.parse(s.expires_at) <= Date.now()) { sessionStorage.removeItem(SESSION_KEY); return null; }
  return s;
}
export function keepSession(s) { sessionStorage.setItem(SESSION_KEY, JSON.stringify(s)); }
export function dropSession() { sessionStorage.removeItem(SESSION_KEY); }

function qs(params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  return q.toString() ? `?${q}` : "";
}

async function call(url, options, what) {
  let r;
  try {
    r = await fetch(url, options);
  } catch {
    throw new ApiError(`Cannot reach ${what}: the network failed or the service is down. Try again in a moment.`, 0);
  }
  let body = null;
  try { body = await r.json(); } catch { body = null; }
  if (!r.ok || (body && body.success === false)) {
    const message = body && body.error ? body.error : `${what} answered ${r.status} ${r.statusText}`;
    if (r.status === 401 && session()) dropSession(), window.dispatchEvent(new Event("vprime:session"));
    throw new ApiError(message, r.status, (body && body.details) || []);
  }
  return body;
}

/** A read from query. The token goes along only when query restricts reads (READ_ACCESS=token). */
export async function read(path, params) {
  const c = await config;
  const s = session();
  const headers = c.read_access === "token" && s ? { Authorization: `Bearer ${s.token}` } : {};
  return call(`${path}${qs(params)}`, { headers }, "the query API");
}

/** A call to control: writes carry the session token; sign-in calls go without one. */
export async function control(method, path, body, { token } = {}) {
  const c = await config;
  if (!c.control_url) throw new ApiError("The control API's address is unknown: /web/config.json did not answer.", 0);
  const s = session();
  const bearer = token || (s && s.token);
  const headers = { ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) };
  return call(`${c.control_url}${path}`, { method, headers, body: body !== undefined ? JSON.stringify(body) : undefined }, "the control API");
}

/** Server-sent events over fetch (so a token can go along), reconnecting after a failure; `onState` is told
 * "live", "reconnecting" or the error. Returns a function that stops it. */
export function eventStream(path, onEvent, onState) {
  let stopped = false;
  const abort = new AbortController();
  (async () => {
    let delay = 1000;
    while (!stopped) {
      try {
        const c = await config;
        const s = session();
        const headers = c.read_access === "token" && s ? { Authorization: `Bearer ${s.token}` } : {};
        const r = await fetch(path, { headers, signal: abort.signal });
        if (!r.ok) throw new ApiError(`the live feed answered ${r.status}`, r.status);
        onState("live");
        delay = 1000;
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (data) { try { onEvent(JSON.parse(data)); } catch { /* one bad event is skipped */ } }
          }
        }
        if (!stopped) onState("reconnecting");
      } catch (e) {
        if (stopped) return;
        onState(e instanceof ApiError ? e.message : "the live feed is unreachable; reconnecting");
      }
      await new Promise((ok) => setTimeout(ok, delay));
      delay = Math.min(delay * 2, 15000);
    }
  })();
  return () => { stopped = true; abort.abort(); };
}
