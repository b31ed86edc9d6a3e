// run.js -- the Run page (/ui/runs/{id}): what the run is, its event as JSON, tags, status
// history, parent and children, the log (followed while the run lasts), Cancel and Retry.
// The state stays current through GET /pipelines/{id}/watch (server-sent events read through
// fetch) until the run ends; without that stream, by polling GET /pipelines/{id} every 2 s,
// trying the stream again every 30 s.

import * as api from "/ui/api.js";
import { el, replace, stateBadge, timeEl, durationText, tag, current, isEnded, shortId }
  from "/ui/dom.js";

const POLL_MS = 2000; // polling period while the watch stream is not available
const STREAM_RETRY_MS = 30000; // how long to poll before trying the stream again
const LOG_TAIL = 200;
const LOG_MAX_NODES = 5000; // text nodes kept in the log box (older ones dropped)

// The value of a parameter: the `event` parameter parsed and pretty-printed as JSON when it
// parses, any value as text otherwise.
function paramValue(prm) {
  if (prm.name === "event") {
    try {
      return el("pre", { class: "json", id: "event-json",
        text: JSON.stringify(JSON.parse(prm.value), null, 2) });
    } catch (e) {
      return el("pre", { class: "json", id: "event-json", text: prm.value });
    }
  }
  return el("span", { class: "mono", text: prm.value });
}

function table(caption, heads, rows) {
  if (!rows.length) return el("p", { class: "muted", text: "None." });
  return el("div", { class: "table-box" }, el("table", { class: "plain" },
    el("caption", { class: "visually-hidden", text: caption }),
    el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((cells) => el("tr", {},
      cells.map((c, i) => el(i ? "td" : "th", i ? { "data-label": heads[i] }
        : { scope: "row", "data-label": heads[0] }, c)))))));
}

function timeline(p) {
  return el("ol", { class: "timeline", id: "history" }, (p.status || []).map((s) =>
    el("li", { class: "step step-" + String(s.state).toLowerCase() },
      el("div", { class: "step-head" }, stateBadge(s.state), " ", timeEl(s.changed_at)),
      el("ul", { class: "facts" },
        s.runner ? el("li", { text: "runner: " + s.runner }) : null,
        s.exit_code !== null && s.exit_code !== undefined
          ? el("li", { text: "exit code: " + s.exit_code }) : null,
        s.signal ? el("li", { text: "signal: " + s.signal }) : null,
        s.log_path ? el("li", { class: "mono", text: "log: " + s.log_path }) : null),
      s.error ? el("pre", { class: "error-text", text: s.error }) : null)));
}

function summary(p) {
  const item = (k, ...v) => [el("dt", { text: k }), el("dd", {}, ...v)];
  const parent = p.parent && p.parent !== p.id
    ? el("a", { href: "/ui/runs/" + encodeURIComponent(p.parent), class: "mono",
      text: p.parent }) : "none";
  return el("dl", { class: "summary" },
    item("State", stateBadge(current(p).state)),
    item("Id", el("span", { class: "mono", text: p.id })),
    item("Created", timeEl(p.created_at)),
    item("Duration", durationText(p) || "not started"),
    item("Parent", parent),
    item("Event", [tag(p, "event_source"), tag(p, "event_type"), tag(p, "event_id")]
      .filter(Boolean).join(" · ") || "none"),
    p.kedro_graphql_id ? item("kedro-graphql id", p.kedro_graphql_id) : null);
}

// The log box: followed as server-sent events while the run lasts (the stream ends with the
// run), read once as text when it has ended; a run not started yet has none.
class LogView {
  constructor(base, signal) {
    this.base = base; // "/pipelines/{id}"
    this.signal = signal; // aborts the stream when the page is left
    this.mode = ""; // "" not read yet, "follow" a stream is open, "done"
    this.follow = el("input", { type: "checkbox", id: "log-follow", checked: true });
    this.status = el("p", { class: "muted", id: "log-status", role: "status" });
    this.pre = el("pre", { class: "log", id: "log", tabindex: "0", "aria-label": "Log" });
  }

