// runs.js -- the Runs page: pipelines newest first, filtered by name/state/parent from the URL,
// paged with the shim's X-Next-Page-Token, kept live by GET /pipelines/watch (server-sent
// events read through fetch) with polling as the fallback.

import * as api from "/ui/api.js";
import { el, replace, stateBadge, timeEl, durationText, tag, current, STATES } from "/ui/dom.js";

const PAGE_SIZE = 25;
const POLL_MS = 3000; // polling period while the watch stream is not available
const STREAM_RETRY_MS = 30000; // how long to poll before trying the stream again

function filterForm(f, ctx) {
  const state = el("select", { id: "f-state", name: "state" },
    el("option", { value: "", text: "any" }),
    STATES.map((s) => el("option", { value: s, text: s, selected: s === f.state })));
  const name = el("input", { id: "f-name", name: "name", value: f.name, autocomplete: "off" });
  const parent = el("input", { id: "f-parent", name: "parent", value: f.parent,
    autocomplete: "off", placeholder: "a run id" });
  const form = el("form", { class: "filters", role: "search", "aria-label": "Filter runs" },
    el("div", { class: "field" }, el("label", { for: "f-name", text: "Name" }), name),
    el("div", { class: "field" }, el("label", { for: "f-state", text: "State" }), state),
    el("div", { class: "field" }, el("label", { for: "f-parent", text: "Parent" }), parent),
    el("div", { class: "field buttons" }, el("button", { type: "submit", text: "Filter" }),
      el("a", { href: "/ui/runs", text: "Clear" })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.navigate("/ui/runs" + api.query({ name: name.value.trim(), state: state.value,
      parent: parent.value.trim() }));
  });
  return form;
}

// The cells of one run's row; each has a data-label for the narrow (card) layout.
function cells(p) {
  const st = current(p);
  const cell = (label, cls, ...content) => el("td", { "data-label": label, class: cls }, ...content);
  return [
    el("th", { scope: "row", "data-label": "Name", class: "name" },
      el("a", { href: "/ui/runs/" + encodeURIComponent(p.id), text: p.name })),
    cell("State", "st", stateBadge(st.state)),
    cell("Event", "ev", el("span", { class: "ev-source", text: tag(p, "event_source") }),
      el("span", { class: "ev-type", text: tag(p, "event_type") }),
      el("span", { class: "ev-id mono", text: tag(p, "event_id") })),
    cell("Created", "created", timeEl(p.created_at)),
    cell("Duration", "dur", durationText(p)),
  ];
}

// The table of runs: rows merged by id, newest first, one page after another.
class RunList {
  constructor(f, signal) {
    this.f = f; // the filters: name, state, parent
    this.signal = signal; // aborts this page's requests
    this.rows = new Map(); // id -> { p, tr }
    this.nextToken = null; // the shim's X-Next-Page-Token for older runs, null at the end
    this.tbody = el("tbody");
    this.empty = el("p", { class: "empty", text: "No runs match.", hidden: true });
    this.older = el("button", { type: "button", id: "older", text: "Older runs", hidden: true });
  }

  table() {
    return el("div", { class: "table-box" },
      el("table", { class: "runs" },
        el("caption", { class: "visually-hidden", text: "Runs, newest first" }),
        el("thead", {}, el("tr", {}, ["Name", "State", "Event source / type / id", "Created",
          "Duration"].map((h) => el("th", { scope: "col", text: h })))),
        this.tbody));
  }

  matches(p) {
    const f = this.f;
    return (!f.name || p.name === f.name) && (!f.state || current(p).state === f.state) &&
      (!f.parent || p.parent === f.parent);
  }

  // Puts tr where p belongs by creation time (newest first). A run older than every loaded
  // one goes last when it comes from a page of the list (listed), else only when no older page
  // remains (a record from the watch about a run an older page will bring).
  place(p, tr, listed) {
    for (const r of this.tbody.children) {
      const other = this.rows.get(r.dataset.id);
      if (other && other.p.created_at < p.created_at) return this.tbody.insertBefore(tr, r);
    }
    if (listed || !this.nextToken) this.tbody.append(tr);
  }

