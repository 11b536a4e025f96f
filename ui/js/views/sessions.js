// The sessions page: conversations, most recently active first, paged.

import { api } from "../api.js";
import { h, link, replaceChildren } from "../dom.js";
import { formatCost, formatInteger, formatTime, formatTokens } from "../format.js";
import { errorNotice, isAbort, loading } from "./common.js";

const PAGE_SIZE = 50;

function sessionRow(session) {
  return h(
    "tr",
    { class: ["session-row", session.error_count > 0 && "is-error"], "data-session-id": session.session_id },
    h("td", { "data-label": "Session", class: "col-name" }, link(`/sessions/${encodeURIComponent(session.session_id)}`, { class: "mono" }, session.session_id)),
    h("td", { "data-label": "User" }, session.user_id || "—"),
    h("td", { "data-label": "Turns", class: "col-num" }, formatInteger(session.trace_count)),
    h("td", { "data-label": "First" }, session.first_time ? formatTime(session.first_time) : "—"),
    h("td", { "data-label": "Last" }, session.last_time ? formatTime(session.last_time) : "—"),
    h("td", { "data-label": "Errors", class: "col-num" }, formatInteger(session.error_count)),
    h("td", { "data-label": "Tokens", class: "col-num" }, formatTokens(session.total_tokens)),
    h("td", { "data-label": "Cost", class: "col-num" }, formatCost(session.cost_usd)),
  );
}

export function render(root, context) {
  root.dataset.view = "sessions";
  const cursors = [];
  let currentCursor = null;
  let nextCursor = null;
  const body = h("tbody");
  const previousButton = h("button", { type: "button", class: "button", disabled: true }, "← Previous");
  const nextButton = h("button", { type: "button", class: "button", disabled: true }, "Next →");
  const pageLabel = h("span", { class: "page-label" });
  const content = h("div", {}, loading());
  replaceChildren(
    root,
    h("div", { class: "page-head" }, h("h1", {}, "Sessions"), context.project ? h("span", { class: "project-tag" }, context.project) : null),
    content,
  );
  const table = h(
    "div",
    {},
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data-table sessions-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Session", "User", "Turns", "First", "Last", "Errors", "Tokens", "Cost"].map((label, index) =>
              h("th", { scope: "col", class: index === 2 || index >= 5 ? "col-num" : null }, label),
            ),
          ),
        ),
        body,
      ),
    ),
    h("nav", { class: "pager", "aria-label": "Pages" }, previousButton, pageLabel, nextButton),
  );

  async function load(cursor) {
    let page;
    try {
      page = await api.sessions({ project: context.project, limit: PAGE_SIZE, cursor }, context.signal);
    } catch (error) {
      if (isAbort(error)) return;
      replaceChildren(content, errorNotice("The sessions could not be loaded", error));
      context.ready();
      return;
    }
    currentCursor = cursor;
    nextCursor = page.next_cursor;
    if (content.firstChild !== table) replaceChildren(content, table);
    replaceChildren(
      body,
      page.items.length
        ? page.items.map(sessionRow)
        : h("tr", { class: "empty-row" }, h("td", { colspan: 8 }, "No sessions yet. ", link("/", {}, "See how to send traces"), ".")),
    );
    previousButton.disabled = cursors.length === 0;
    nextButton.disabled = !nextCursor;
    pageLabel.textContent = `Page ${cursors.length + 1}`;
    context.ready();
  }

  previousButton.addEventListener("click", () => {
    if (cursors.length) load(cursors.pop());
  });
  nextButton.addEventListener("click", () => {
    if (!nextCursor) return;
    cursors.push(currentCursor);
    load(nextCursor);
  });
  load(null);
}