  section() {
    return el("section", { "aria-labelledby": "h-log" },
      el("div", { class: "title-row" }, el("h2", { id: "h-log", text: "Log" }),
        el("label", { class: "check" }, this.follow, " Keep the end in view")),
      this.status, this.pre);
  }

  append(text) {
    this.pre.append(text);
    while (this.pre.childNodes.length > LOG_MAX_NODES) this.pre.firstChild.remove();
    if (this.follow.checked) this.pre.scrollTop = this.pre.scrollHeight;
  }

  // Reads the log of p when it has one and it is not being read already; tried again on the
  // run's next change when it could not be read.
  async start(p) {
    const state = current(p).state;
    if (this.mode) return;
    if (state === "STAGED" || state === "READY") {
      this.status.textContent = "The run has not started: no log yet.";
      return;
    }
    const live = !isEnded(p);
    this.mode = live ? "follow" : "done";
    replace(this.pre);
    this.status.textContent = live ? "Following the log…" : "Loading the log…";
    try {
      const resp = await api.request(this.base + "/logs?tail=" + LOG_TAIL +
        (live ? "&follow=1" : ""), { accept: live ? "text/event-stream" : "text/plain",
        signal: this.signal });
      if (live) {
        await api.readEvents(resp, (type, data) => {
          if (type === "message") this.append(data + "\n");
        });
        this.mode = "done";
        this.status.textContent = "End of the log (the run ended).";
      } else {
        this.append(await resp.text());
        this.status.textContent = "The last " + LOG_TAIL + " lines at most.";
      }
    } catch (e) {
      if (e.name === "AbortError" || e.status === 401) return;
      this.mode = e.status === 404 || e.status === 409 ? "done" : "";
      this.status.textContent = "No log: " + (e.detail || e.message);
    }
  }
}

function section(id, title, body) {
  return el("section", { "aria-labelledby": id }, el("h2", { id, text: title }), body);
}

class RunPage {
  constructor(main, ctx) {
    this.ctx = ctx;
    this.id = ctx.id;
    this.p = null; // the pipeline dict last read
    this.ticker = setInterval(() => this.tick(), 1000); // a running run's duration grows
    this.ac = new AbortController();
    this.base = "/pipelines/" + encodeURIComponent(this.id);
    this.log = new LogView(this.base, this.ac.signal);
    this.h1 = el("h1", { text: "Run " + shortId(this.id) });
    this.indicator = el("span", { id: "live", class: "live", role: "status", text: "loading" });
    this.head = el("div");
    this.errorBox = el("section", { class: "error-box", hidden: true });
    this.actions = el("div", { class: "actions" });
    this.actionResult = el("p", { class: "action-result", role: "status" });
    this.children = el("div");
    this.params = el("div");
    this.tags = el("div");
    this.history = el("div");
    ctx.title("Run " + shortId(this.id));
    replace(main, el("div", { class: "title-row" }, this.h1, this.indicator), this.head, this.errorBox, this.actions, this.actionResult,
      section("h-children", "Children", this.children),
      section("h-params", "Parameters", this.params), section("h-tags", "Tags", this.tags),
      section("h-history", "Status history", this.history), this.log.section());
  }

  render() {
    const p = this.p, st = current(p);
    this.ctx.title("Run " + p.name + " " + shortId(p.id));
    this.h1.textContent = "Run " + p.name;
    replace(this.head, summary(p));
    this.errorBox.hidden = st.state !== "FAILURE";
    replace(this.errorBox, st.state === "FAILURE" ? [el("h2", { text: "Why it failed" }),
      el("pre", { class: "error-text", id: "run-error", text: st.error || "(no error text)" })]
      : null);
    replace(this.actions, isEnded(p)
      ? el("button", { type: "button", id: "retry", text: "Retry",
        onclick: () => this.act("retry") })
      : el("button", { type: "button", id: "cancel", text: "Cancel",
        onclick: () => this.act("cancel") }));
    replace(this.params, table("Parameters", ["Name", "Type", "Value"],
      (p.parameters || []).map((x) => [x.name, x.type, paramValue(x)])));
    replace(this.tags, table("Tags", ["Key", "Value"],
      (p.tags || []).map((t) => [t.key, t.value])));
    replace(this.history, timeline(p));
  }