  // Merges one pipeline dict (listed: from a page of the list): updates its row in place, or
  // adds it when it matches.
  upsert(p, listed = false) {
    const had = this.rows.get(p.id);
    if (had) {
      had.p = p;
      had.tr.replaceChildren(...cells(p));
      had.tr.dataset.state = current(p).state || "";
    } else if (this.matches(p)) {
      const tr = el("tr", { "data-id": p.id, "data-state": current(p).state || "" }, cells(p));
      this.rows.set(p.id, { p, tr });
      this.place(p, tr, listed);
      if (!tr.isConnected) this.rows.delete(p.id);
    }
    this.empty.hidden = this.rows.size > 0;
  }

  // Reads the first page (token null: merged into what is shown) or an older one.
  async loadPage(token) {
    const q = api.query({ ...this.f, limit: String(PAGE_SIZE), page_token: token || "" });
    const first = !this.rows.size;
    const { data, headers } = await api.getJSON("/pipelines" + q, { signal: this.signal });
    if (token || first) this.nextToken = headers.get("X-Next-Page-Token");
    for (const p of data) this.upsert(p, true);
    this.older.hidden = !this.nextToken;
    this.empty.hidden = this.rows.size > 0;
  }

  // Durations of running rows grow.
  tick() {
    for (const { p, tr } of this.rows.values()) {
      if (current(p).state === "STARTED") tr.querySelector(".dur").textContent = durationText(p);
    }
  }
}

// Polls the first page every POLL_MS for ms (or until the page is left).
async function pollFor(list, ms, ac, ctx) {
  const until = Date.now() + ms;
  while (!ac.signal.aborted && Date.now() < until) {
    await api.pause(POLL_MS, ac.signal);
    if (ac.signal.aborted) return;
    try {
      await list.loadPage(null);
      ctx.clearAlert();
    } catch (e) {
      if (e.status === 401) return ac.abort();
      ctx.fail(e);
    }
  }
}

// The live loop: the watch stream while it lasts, else polling for a while, then again.
async function live(list, indicator, ac, ctx) {
  while (!ac.signal.aborted) {
    indicator.textContent = "connecting";
    try {
      // Not filtered by state: the watch's state filter means "changes into it", so rows
      // listed in a state would never see themselves leave it.
      const resp = await api.request("/pipelines/watch" +
        api.query({ name: list.f.name, parent: list.f.parent }),
        { accept: "text/event-stream", signal: ac.signal });
      indicator.textContent = "live";
      indicator.title = "updates stream from the shim";
      list.loadPage(null).catch(ctx.fail); // what changed before the stream opened
      let end = "";
      await api.readEvents(resp, (type, data) => {
        if (type === "pipeline") list.upsert(JSON.parse(data));
        else if (type === "end") end = data;
      });
      indicator.title = "the stream ended" + (end ? ": " + end : "") + "; polling";
    } catch (e) {
      if (ac.signal.aborted || e.status === 401) return;
      indicator.title = "no watch stream (" + (e.detail || e.message) + "); polling";
    }
    indicator.textContent = "polling";
    await pollFor(list, STREAM_RETRY_MS, ac, ctx);
  }
}

export function mount(main, ctx) {
  const f = { name: ctx.query.get("name") || "", state: ctx.query.get("state") || "",
    parent: ctx.query.get("parent") || "" };
  const described = Object.entries(f).filter(([, v]) => v).map(([k, v]) => k + "=" + v);
  ctx.title(described.length ? "Runs (" + described.join(", ") + ")" : "Runs");
  const ac = new AbortController();
  const list = new RunList(f, ac.signal);
  const indicator = el("span", { id: "live", class: "live", role: "status", text: "loading" });
  replace(main, el("div", { class: "title-row" }, el("h1", { text: "Runs" }), indicator),
    filterForm(f, ctx), list.table(), list.empty, list.older);
  list.older.addEventListener("click", () => {
    list.older.disabled = true;
    list.loadPage(list.nextToken).catch(ctx.fail).finally(() => { list.older.disabled = false; });
  });
  const ticker = setInterval(() => list.tick(), 1000);
  list.loadPage(null).then(() => ctx.live() && live(list, indicator, ac, ctx)).catch((e) => {
    indicator.textContent = "not loaded";
    ctx.fail(e);
  });
  return () => {
    ac.abort();
    clearInterval(ticker);
  };
}
