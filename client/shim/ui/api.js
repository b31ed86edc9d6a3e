// api.js -- the shim's JSON endpoints: fetch with the bearer token, errors as ApiError with
// the shim's detail, and a reader of server-sent events over fetch (EventSource cannot send
// an Authorization header).

const TOKEN_KEY = "kedro-events.token";
let onUnauthorized = () => {};

export class ApiError extends Error {
  // status: the HTTP status, 0 when the shim could not be reached; detail: the shim's text.
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// fn(detail, hadToken) is called on every 401 answer.
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// The detail of an error answer: its JSON `detail`, else its text, else the status line.
async function detailOf(resp) {
  let text = "";
  try {
    text = await resp.text();
    const j = JSON.parse(text);
    if (j && typeof j.detail === "string") return j.detail;
  } catch (e) {
    /* not JSON: the text itself */
  }
  return text.trim() || "HTTP " + resp.status + " " + resp.statusText;
}

// Sends a request to the shim and answers the Response when its status is 2xx; throws
// ApiError otherwise (a 401 also calls the unauthorized handler). opts: method, body (an
// object: sent as JSON with opts.type or application/json), accept, signal.
export async function request(path, opts = {}) {
  const headers = { Accept: opts.accept || "application/json" };
  const t = token();
  if (t) headers.Authorization = "Bearer " + t;
  let body;
  if (opts.body !== undefined) {
    headers["Content-Type"] = opts.type || "application/json";
    body = JSON.stringify(opts.body);
  }
  let resp;
  try {
    resp = await fetch(path, { method: opts.method || "GET", headers, body, signal: opts.signal,
      cache: "no-store" });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "the shim is unreachable (" + e.message + ")");
  }
  if (resp.ok) return resp;
  const detail = await detailOf(resp);
  if (resp.status === 401) onUnauthorized(detail, Boolean(t));
  throw new ApiError(resp.status, detail);
}

// GET path and its JSON: { data, headers }.
export async function getJSON(path, opts = {}) {
  const resp = await request(path, opts);
  return { data: await resp.json(), headers: resp.headers };
}

// POST body as JSON to path; answers { data, headers }.
export async function postJSON(path, body, opts = {}) {
  const resp = await request(path, { ...opts, method: "POST", body: body ?? {} });
  const text = await resp.text();
  return { data: text ? JSON.parse(text) : null, headers: resp.headers };
}

// A query string of the non-empty members of params ("" when none).
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

// Resolves after ms, or at once when signal aborts.
export function pause(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// Reads a text/event-stream response body and calls onEvent(type, data) for each event
// (type "message" when the event has no `event:` line). Resolves when the stream ends.
export async function readEvents(resp, onEvent) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "", type = "", data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (data.length) onEvent(type || "message", data.join("\n"));
        type = "";
        data = [];
      } else if (line.startsWith(":")) {
        continue; // a comment: keep-alive
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") type = value;
        else if (field === "data") data.push(value);
      }
    }
  }
}
