// run.js -- the Run page (/ui/runs/{id}): what the run is, its event as JSON, tags, status
// history, parent and children, the log (followed while the run lasts), Cancel and Retry.
// The state stays current by polling GET /pipelines/{id} every 2 s until the run ends (the
// watch stream has no id filter).

import * as api from "/ui/api.js";
import { el, replace, stateBadge, timeEl, durationText, tag, current, isEnded, shortId }
  from "/ui/dom.js";

const POLL_MS = 2000;
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

export function mount(main, ctx) {
  const id = ctx.id;
  ctx.title("Run " + shortId(id));
  const ac = new AbortController();
  let p = null, pollTimer = 0;
  let logMode = ""; // "" not read yet, "follow" a stream is open, "done"
  const base = "/pipelines/" + encodeURIComponent(id);

  const h1 = el("h1", { text: "Run " + shortId(id) });
  const head = el("div"), errorBox = el("section", { class: "error-box", hidden: true });
  const actions = el("div", { class: "actions" });
  const actionResult = el("p", { class: "action-result", role: "status" });
  const children = el("div"), params = el("div"), tags = el("div"), history = el("div");
  const follow = el("input", { type: "checkbox", id: "log-follow", checked: true });
  const logStatus = el("p", { class: "muted", id: "log-status", role: "status" });
  const log = el("pre", { class: "log", id: "log", tabindex: "0", "aria-label": "Log" });
  replace(main, h1, head, errorBox, actions, actionResult,
    el("section", { "aria-labelledby": "h-children" },
      el("h2", { id: "h-children", text: "Children" }), children),
    el("section", { "aria-labelledby": "h-params" },
      el("h2", { id: "h-params", text: "Parameters" }), params),
    el("section", { "aria-labelledby": "h-tags" }, el("h2", { id: "h-tags", text: "Tags" }), tags),
    el("section", { "aria-labelledby": "h-history" },
      el("h2", { id: "h-history", text: "Status history" }), history),
    el("section", { "aria-labelledby": "h-log" },
      el("div", { class: "title-row" }, el("h2", { id: "h-log", text: "Log" }),
        el("label", { class: "check" }, follow, " Keep the end in view")),
      logStatus, log));

  function appendLog(text) {
    log.append(text);
    while (log.childNodes.length > LOG_MAX_NODES) log.firstChild.remove();
    if (follow.checked) log.scrollTop = log.scrollHeight;
  }

  // Reads the log: followed as server-sent events while the run lasts (the stream ends with
  // the run), plain text once it ended. A run not started yet has none: tried again when its
  // state changes.
  async function startLog() {
    const state = current(p).state;
    if (logMode) return;
    if (state === "STAGED" || state === "READY") {
      logStatus.textContent = "The run has not started: no log yet.";
      return;
    }
    const live = !isEnded(p);
    logMode = live ? "follow" : "done";
    replace(log);
    logStatus.textContent = live ? "Following the log…" : "Loading the log…";
    try {
      const resp = await api.request(base + "/logs?tail=" + LOG_TAIL + (live ? "&follow=1" : ""),
        { accept: live ? "text/event-stream" : "text/plain", signal: ac.signal });
      if (live) {
        await api.readEvents(resp, (type, data) => {
          if (type === "message") appendLog(data + "\n");
        });
        logMode = "done";
        logStatus.textContent = "End of the log (the run ended).";
      } else {
        appendLog(await resp.text());
        logStatus.textContent = "The last " + LOG_TAIL + " lines at most.";
      }
    } catch (e) {
      if (e.name === "AbortError" || e.status === 401) return;
      logMode = e.status === 404 || e.status === 409 ? "done" : "";
      logStatus.textContent = "No log: " + (e.detail || e.message);
    }
  }

  function render() {
    const st = current(p);
    ctx.title("Run " + p.name + " " + shortId(p.id));
    h1.textContent = "Run " + p.name;
    replace(head, summary(p));
    errorBox.hidden = st.state !== "FAILURE";
    replace(errorBox, st.state === "FAILURE" ? [el("h2", { text: "Why it failed" }),
      el("pre", { class: "error-text", id: "run-error", text: st.error || "(no error text)" })]
      : null);
    replace(actions, isEnded(p)
      ? el("button", { type: "button", id: "retry", text: "Retry", onclick: () => act("retry") })
      : el("button", { type: "button", id: "cancel", text: "Cancel", onclick: () => act("cancel") }));
    replace(params, table("Parameters", ["Name", "Type", "Value"],
      (p.parameters || []).map((x) => [x.name, x.type, paramValue(x)])));
    replace(tags, table("Tags", ["Key", "Value"], (p.tags || []).map((t) => [t.key, t.value])));
    replace(history, timeline(p));
  }

  async function act(what) {
    for (const b of actions.querySelectorAll("button")) b.disabled = true;
    actionResult.textContent = what === "cancel" ? "Cancelling…" : "Retrying…";
    try {
      const { data } = await api.postJSON(base + "/" + what, {}, { signal: ac.signal });
      if (what === "retry") {
        replace(actionResult, "Retried: a new run ",
          el("a", { href: "/ui/runs/" + encodeURIComponent(data.id), id: "retry-link",
            text: data.name + " " + data.id }), " (" + current(data).state + ").");
      } else {
        actionResult.textContent = "Cancelled: the run is " + current(data).state + ".";
        update(data);
      }
    } catch (e) {
      actionResult.textContent = "";
      ctx.fail(e);
    } finally {
      for (const b of actions.querySelectorAll("button")) b.disabled = false;
    }
  }

  function update(next) {
    const changed = !p || JSON.stringify(next.status) !== JSON.stringify(p.status);
    p = next;
    if (changed) {
      render();
      startLog();
    } else {
      const d = head.querySelector("dd:nth-of-type(4)");
      if (d) d.textContent = durationText(p) || "not started";
    }
  }

  async function loadChildren() {
    const { data } = await api.getJSON("/pipelines" + api.query({ parent: id, limit: "50" }),
      { signal: ac.signal });
    const kids = data.filter((c) => c.id !== id);
    replace(children, kids.length ? el("ul", { class: "children" }, kids.map((c) => el("li", {},
      el("a", { href: "/ui/runs/" + encodeURIComponent(c.id), text: c.name + " " + shortId(c.id) }),
      " ", stateBadge(current(c).state)))) : el("p", { class: "muted", text: "None." }));
  }

  async function poll() {
    try {
      const { data } = await api.getJSON(base, { signal: ac.signal });
      update(data);
    } catch (e) {
      if (e.name === "AbortError" || e.status === 401) return;
      ctx.fail(e);
      if (!p) {
        h1.textContent = e.status === 404 ? "No such run" : "Run " + shortId(id);
        return;
      }
    }
    if (!isEnded(p)) pollTimer = setTimeout(poll, POLL_MS);
  }

  poll().then(() => p && loadChildren()).catch(ctx.fail);
  return () => {
    ac.abort();
    clearTimeout(pollTimer);
  };
}
