// The traces page: filters, a sortable, paged table of traces, and a live
// mode that polls for new ones. With no traces at all it shows how to send
// the first one, and keeps checking until one arrives.

import { api } from "../api.js";
import { h, link, replaceChildren } from "../dom.js";
import { formatAgo, formatCost, formatDuration, formatTime, formatTokens } from "../format.js";
import { errorNotice, isAbort, loading, statusBadge } from "./common.js";
import { onboarding } from "./onboarding.js";

const PAGE_SIZE = 50;
const LIVE_INTERVAL_MS = 2000;
const EMPTY_CHECK_INTERVAL_MS = 2000;
const TEXT_FILTER_DELAY_MS = 400;

export const TIME_RANGES = [
  { value: "15m", label: "Last 15 minutes", ms: 15 * 60_000 },
  { value: "1h", label: "Last hour", ms: 3_600_000 },
  { value: "6h", label: "Last 6 hours", ms: 6 * 3_600_000 },
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
  { value: "all", label: "All time", ms: null },
];

const TEXT_FILTERS = [
  { key: "model", label: "Model", placeholder: "gpt-4o" },
  { key: "session_id", label: "Session", placeholder: "session id" },
  { key: "user_id", label: "User", placeholder: "user id" },
  { key: "q", label: "Search", placeholder: "text in input, output or error", type: "search" },
];

const SORTS = {
  time: { desc: "start_time_desc", asc: "start_time_asc" },
  duration: { desc: "duration_desc", asc: "duration_asc" },
};

function readFilters(query) {
  return {
    range: TIME_RANGES.some((range) => range.value === query.get("range")) ? query.get("range") : "all",
    status: query.get("status") || "",
    model: query.get("model") || "",
    session_id: query.get("session_id") || "",
    user_id: query.get("user_id") || "",
    q: query.get("q") || "",
    sort: Object.values(SORTS).some((pair) => Object.values(pair).includes(query.get("sort")))
      ? query.get("sort")
      : "start_time_desc",
    live: query.get("live") === "1",
  };
}

function hasFilters(filters) {
  return Boolean(filters.range !== "all" || filters.status || filters.model || filters.session_id || filters.user_id || filters.q);
}

function apiParams(filters, project, cursor) {
  const range = TIME_RANGES.find((entry) => entry.value === filters.range);
  return {
    project,
    status: filters.status,
    model: filters.model,
    session_id: filters.session_id,
    user_id: filters.user_id,
    q: filters.q,
    since: range && range.ms ? new Date(Date.now() - range.ms).toISOString() : "",
    sort: filters.sort,
    limit: PAGE_SIZE,
    cursor,
  };
}

function filtersUrl(filters) {
  const query = new URLSearchParams();
  if (filters.range !== "all") query.set("range", filters.range);
  for (const key of ["status", "model", "session_id", "user_id", "q"]) {
    if (filters[key]) query.set(key, filters[key]);
  }
  if (filters.sort !== "start_time_desc") query.set("sort", filters.sort);
  if (filters.live) query.set("live", "1");
  const text = query.toString();
  return `${location.pathname}${text ? `?${text}` : ""}`;
}

function traceRow(trace, isNew) {
  const stats = trace.stats || {};
  const running = trace.status === "running";
  const name = trace.name || trace.trace_id;
  const tokensTitle = `${stats.prompt_tokens || 0} prompt + ${stats.completion_tokens || 0} completion`;
  return h(
    "tr",
    {
      class: ["trace-row", running && "is-running", trace.status === "error" && "is-error", isNew && "row-new"],
      "data-trace-id": trace.trace_id,
    },
    h(
      "td",
      { "data-label": "Time", class: "col-time" },
      trace.start_time
        ? h("time", { datetime: trace.start_time, title: `${trace.start_time} (${formatAgo(trace.start_time)})` }, formatTime(trace.start_time))
        : "—",
    ),
    h("td", { "data-label": "Name", class: "col-name" }, link(`/traces/${encodeURIComponent(trace.trace_id)}`, { class: "trace-link" }, name)),
    h(
      "td",
      { "data-label": "Session", class: "col-session" },
      link(`/sessions/${encodeURIComponent(trace.session_id)}`, { class: "mono", title: trace.session_id }, trace.session_id),
    ),
    h("td", { "data-label": "User", class: "col-user" }, trace.user_id || "—"),
    h("td", { "data-label": "Status", class: "col-status" }, statusBadge(trace.status)),
    h("td", { "data-label": "Duration", class: "col-num col-duration" }, running ? "running…" : formatDuration(trace.duration_ms)),
    h(
      "td",
      { "data-label": "Spans", class: "col-num col-spans" },
      String(stats.total_spans ?? "—"),
      stats.error_spans ? h("span", { class: "error-count", title: `${stats.error_spans} failed` }, ` (${stats.error_spans} ✕)`) : null,
    ),
    h("td", { "data-label": "Tokens", class: "col-num col-tokens", title: tokensTitle }, formatTokens(stats.total_tokens)),
    h("td", { "data-label": "Cost", class: "col-num col-cost" }, formatCost(stats.cost_usd)),
  );
}

