// One span in full: what it was, its timing and cost, its input and
// output, its error, events and metadata, and the feedback and
// attachments stored for it.

import { attachmentUrl } from "../api.js";
import { h } from "../dom.js";
import { formatCost, formatDuration, formatInteger, formatPreciseTime } from "../format.js";
import { foldedText, jsonView, payloadView } from "../payload.js";
import { facts, statusBadge, typeChip } from "./common.js";

function section(key, title, ...content) {
  return h("section", { class: "detail-section", "data-section": key }, h("h3", {}, title), ...content);
}

const TOKEN_FIELDS = [
  ["prompt", "Prompt"],
  ["completion", "Completion"],
  ["total", "Total"],
  ["cache_read", "Cache read"],
  ["cache_creation", "Cache creation"],
  ["reasoning", "Reasoning"],
];

function tokenFacts(sent) {
  // Clients often leave the total out; it is prompt + completion by definition.
  const tokens = { ...sent };
  if ((tokens.total === undefined || tokens.total === null) && Number.isFinite(tokens.prompt) && Number.isFinite(tokens.completion)) {
    tokens.total = tokens.prompt + tokens.completion;
  }
  if (!tokens || !TOKEN_FIELDS.some(([key]) => tokens[key] !== undefined && tokens[key] !== null)) return null;
  return h(
    "dl",
    { class: "facts token-facts" },
    TOKEN_FIELDS.filter(([key]) => tokens[key] !== undefined && tokens[key] !== null).map(([key, label]) =>
      h("div", { class: "fact", "data-token": key }, h("dt", {}, label), h("dd", {}, formatInteger(tokens[key]))),
    ),
  );
}

function eventItem(event) {
  if (event === null || typeof event !== "object") return h("li", {}, jsonView(event));
  const { name, time, timestamp, attributes, ...rest } = event;
  const at = time || timestamp;
  const details = attributes && typeof attributes === "object" ? attributes : Object.keys(rest).length ? rest : null;
  return h(
    "li",
    { class: "event" },
    h("div", { class: "event-head" }, h("strong", {}, name || "event"), at ? h("span", { class: "muted" }, ` ${typeof at === "string" ? formatPreciseTime(at) : at}`) : null),
    details ? jsonView(details, 1) : null,
  );
}

function feedbackItem(feedback) {
  return h(
    "li",
    { class: "feedback-item" },
    h(
      "div",
      { class: "feedback-head" },
      h("strong", {}, feedback.key),
      feedback.score !== null && feedback.score !== undefined ? h("span", { class: "feedback-score" }, ` ${feedback.score}`) : null,
      feedback.created_at ? h("span", { class: "muted" }, ` · ${formatPreciseTime(feedback.created_at)}`) : null,
    ),
    feedback.comment ? h("p", { class: "feedback-comment" }, feedback.comment) : null,
    facts([
      ["Value", feedback.value !== null && feedback.value !== undefined ? jsonView(feedback.value, 1) : null],
      ["Correction", feedback.correction !== null && feedback.correction !== undefined ? jsonView(feedback.correction, 1) : null],
      ["Source", feedback.source ? jsonView(feedback.source, 0) : null],
    ]),
  );
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * The detail of `span` (in full, with payloads). `context` holds the
 * trace's time axis start, and its feedback and attachments.
 */
export function spanDetail(span, context) {
  const offset = span.start_time && context.axisStart !== null ? Date.parse(span.start_time) - context.axisStart : null;
  const feedback = context.feedback.filter(
    (item) => item.span_id === span.span_id || (!item.span_id && context.isRoot),
  );
  const attachments = context.attachments.filter((item) => item.span_id === span.span_id);
  const metadata = span.metadata && Object.keys(span.metadata).length ? span.metadata : null;
  const events = Array.isArray(span.events) ? span.events : [];

  return h(
    "article",
    { class: "span-detail", "data-span-id": span.span_id },
    h(
      "header",
      { class: "detail-head" },
      typeChip(span.span_type),
      h("h2", { class: "detail-title" }, span.name || span.span_id),
      statusBadge(span.status),
    ),
    facts([
      ["Span id", h("code", {}, span.span_id)],
      [
        "Parent",
        span.parent_span_id
          ? h("span", {}, h("code", {}, span.parent_span_id), span.is_orphan ? h("span", { class: "badge badge-orphan" }, "missing from this trace") : null)
          : "— (root)",
      ],
      ["Model", span.model ? h("span", { class: "detail-model" }, span.model) : null],
      ["Provider", span.provider ? h("span", { class: "detail-provider" }, span.provider) : null],
      ["Started", span.start_time ? h("time", { datetime: span.start_time }, formatPreciseTime(span.start_time)) : null],
      ["Offset", offset !== null ? `+${formatDuration(offset)} from trace start` : null],
      ["Duration", span.end_time ? formatDuration(span.duration_ms) : span.start_time ? "running" : null],
      ["Ended", span.end_time ? h("time", { datetime: span.end_time }, formatPreciseTime(span.end_time)) : null],
      ["Cost", span.cost_usd !== null && span.cost_usd !== undefined ? h("span", { class: "detail-cost" }, formatCost(span.cost_usd)) : null],
    ]),
    span.tokens_used ? section("tokens", "Tokens", tokenFacts(span.tokens_used)) : null,
    span.error ? section("error", "Error", foldedText(span.error, "error-text")) : null,
    section("input", "Input", payloadView(span.input)),
    section("output", "Output", payloadView(span.output)),
    events.length ? section("events", `Events (${events.length})`, h("ol", { class: "events" }, events.map(eventItem))) : null,
    metadata ? section("metadata", "Metadata", jsonView(metadata, 1)) : null,
    feedback.length ? section("feedback", `Feedback (${feedback.length})`, h("ul", { class: "feedback-list" }, feedback.map(feedbackItem))) : null,
    attachments.length
      ? section(
          "attachments",
          `Attachments (${attachments.length})`,
          h(
            "ul",
            { class: "attachments" },
            attachments.map((item) =>
              h(
                "li",
                {},
                h("a", { href: attachmentUrl(item.trace_id, item.span_id, item.name), download: item.name, class: "attachment-link" }, item.name),
                h("span", { class: "muted" }, ` ${item.content_type}, ${formatBytes(item.size_bytes)}`),
              ),
            ),
          ),
        )
      : null,
  );
}
