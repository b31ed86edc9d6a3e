// dom.js -- small DOM helpers: elements from data (never HTML text), times, states.

// Creates <tag> with attrs and children (strings become text nodes; null/false are skipped).
// attrs: "class", "text", "on<event>" (a function), properties like "hidden", others as
// attributes. Data always reaches the page as text.
export function el(tag, attrs, ...children) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "hidden" || k === "disabled" || k === "checked" || k === "value") node[k] = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Removes every child of node, then appends children.
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// The local date and time of an ISO 8601 string ("" for none).
export function localTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

// A <time> showing the local time, with the ISO time as its title and datetime.
export function timeEl(iso) {
  if (!iso) return el("span", { class: "muted", text: "—" });
  return el("time", { datetime: iso, title: iso, text: localTime(iso) });
}

// "1 h 02 min", "3 min 04 s", "1.5 s" for a number of milliseconds.
export function formatDuration(ms) {
  if (ms < 0 || !isFinite(ms)) return "";
  const s = ms / 1000;
  if (s < 10) return s.toFixed(1) + " s";
  const total = Math.round(s);
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), sec = total % 60;
  if (h > 0) return h + " h " + String(m).padStart(2, "0") + " min";
  if (m > 0) return m + " min " + String(sec).padStart(2, "0") + " s";
  return sec + " s";
}

export const ENDED = ["SUCCESS", "FAILURE", "ABORTED"];
export const STATES = ["STAGED", "READY", "STARTED", "SUCCESS", "FAILURE", "ABORTED"];
// A shape per state, so a state is readable without its colour (the text is always there).
const SHAPES = { STAGED: "◌", READY: "○", STARTED: "◔", SUCCESS: "✔", FAILURE: "✖", ABORTED: "■" };

// The last status entry of a pipeline dict (its current state), or {}.
export function current(p) {
  const s = (p && p.status) || [];
  return s.length ? s[s.length - 1] : {};
}

export function isEnded(p) {
  return ENDED.includes(current(p).state);
}

// The state as shape + text, coloured by class.
export function stateBadge(state) {
  const s = state || "UNKNOWN";
  return el("span", { class: "state state-" + s.toLowerCase() },
    el("span", { class: "shape", "aria-hidden": "true", text: SHAPES[s] || "?" }), " ", s);
}

// When the run started and finished: the first STARTED entry's started_at, the last entry's
// finished_at.
export function runTimes(p) {
  let started = null, finished = null;
  for (const s of p.status || []) {
    if (!started && s.started_at) started = s.started_at;
    if (s.finished_at) finished = s.finished_at;
  }
  return { started, finished };
}

// The run's duration as text: started→finished, or started→now while it runs; "" before.
export function durationText(p) {
  const { started, finished } = runTimes(p);
  if (!started) return "";
  const end = finished ? Date.parse(finished) : isEnded(p) ? NaN : Date.now();
  const text = formatDuration(end - Date.parse(started));
  return finished || !text ? text : text + " so far";
}

// The value of tag key in a pipeline dict, or "".
export function tag(p, key) {
  for (const t of p.tags || []) if (t.key === key) return t.value;
  return "";
}

// "01a236c1…": the start of an id, for titles.
export function shortId(id) {
  return id && id.length > 8 ? id.slice(0, 8) + "…" : id || "";
}