export function render(root, context) {
  root.dataset.view = "traces";
  const filters = readFilters(context.query);
  // Cursors of the pages before the current one, to page back.
  const cursors = [];
  let currentCursor = null;
  let nextCursor = null;
  let knownIds = null;
  let loadSequence = 0;
  let liveTimer = null;
  let emptyTimer = null;
  let textTimer = null;
  let onboardingShown = false;
  let shownSnapshot = null;

  const tableBody = h("tbody");
  const content = h("div", { class: "traces-content" });
  const previousButton = h("button", { type: "button", class: "button", disabled: true }, "← Previous");
  const nextButton = h("button", { type: "button", class: "button", disabled: true }, "Next →");
  const pageLabel = h("span", { class: "page-label" });
  const liveBox = h("input", { type: "checkbox", id: "live-toggle", checked: filters.live });

  const sortHeaders = Object.entries(SORTS).map(([sortKey, pair]) => {
    const arrow = h("span", { class: "sort-arrow", "aria-hidden": "true" });
    const header = h(
      "th",
      { scope: "col", class: sortKey === "duration" ? "col-num" : null },
      h(
        "button",
        {
          type: "button",
          class: "sort-button",
          "data-sort": sortKey,
          onclick: () => {
            filters.sort = filters.sort === pair.desc ? pair.asc : pair.desc;
            applyFilters();
          },
        },
        sortKey === "time" ? "Time" : "Duration",
        arrow,
      ),
    );
    return { header, arrow, pair };
  });

  function showSort() {
    for (const { header, arrow, pair } of sortHeaders) {
      const direction = filters.sort === pair.desc ? "descending" : filters.sort === pair.asc ? "ascending" : "none";
      header.setAttribute("aria-sort", direction);
      arrow.textContent = direction === "descending" ? " ↓" : direction === "ascending" ? " ↑" : "";
    }
  }

  const table = h(
    "table",
    { class: "data-table traces-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        sortHeaders[0].header,
        h("th", { scope: "col" }, "Name"),
        h("th", { scope: "col" }, "Session"),
        h("th", { scope: "col" }, "User"),
        h("th", { scope: "col" }, "Status"),
        sortHeaders[1].header,
        h("th", { scope: "col", class: "col-num" }, "Spans"),
        h("th", { scope: "col", class: "col-num" }, "Tokens"),
        h("th", { scope: "col", class: "col-num" }, "Cost"),
      ),
    ),
    tableBody,
  );

  /** Shows the list for the current filters, keeping the page (and the focus) as it is. */
  function applyFilters() {
    history.replaceState(null, "", filtersUrl(filters));
    rangeSelect.value = filters.range;
    statusSelect.value = filters.status;
    for (const input of textInputs.map((label) => label.querySelector("input"))) {
      if (input.value.trim() !== filters[input.name]) input.value = filters[input.name];
    }
    clearButton.hidden = !hasFilters(filters);
    showSort();
    cursors.length = 0;
    knownIds = null;
    load(null, { busy: true });
  }

  const rangeSelect = h(
    "select",
    { id: "filter-range", "aria-label": "Time range" },
    TIME_RANGES.map((range) => h("option", { value: range.value, selected: range.value === filters.range }, range.label)),
  );
  rangeSelect.addEventListener("change", () => {
    filters.range = rangeSelect.value;
    applyFilters();
  });
  const statusSelect = h(
    "select",
    { id: "filter-status", "aria-label": "Status" },
    [
      ["", "Any status"],
      ["success", "Success"],
      ["error", "Error"],
      ["running", "Running"],
    ].map(([value, label]) => h("option", { value, selected: value === filters.status }, label)),
  );
  statusSelect.addEventListener("change", () => {
    filters.status = statusSelect.value;
    applyFilters();
  });
  const modelList = h("datalist", { id: "model-options" });
  const textInputs = TEXT_FILTERS.map((filter) => {
    const input = h("input", {
      type: filter.type || "text",
      id: `filter-${filter.key}`,
      name: filter.key,
      value: filters[filter.key],
      placeholder: filter.placeholder,
      "aria-label": filter.label,
      list: filter.key === "model" ? "model-options" : null,
      autocomplete: "off",
    });
    const commit = () => {
      clearTimeout(textTimer);
      if (input.value.trim() === filters[filter.key]) return;
      filters[filter.key] = input.value.trim();
      applyFilters();
    };
    input.addEventListener("change", commit);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") commit();
    });
    input.addEventListener("input", () => {
      clearTimeout(textTimer);
      textTimer = setTimeout(commit, TEXT_FILTER_DELAY_MS);
    });
    return h("label", { class: "filter" }, h("span", { class: "filter-label" }, filter.label), input);
  });
  const clearButton = h(
    "button",
    {
      type: "button",
      class: "button button-quiet",
      id: "clear-filters",
      onclick: () => {
        Object.assign(filters, { range: "all", status: "", model: "", session_id: "", user_id: "", q: "" });
        applyFilters();
      },
    },
    "Clear filters",
  );
  clearButton.hidden = !hasFilters(filters);
  showSort();
  liveBox.addEventListener("change", () => {
    filters.live = liveBox.checked;
    history.replaceState(null, "", filtersUrl(filters));
    setLive(filters.live);
  });

  const filterBar = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter traces", onsubmit: (event) => event.preventDefault() },
    h("label", { class: "filter" }, h("span", { class: "filter-label" }, "Time"), rangeSelect),
    h("label", { class: "filter" }, h("span", { class: "filter-label" }, "Status"), statusSelect),
    textInputs,
    modelList,
    clearButton,
    h(
      "label",
      { class: "live-switch", title: `Show new traces as they arrive (checks every ${LIVE_INTERVAL_MS / 1000} s)` },
      liveBox,
      h("span", {}, "Live"),
      h("span", { class: "live-dot", "aria-hidden": "true" }),
    ),
  );

  previousButton.addEventListener("click", () => {
    if (!cursors.length) return;
    setLive(false);
    const previous = cursors.pop();
    load(previous, { busy: true });
  });
  nextButton.addEventListener("click", () => {
    if (!nextCursor) return;
    setLive(false);
    cursors.push(currentCursor);
    load(nextCursor, { busy: true });
  });

  const listSection = h(
    "div",
    { class: "traces-list" },
    filterBar,
    h("div", { class: "table-wrap" }, table),
    h("nav", { class: "pager", "aria-label": "Pages" }, previousButton, pageLabel, nextButton),
  );

  replaceChildren(
    root,
    h("div", { class: "page-head" }, h("h1", {}, "Traces"), context.project ? h("span", { class: "project-tag" }, context.project) : null),
    content,
  );
  replaceChildren(content, loading());

  function setLive(on) {
    liveBox.checked = on;
    filters.live = on;
    clearInterval(liveTimer);
    liveTimer = null;
    root.classList.toggle("is-live", on);
    if (on) {
      if (cursors.length) {
        cursors.length = 0;
        load(null, {});
      }
      liveTimer = setInterval(() => {
        if (!document.hidden) load(null, { live: true });
      }, LIVE_INTERVAL_MS);
    }
  }

  function showOnboarding() {
    if (!onboardingShown) {
      onboardingShown = true;
      replaceChildren(content, onboarding(location.origin));
    }
    if (!emptyTimer) {
      emptyTimer = setInterval(() => {
        if (!document.hidden) load(null, { live: true });
      }, EMPTY_CHECK_INTERVAL_MS);
    }
  }

  function showList(page, { live }) {
    if (onboardingShown) {
      onboardingShown = false;
      clearInterval(emptyTimer);
      emptyTimer = null;
      context.refreshProjects();
    }
    if (content.firstChild !== listSection) replaceChildren(content, listSection);
    // A live check that found nothing new leaves the rows alone (a click
    // in progress on one of them is not lost).
    const snapshot = JSON.stringify(page.items);
    if (live && snapshot === shownSnapshot) return;
    shownSnapshot = snapshot;
    const firstLoad = knownIds === null;
    const previouslyKnown = knownIds || new Set();
    knownIds = new Set(page.items.map((trace) => trace.trace_id));
    if (page.items.length === 0) {
      replaceChildren(
        tableBody,
        h("tr", { class: "empty-row" }, h("td", { colspan: 9 }, "No traces match these filters. ", h("button", { type: "button", class: "link-button", onclick: () => clearButton.click() }, "Clear filters"))),
      );
    } else {
      replaceChildren(
        tableBody,
        page.items.map((trace) => traceRow(trace, live && !firstLoad && !previouslyKnown.has(trace.trace_id))),
      );
    }
    pageLabel.textContent = `Page ${cursors.length + 1}`;
    previousButton.disabled = cursors.length === 0;
    nextButton.disabled = !nextCursor;
  }

  async function load(cursor, { live = false, busy = false } = {}) {
    const sequence = ++loadSequence;
    if (busy) root.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await api.traces(apiParams(filters, context.project, cursor), context.signal);
    } catch (error) {
      if (isAbort(error) || sequence !== loadSequence) return;
      if (!live) replaceChildren(content, errorNotice("The traces could not be loaded", error));
      context.ready();
      return;
    }
    if (sequence !== loadSequence) return;
    currentCursor = cursor;
    nextCursor = page.next_cursor;
    if (page.items.length === 0 && !cursor && !hasFilters(filters)) showOnboarding();
    else showList(page, { live });
    context.ready();
  }

  loadModelOptions(modelList, context);
  load(null, {});
  setLive(filters.live);

  return {
    dispose() {
      clearInterval(liveTimer);
      clearInterval(emptyTimer);
      clearTimeout(textTimer);
    },
  };
}

/** Offers the models seen so far as suggestions in the model filter. */
async function loadModelOptions(list, context) {
  try {
    const { groups } = await api.stats({ level: "span", group_by: "model", project: context.project }, context.signal);
    replaceChildren(
      list,
      groups.filter((group) => group.key).map((group) => h("option", { value: group.key })),
    );
  } catch (_) {
    // Suggestions are a convenience; the filter works without them.
  }
}