  // Cancel or Retry; Retry's answer is the new run, linked.
  async act(what) {
    const buttons = this.actions.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    this.actionResult.textContent = what === "cancel" ? "Cancelling…" : "Retrying…";
    try {
      const { data } = await api.postJSON(this.base + "/" + what, {}, { signal: this.ac.signal });
      if (what === "retry") {
        replace(this.actionResult, "Retried: a new run ",
          el("a", { href: "/ui/runs/" + encodeURIComponent(data.id), id: "retry-link",
            text: data.name + " " + data.id }), " (" + current(data).state + ").");
      } else {
        this.actionResult.textContent = "Cancelled: the run is " + current(data).state + ".";
        this.update(data);
      }
    } catch (e) {
      this.actionResult.textContent = "";
      this.ctx.fail(e);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  update(next) {
    const changed = !this.p || JSON.stringify(next.status) !== JSON.stringify(this.p.status);
    this.p = next;
    if (changed) {
      this.render();
      this.log.start(next);
    }
  }

  tick() {
    const d = this.p && this.head.querySelector("dd:nth-of-type(4)");
    if (d) d.textContent = durationText(this.p) || "not started";
  }

  async loadChildren() {
    const { data, headers } = await api.getJSON("/pipelines" +
      api.query({ parent: this.id, limit: "50" }),
      { signal: this.ac.signal });
    const kids = data.filter((c) => c.id !== this.id);
    const all = headers.get("X-Next-Page-Token")
      ? el("p", {}, el("a", { href: "/ui/runs" + api.query({ parent: this.id }), id: "all-children",
        text: "All children of this run" }), " (the first " + kids.length + " are listed).")
      : null;
    replace(this.children, kids.length ? [el("ul", { class: "children" }, kids.map((c) =>
      el("li", {}, el("a", { href: "/ui/runs/" + encodeURIComponent(c.id),
        text: c.name + " " + shortId(c.id) }), " ", stateBadge(current(c).state)))), all]
      : el("p", { class: "muted", text: "None." }));
  }

  // Reads the run; false when it cannot be read (the error is shown).
  async load() {
    try {
      const { data } = await api.getJSON(this.base, { signal: this.ac.signal });
      this.update(data);
      return true;
    } catch (e) {
      if (e.name === "AbortError" || e.status === 401) return false;
      this.ctx.fail(e);
      if (!this.p) this.h1.textContent = e.status === 404 ? "No such run" : "Run " + shortId(this.id);
      return false;
    }
  }

  // Follows the run until it has ended: its watch stream while that lasts, else polling for
  // STREAM_RETRY_MS, then the stream again.
  async follow() {
    const signal = this.ac.signal;
    while (!signal.aborted && !isEnded(this.p)) {
      this.indicator.textContent = "connecting";
      try {
        const resp = await api.request(this.base + "/watch",
          { accept: "text/event-stream", signal });
        this.indicator.textContent = "live";
        await api.readEvents(resp, (type, data) => {
          if (type === "pipeline") this.update(JSON.parse(data));
        });
        if (isEnded(this.p)) break;
        this.indicator.title = "the stream ended; polling";
      } catch (e) {
        if (signal.aborted || e.status === 401) return;
        this.indicator.title = "no watch stream (" + (e.detail || e.message) + "); polling";
      }
      this.indicator.textContent = "polling";
      const until = Date.now() + STREAM_RETRY_MS;
      while (!signal.aborted && !isEnded(this.p) && Date.now() < until) {
        await api.pause(POLL_MS, signal);
        if (!signal.aborted) await this.load();
      }
    }
    this.indicator.textContent = isEnded(this.p) ? "ended" : this.indicator.textContent;
  }

  stop() {
    this.ac.abort();
    clearInterval(this.ticker);
  }
}

export function mount(main, ctx) {
  const page = new RunPage(main, ctx);
  page.load().then((ok) => {
    if (!ok) return;
    page.loadChildren().catch(ctx.fail);
    return page.follow();
  }).catch(ctx.fail);
  return () => page.stop();
}
