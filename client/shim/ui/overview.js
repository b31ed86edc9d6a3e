// overview.js -- the Overview page: GET /stats every 10 s, drawn as two SVG plots made here
// (events/s, and runs finished by state as stacked bars with a pattern per state), with the
// same figures as text, and the READY backlog and runs in progress as numbers.

import * as api from "/ui/api.js";
import { el, replace, localTime, timeEl } from "/ui/dom.js";

const WINDOW = 3600, STEP = 60, REFRESH_MS = 10000;
const W = 720, H = 190, M = { left: 62, right: 12, top: 12, bottom: 40 }; // plot geometry
const ENDED = [
  { key: "success", label: "success", fill: "url(#pat-success)" },
  { key: "failure", label: "failure (hatched)", fill: "url(#pat-failure)" },
  { key: "aborted", label: "aborted (dotted)", fill: "url(#pat-aborted)" },
];

const svg = (tag, attrs, ...kids) => el("svg:" + tag, attrs, ...kids);

// The patterns of the ended states: a colour and a shape each, so they differ without colour.
function patterns() {
  return svg("defs", {},
    svg("pattern", { id: "pat-success", width: 6, height: 6, patternUnits: "userSpaceOnUse" },
      svg("rect", { width: 6, height: 6, class: "fill-success" })),
    svg("pattern", { id: "pat-failure", width: 6, height: 6, patternUnits: "userSpaceOnUse" },
      svg("rect", { width: 6, height: 6, class: "fill-failure" }),
      svg("path", { d: "M0,6 L6,0 M-1,1 L1,-1 M5,7 L7,5", class: "pat-line" })),
    svg("pattern", { id: "pat-aborted", width: 6, height: 6, patternUnits: "userSpaceOnUse" },
      svg("rect", { width: 6, height: 6, class: "fill-aborted" }),
      svg("circle", { cx: 3, cy: 3, r: 1.2, class: "pat-dot" })));
}

// A "nice" top for an axis holding max (1, 2 or 5 times a power of ten).
function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const f of [1, 2, 5, 10]) if (f * p >= max) return f * p;
  return 10 * p;
}

const fmt = (v) => String(Number(v.toPrecision(3))); // 0.05, not 0.050

