// The session page: a conversation turn by turn. Each turn is one trace:
// what the user asked, the agent's final answer, and the turn's duration,
// tokens, cost and status, linking to the trace.

import { api } from "../api.js";
import { h, link, replaceChildren } from "../dom.js";
import { formatCost, formatDuration, formatInteger, formatTime } from "../format.js";
import { answerText, foldedText, payloadView, userText } from "../payload.js";
import { errorNotice, facts, isAbort, loading, statusBadge } from "./common.js";

function turnSide(role, label, value, extract) {
  const text = value === null || value === undefined ? null : extract(value);
  return h(
    "div",
    { class: ["turn-message", `role-${role}`], "data-role": role },
    h("div", { class: "message-role" }, label),
    h(
      "div",
      { class: "message-content" },
      text !== null ? foldedText(text, "message-text") : value === null || value === undefined ? h("span", { class: "muted" }, "—") : payloadView(value),
    ),
  );
}

function turn(summary, number) {
  const stats = summary.stats || {};
  return h(
    "li",
    { class: ["turn", summary.status === "error" && "is-error"], "data-trace-id": summary.trace_id },
    h(
      "div",
      { class: "turn-head" },
      h("span", { class: "turn-number" }, `Turn ${number}`),
      summary.start_time ? h("time", { datetime: summary.start_time }, formatTime(summary.start_time)) : null,
      statusBadge(summary.status),
      h("span", { class: "turn-metric", "data-metric": "duration" }, summary.status === "running" ? "running…" : formatDuration(summary.duration_ms)),
      h("span", { class: "turn-metric", "data-metric": "tokens" }, `${formatInteger(stats.total_tokens)} tokens`),
      h("span", { class: "turn-metric", "data-metric": "cost" }, formatCost(stats.cost_usd)),
      link(`/traces/${encodeURIComponent(summary.trace_id)}`, { class: "turn-link" }, summary.name ? `${summary.name} →` : "Open trace →"),
    ),
    turnSide("user", "User", summary.input, userText),
    turnSide("assistant", "Agent", summary.output, answerText),
    summary.error ? h("div", { class: "notice notice-error turn-error" }, summary.error.split("\n")[0]) : null,
  );
}

export function render(root, context) {
  root.dataset.view = "session";
  const sessionId = context.params[0];
  replaceChildren(root, loading());
  (async () => {
    let session;
    try {
      session = await api.session(sessionId, context.signal);
    } catch (error) {
      if (isAbort(error)) return;
      replaceChildren(
        root,
        error.status === 404
          ? h("section", { class: "notice" }, h("h1", {}, "Session not found"), h("p", {}, "No trace belongs to the session ", h("code", {}, sessionId), "."))
          : errorNotice("The session could not be loaded", error),
      );
      context.ready();
      return;
    }
    replaceChildren(
      root,
      h(
        "div",
        { class: "page-head" },
        h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("/sessions", {}, "Sessions"), " / "),
        h("h1", { class: "session-title" }, session.session_id),
      ),
      facts([
        ["Turns", formatInteger(session.trace_count)],
        ["User", session.user_id],
        ["Project", session.project],
        ["First", session.first_time ? formatTime(session.first_time) : null],
        ["Last", session.last_time ? formatTime(session.last_time) : null],
        ["Tokens", `${formatInteger(session.total_tokens)} (${formatInteger(session.prompt_tokens)} prompt + ${formatInteger(session.completion_tokens)} completion)`],
        ["Cost", formatCost(session.cost_usd)],
        ["Errors", session.error_count ? formatInteger(session.error_count) : "none"],
      ]),
      h("ol", { class: "turns", "aria-label": "Turns" }, session.turns.map((summary, index) => turn(summary, index + 1))),
    );
    context.ready();
  })();
}
