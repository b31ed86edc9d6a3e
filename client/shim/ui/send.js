// send.js -- the Send page: a form posting a test CloudEvent (structured JSON) to POST /event/
// and what it started.

import * as api from "/ui/api.js";
import { el, replace, stateBadge, current, shortId } from "/ui/dom.js";

// A random UUID (crypto.randomUUID where the page is a secure context, else from
// getRandomValues).
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
}

// The data to send: none for an empty box, the parsed JSON when the text parses, else the
// text itself.
function dataOf(text) {
  if (!text.trim()) return { none: true };
  try {
    return { json: true, value: JSON.parse(text) };
  } catch (e) {
    return { json: false, value: text };
  }
}

function field(id, label, input, hint) {
  return el("div", { class: "field" }, el("label", { for: id, text: label }), input,
    hint ? el("p", { class: "hint", id: id + "-hint", text: hint }) : null);
}

export function mount(main, ctx) {
  ctx.title("Send");
  const ac = new AbortController();
  const source = el("input", { id: "s-source", name: "source", required: true,
    value: "example.com", autocomplete: "off" });
  const type = el("input", { id: "s-type", name: "type", required: true,
    value: "com.example.event", autocomplete: "off" });
  const id = el("input", { id: "s-id", name: "id", autocomplete: "off",
    placeholder: "empty: a random UUID", "aria-describedby": "s-id-hint" });
  const data = el("textarea", { id: "s-data", name: "data", rows: "5", spellcheck: "false",
    "aria-describedby": "s-data-hint" });
  data.value = '{\n  "hello": "world"\n}';
  const dataHint = el("p", { class: "hint", id: "s-data-hint", role: "status" });
  const submit = el("button", { type: "submit", text: "Send event" });
  const result = el("section", { id: "send-result", "aria-live": "polite" });
  const form = el("form", { id: "send-form", class: "send" },
    field("s-source", "Source", source), field("s-type", "Type", type),
    field("s-id", "Id", id, "Left empty, a random UUID is used."),
    el("div", { class: "field" }, el("label", { for: "s-data", text: "Data" }), data, dataHint),
    el("div", { class: "buttons" }, submit));

  const describeData = () => {
    const d = dataOf(data.value);
    dataHint.textContent = d.none ? "Empty: the event is sent without data."
      : d.json ? "Valid JSON: sent as JSON data (datacontenttype application/json)."
        : "Not valid JSON: sent as a string (datacontenttype text/plain).";
  };
  data.addEventListener("input", describeData);
  data.addEventListener("change", describeData);
  describeData();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    describeData();
    const d = dataOf(data.value);
    const event = { specversion: "1.0", id: id.value.trim() || uuid(), source: source.value.trim(),
      type: type.value.trim() };
    if (!d.none) {
      event.datacontenttype = d.json ? "application/json" : "text/plain";
      event.data = d.value;
    }
    submit.disabled = true;
    replace(result, el("p", { class: "muted", text: "Sending…" }));
    try {
      const { data: runs, headers } = await api.postJSON("/event/", event,
        { type: "application/cloudevents+json", signal: ac.signal });
      ctx.clearAlert();
      showResult(event, runs || [], headers.get("X-Duplicate") === "true");
    } catch (err) {
      if (err.name === "AbortError") return;
      replace(result, el("p", { class: "error-text", id: "send-error",
        text: "Not sent: " + ctx.describe(err) }));
      ctx.fail(err);
    } finally {
      submit.disabled = false;
    }
  });

  function showResult(event, runs, duplicate) {
    const head = el("h2", { text: "Event " + event.id });
    if (!runs.length) {
      replace(result, head, el("p", { id: "no-match", text: "Accepted, but no pipeline matched " +
        "this source and type: nothing started." }));
      return;
    }
    replace(result, head,
      el("p", { text: duplicate
        ? "A duplicate: an event with this source and id was accepted before; its runs:"
        : "Started " + runs.length + (runs.length === 1 ? " run:" : " runs:") }),
      el("ul", { class: "started" }, runs.map((p) => el("li", {},
        el("a", { href: "/ui/runs/" + encodeURIComponent(p.id), class: "started-run",
          "data-id": p.id, text: p.name + " " + shortId(p.id) }), " ",
        stateBadge(current(p).state)))));
  }

  replace(main, el("h1", { text: "Send a test event" }),
    el("p", { class: "muted", text: "Posts a CloudEvent (structured JSON) to the shim's " +
      "POST /event/, as any client does." }), form, result);
  return () => ac.abort();
}
