// Pieces several views share: status badges, span type chips, key-value
// lists, the error notice and loading placeholders.

import { h } from "../dom.js";

export const SPAN_TYPES = [
  "agent",
  "node",
  "chain",
  "model_call",
  "embedding",
  "tool_call",
  "mcp_call",
  "retriever",
  "guardrail",
  "evaluator",
  "custom",
];

export function statusBadge(status) {
  const known = ["running", "success", "error"].includes(status) ? status : "unknown";
  return h(
    "span",
    { class: `status status-${known}`, "data-status": status },
    known === "running" ? h("span", { class: "pulse", "aria-hidden": "true" }) : null,
    status || "unknown",
  );
}

export function typeChip(spanType) {
  const known = SPAN_TYPES.includes(spanType) ? spanType : "custom";
  return h("span", { class: `type-chip type-${known}` }, (spanType || "custom").replace("_", " "));
}

/** A definition list of [label, value] pairs; pairs whose value is empty are left out. */
export function facts(pairs, className = "facts") {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "" && value !== false);
  return h(
    "dl",
    { class: className },
    shown.map(([label, value]) => h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value))),
  );
}

export function errorNotice(title, error) {
  return h(
    "section",
    { class: "notice notice-error", role: "alert" },
    h("h2", {}, title),
    h("p", {}, error && error.message ? error.message : String(error)),
  );
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading" }, text);
}

/** Whether an error only means the page was left while it loaded. */
export function isAbort(error) {
  return error && error.name === "AbortError";
}
