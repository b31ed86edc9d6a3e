// app.js -- the console's router: which page a /ui/ URL shows, links that change the page
// without a reload, the title, the alert area and the token prompt.

import * as api from "/ui/api.js";
import { el, replace } from "/ui/dom.js";
import * as runs from "/ui/runs.js";
import * as run from "/ui/run.js";
import * as overview from "/ui/overview.js";
import * as send from "/ui/send.js";

const main = document.getElementById("main");
const alertBox = document.getElementById("alert");
const prompt = document.getElementById("token-prompt");
const forget = document.getElementById("forget-token");
let cleanup = null; // the current page's stop function
let generation = 0; // bumped on every mount: a late answer of an old page is dropped

// The page and its parameters for a pathname.
function route(pathname) {
  const path = pathname.replace(/\/+$/, "");
  if (path === "/ui" || path === "/ui/runs") return { page: runs, nav: "runs" };
  const m = /^\/ui\/runs\/([^/]+)$/.exec(path);
  if (m) return { page: run, nav: "runs", id: decodeURIComponent(m[1]) };
  if (path === "/ui/overview") return { page: overview, nav: "overview" };
  if (path === "/ui/send") return { page: send, nav: "send" };
  return { page: null, nav: "" };
}

// Shows text in the alert area (role=alert); "" hides it.
export function showAlert(text) {
  alertBox.hidden = !text;
  replace(alertBox, text ? el("p", { text }) : null);
}

function describe(err) {
  if (err instanceof api.ApiError) {
    return err.status === 0 ? err.detail : "Error " + err.status + ": " + err.detail;
  }
  return String(err && err.message ? err.message : err);
}

// What a page gets: its parameters, and ways to set the title, navigate and report errors.
function context(r, gen) {
  return {
    id: r.id,
    query: new URLSearchParams(location.search),
    live: () => gen === generation,
    title: (t) => { document.title = t + " — kedro-events"; },
    navigate,
    fail: (err) => {
      if (gen !== generation || (err && err.name === "AbortError")) return;
      if (err instanceof api.ApiError && err.status === 401) return; // the prompt says it
      showAlert(describe(err));
    },
    clearAlert: () => showAlert(""),
    describe,
  };
}

function mount() {
  if (cleanup) cleanup();
  cleanup = null;
  generation++;
  showAlert("");
  const r = route(location.pathname);
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === r.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  replace(main);
  prompt.hidden = true;
  forget.hidden = !api.token();
  if (!r.page) {
    document.title = "Not found — kedro-events";
    replace(main, el("h1", { text: "Not found" }),
      el("p", {}, "No page at this address. ", el("a", { href: "/ui/runs", text: "See the runs" })));
    return;
  }
  cleanup = r.page.mount(main, context(r, generation)) || null;
}

// Shows url (a /ui/ path) without reloading the document.
export function navigate(url, replaceState = false) {
  if (replaceState) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  mount();
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// Links to /ui/ pages change the page in place (a plain click only: a new tab stays a tab).
document.addEventListener("click", (e) => {
  const a = e.target.closest("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey ||
      e.altKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/ui/") || url.hash) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", mount);

// The token prompt: shown on a 401; the token is kept for this tab (sessionStorage).
api.setUnauthorizedHandler((detail, hadToken) => {
  if (cleanup) cleanup();
  cleanup = null;
  replace(main);
  document.title = "Token needed — kedro-events";
  prompt.hidden = false;
  document.getElementById("token-detail").textContent = hadToken
    ? "The shim refused the token: " + detail
    : "The shim needs a bearer token (" + detail + ").";
  if (hadToken) showAlert("Error 401: " + detail);
  document.getElementById("token-input").focus();
});

document.getElementById("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("token-input");
  const t = input.value.trim();
  if (!t) return;
  api.setToken(t);
  input.value = "";
  prompt.hidden = true;
  mount();
});

forget.addEventListener("click", () => {
  api.forgetToken();
  mount();
});

mount();