// The axes, gridlines and labels of a plot of n buckets with a y axis up to top (counts:
// no tick between whole numbers).
function axes(buckets, top, yLabel, counts = false) {
  const x = (i) => M.left + (i * (W - M.left - M.right)) / buckets.length;
  const y = (v) => H - M.bottom - (v / top) * (H - M.top - M.bottom);
  const parts = [];
  for (const v of [0, top / 2, top]) {
    if (counts && !Number.isInteger(v)) continue;
    parts.push(svg("line", { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: M.left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, fmt(v)));
  }
  const every = Math.max(1, Math.round(buckets.length / 4));
  buckets.forEach((b, i) => {
    if (i % every) return;
    const t = new Date(b.start);
    parts.push(svg("line", { x1: x(i), x2: x(i), y1: H - M.bottom, y2: H - M.bottom + 4,
      class: "axis" }), svg("text", { x: x(i), y: H - M.bottom + 16, class: "tick",
      "text-anchor": "middle" }, t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  });
  parts.push(svg("line", { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom,
    class: "axis" }), svg("line", { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom,
    class: "axis" }),
    svg("text", { x: 12, y: (H - M.bottom + M.top) / 2, class: "label", "text-anchor": "middle",
      transform: "rotate(-90 12 " + (H - M.bottom + M.top) / 2 + ")" }, yLabel),
    svg("text", { x: (W + M.left) / 2, y: H - 4, class: "label", "text-anchor": "middle" },
      "time (local), one bucket = " + STEP + " s"));
  return { parts, x, y };
}

function plot(id, title, ...content) {
  return svg("svg", { id, viewBox: "0 0 " + W + " " + H, role: "img", class: "plot",
    "aria-labelledby": id + "-title" }, svg("title", { id: id + "-title" }, title), ...content);
}

// The index of the first bucket in which events were counted (kedro-eventd counts them in
// memory from its start: buckets that ended before it are not known, not zero).
function firstCounted(s) {
  const since = Date.parse(s.events_since);
  const i = s.buckets.findIndex((b) => Date.parse(b.start) + s.step * 1000 > since);
  return i < 0 ? s.buckets.length : i;
}

function eventsPlot(s) {
  const rates = s.buckets.map((b) => b.events / s.step);
  const top = niceMax(Math.max(...rates, 0));
  const { parts, x, y } = axes(s.buckets, top, "events/s");
  const bw = (W - M.left - M.right) / s.buckets.length;
  const first = firstCounted(s);
  const pts = rates.map((r, i) => x(i) + bw / 2 + "," + y(r)).slice(first).join(" ");
  // A marker per counted bucket: a lone bucket (kedro-eventd just started) has no line.
  const marks = rates.map((r, i) => i < first ? null : svg("circle", { cx: x(i) + bw / 2,
    cy: y(r), r: 2.5, class: "mark-events" }, svg("title", {}, localTime(s.buckets[i].start) +
    ": " + fmt(r) + " events/s")));
  return plot("plot-events", "Events per second, per " + s.step + " s bucket, last hour",
    parts, pts ? svg("polyline", { points: pts, class: "line-events" }) : null, marks);
}

function runsPlot(s) {
  const top = niceMax(Math.max(...s.buckets.map((b) => b.success + b.failure + b.aborted), 0));
  const { parts, x, y } = axes(s.buckets, top, "runs finished", true);
  const bw = (W - M.left - M.right) / s.buckets.length;
  const bars = [];
  s.buckets.forEach((b, i) => {
    let base = 0;
    for (const st of ENDED) {
      if (!b[st.key]) continue;
      bars.push(svg("rect", { x: x(i) + 0.5, width: Math.max(bw - 1, 1), y: y(base + b[st.key]),
        height: y(base) - y(base + b[st.key]), fill: st.fill, class: "bar-" + st.key },
        svg("title", {}, localTime(b.start) + ": " + b[st.key] + " " + st.key)));
      base += b[st.key];
    }
  });
  return plot("plot-runs", "Runs finished per " + s.step + " s bucket by state, last hour",
    parts, bars);
}

function legend() {
  return el("ul", { class: "legend" }, ENDED.map((st) => el("li", {},
    svg("svg", { width: 18, height: 12, viewBox: "0 0 18 12", "aria-hidden": "true" },
      svg("rect", { width: 18, height: 12, fill: st.fill, class: "swatch" })),
    " " + st.label)));
}

// The figures as text, so the page is readable without the plots.
function summary(s) {
  const sum = (k) => s.buckets.reduce((a, b) => a + (b[k] || 0), 0);
  const events = sum("events"), ok = sum("success"), bad = sum("failure"), ab = sum("aborted");
  const ended = ok + bad + ab;
  // The average over the time events were counted: from events_since (or the window's start)
  // to now.
  const seconds = Math.max(1, (Date.parse(s.now) - Math.max(Date.parse(s.events_since),
    s.buckets.length ? Date.parse(s.buckets[0].start) : 0)) / 1000);
  const share = ended ? ((100 * bad) / ended).toFixed(1) + " %" : "none finished";
  // events_since is the first bucket's start unless kedro-eventd started later.
  const since = Date.parse(s.events_since);
  const start = s.buckets.length ? Date.parse(s.buckets[0].start) : since;
  return el("div", { class: "summary-text", id: "stats-summary" },
    el("dl", { class: "numbers" },
      el("div", {}, el("dt", { text: "READY backlog" }), el("dd", { id: "n-ready", text: s.ready })),
      el("div", {}, el("dt", { text: "In progress (STARTED)" }),
        el("dd", { id: "n-started", text: s.started })),
      el("div", {}, el("dt", { text: "STAGED" }), el("dd", { id: "n-staged", text: s.staged }))),
    el("p", { id: "events-total" }, "Last hour: " + events + " events (" +
      (events / seconds).toFixed(3) + " events/s on average); runs finished: " + ok +
      " success, " + bad + " failure, " + ab + " aborted (failure share " + share + ")."),
    since > start ? el("p", { class: "muted", id: "events-since" },
      "Events counted since ", timeEl(s.events_since), " (when kedro-eventd started).") : null,
    el("p", { class: "muted" }, "As of ", timeEl(s.now), "; refreshed every 10 s."));
}

export function mount(main, ctx) {
  ctx.title("Overview");
  const ac = new AbortController();
  let timer = 0;
  const body = el("div", { id: "overview" }, el("p", { class: "muted", text: "Loading…" }));
  // The patterns once for the page: every plot and swatch refers to them by id.
  replace(main, el("h1", { text: "Overview" }), body,
    svg("svg", { class: "defs", "aria-hidden": "true", width: 0, height: 0 }, patterns()));

  async function refresh() {
    try {
      const q = api.query({ window: String(WINDOW), step: String(STEP) });
      const { data } = await api.getJSON("/stats" + q, { signal: ac.signal });
      ctx.clearAlert();
      replace(body, summary(data),
        el("section", { "aria-labelledby": "h-events" },
          el("h2", { id: "h-events", text: "Events per second" }), eventsPlot(data)),
        el("section", { "aria-labelledby": "h-runs" },
          el("h2", { id: "h-runs", text: "Runs finished by state" }), runsPlot(data), legend()));
    } catch (e) {
      if (e.name === "AbortError" || e.status === 401) return;
      if (e.status === 404) {
        replace(body, el("p", { class: "notice", id: "stats-missing" },
          "This shim has no statistics endpoint (GET /stats answered 404: " + e.detail +
          "). An older shim: Runs and Send still work."));
      } else {
        ctx.fail(e);
      }
    }
    if (!ac.signal.aborted) timer = setTimeout(refresh, REFRESH_MS);
  }
  refresh();
  return () => {
    ac.abort();
    clearTimeout(timer);
  };
}
