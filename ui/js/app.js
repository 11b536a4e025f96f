// The app: routes page paths to views, keeps the header's project picker
// and theme toggle, and turns in-app links into history navigation.
//
// A view is `render(root, context)`; it fills `root`, calls
// `context.ready()` once its content is on the page (main's aria-busy goes
// false, which is also what the browser tests wait for) and may return a
// `dispose()` to stop timers. `context.signal` aborts its requests when the
// user leaves the page.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { render as renderSession } from "./views/session.js";
import { render as renderSessions } from "./views/sessions.js";
import { render as renderStats } from "./views/stats.js";
import { render as renderTrace } from "./views/trace.js";
import { render as renderTraces } from "./views/traces.js";

const routes = [
  { pattern: /^\/$/, section: "traces", view: renderTraces },
  { pattern: /^\/traces$/, section: "traces", view: renderTraces },
  { pattern: /^\/traces\/([^/]+)$/, section: "traces", view: renderTrace },
  { pattern: /^\/sessions$/, section: "sessions", view: renderSessions },
  { pattern: /^\/sessions\/([^/]+)$/, section: "sessions", view: renderSession },
  { pattern: /^\/stats$/, section: "stats", view: renderStats },
];

const PROJECT_KEY = "agentrace.project";
const THEME_KEY = "agentrace.theme";

const main = document.getElementById("view");
const projectSelect = document.getElementById("project-select");
const themeToggle = document.getElementById("theme-toggle");

let current = null;

function readStorage(key) {
  try {
    return localStorage.getItem(key) || "";
  } catch (_) {
    return "";
  }
}

function writeStorage(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch (_) {
    // Without storage the choice lasts until the page is reloaded.
  }
}

let project = readStorage(PROJECT_KEY);

/** Reloads the project picker's list (new projects appear as data arrives). */
async function refreshProjects() {
  let projects;
  try {
    projects = (await api.projects()).items;
  } catch (_) {
    return;
  }
  const names = projects.map((item) => item.project);
  if (project && !names.includes(project)) names.unshift(project);
  replaceChildren(
    projectSelect,
    h("option", { value: "" }, "All projects"),
    names.map((name) => h("option", { value: name }, name)),
  );
  projectSelect.value = project;
}

projectSelect.addEventListener("change", () => {
  project = projectSelect.value;
  writeStorage(PROJECT_KEY, project);
  route();
});

function showTheme() {
  const choice = document.documentElement.dataset.theme || "auto";
  const label = { auto: "automatic", light: "light", dark: "dark" }[choice];
  themeToggle.textContent = { auto: "◐", light: "☀", dark: "☾" }[choice];
  themeToggle.setAttribute("aria-label", `Colour theme: ${label}`);
  themeToggle.title = `Colour theme: ${label} (click to change)`;
}

themeToggle.addEventListener("click", () => {
  const order = ["auto", "dark", "light"];
  const choice = document.documentElement.dataset.theme || "auto";
  const next = order[(order.indexOf(choice) + 1) % order.length];
  if (next === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = next;
  writeStorage(THEME_KEY, next === "auto" ? "" : next);
  showTheme();
  window.dispatchEvent(new Event("agentrace:theme"));
});

/** Goes to an in-app URL (path and query). */
function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  route();
}

function notFound(root, context) {
  root.dataset.view = "not-found";
  replaceChildren(
    root,
    h("section", { class: "notice" }, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/", "data-nav": true }, "Go to the traces"))),
  );
  context.ready();
}

function route() {
  if (current) {
    current.controller.abort();
    if (current.disposable && current.disposable.dispose) current.disposable.dispose();
  }
  const path = location.pathname;
  const match = routes.map((entry) => ({ entry, found: entry.pattern.exec(path) })).find(({ found }) => found);
  const controller = new AbortController();
  main.setAttribute("aria-busy", "true");
  main.replaceChildren();
  delete main.dataset.view;
  for (const anchor of document.querySelectorAll(".nav a")) {
    anchor.classList.toggle("active", Boolean(match) && anchor.dataset.section === match.entry.section);
  }
  const context = {
    params: match ? match.found.slice(1).map(decodeURIComponent) : [],
    query: new URLSearchParams(location.search),
    project,
    signal: controller.signal,
    navigate,
    refreshProjects,
    ready: () => {
      if (!controller.signal.aborted) main.setAttribute("aria-busy", "false");
    },
  };
  const view = match ? match.entry.view : notFound;
  current = { controller, disposable: view(main, context) };
  refreshProjects();
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const anchor = event.target.closest("a[data-nav]");
  if (!anchor || anchor.target || anchor.origin !== location.origin) return;
  event.preventDefault();
  if (anchor.pathname + anchor.search !== location.pathname + location.search) navigate(anchor.pathname + anchor.search);
});

window.addEventListener("popstate", route);

showTheme();
route();
