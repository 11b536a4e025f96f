// The trace page: the trace's summary, its tree beside the waterfall, and
// the selected span's detail. The trace is fetched without payloads (a
// large trace stays small); a span's input and output are fetched when it
// is selected.

import { api } from "../api.js";
import { h, link, replaceChildren } from "../dom.js";
import { formatCost, formatDuration, formatInteger, formatPreciseTime } from "../format.js";
import { errorNotice, facts, isAbort, loading, statusBadge } from "./common.js";
import { spanDetail } from "./span-detail.js";
import { mountWaterfall, timeAxis, typeLegend } from "./waterfall.js";

/** The step that took longest: the longest span with no children. */
function slowestStep(nodes) {
  let slowest = null;
  for (const node of nodes) {
    if (node.childCount || node.span.duration_ms === null || node.span.duration_ms === undefined) continue;
    if (!slowest || node.span.duration_ms > slowest.span.duration_ms) slowest = node;
  }
  return slowest;
}

/** Where the failure started: the first failed span none of whose children failed. */
function failedStep(nodes) {
  const childFailed = new Set();
  for (const node of nodes) {
    if (node.span.status === "error" && node.parent >= 0) childFailed.add(node.parent);
  }
  return nodes.find((node) => node.span.status === "error" && !childFailed.has(node.index)) || null;
}

function spanButton(node, onPick) {
  return h("button", { type: "button", class: "link-button", onclick: () => onPick(node.index) }, node.span.name || node.span.span_id);
}

export function render(root, context) {
  root.dataset.view = "trace";
  const traceId = context.params[0];
  replaceChildren(root, loading());
  let waterfall = null;
  let detailSequence = 0;
  const spanCache = new Map();

  (async () => {
    let data;
    try {
      data = await api.trace(traceId, context.signal);
    } catch (error) {
      if (isAbort(error)) return;
      replaceChildren(
        root,
        error.status === 404
          ? h("section", { class: "notice" }, h("h1", {}, "Trace not found"), h("p", {}, "No trace has the id ", h("code", {}, traceId), "."), h("p", {}, link("/traces", {}, "Back to the traces")))
          : errorNotice("The trace could not be loaded", error),
      );
      context.ready();
      return;
    }
    const { trace, spans, stats, attachments, feedback } = data;
    const axis = timeAxis(spans, trace);
    const detailPanel = h("aside", { class: "detail-panel", "aria-label": "Span detail" });
    const treePanel = h("div", { class: "tree-panel" });
    const highlights = h("div", { class: "highlights" });
    const traceFeedback = feedback.filter((item) => !item.span_id);

    replaceChildren(
      root,
      h(
        "div",
        { class: "page-head trace-head" },
        h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("/traces", {}, "Traces"), " / "),
        h("h1", { class: "trace-title" }, trace.name || trace.trace_id),
        statusBadge(trace.status),
      ),
      facts(
        [
          ["Trace id", h("code", {}, trace.trace_id)],
          ["Session", link(`/sessions/${encodeURIComponent(trace.session_id)}`, { class: "mono" }, trace.session_id)],
          ["User", trace.user_id],
          ["Project", trace.project],
          ["Started", trace.start_time ? h("time", { datetime: trace.start_time }, formatPreciseTime(trace.start_time)) : null],
          ["Duration", trace.status === "running" ? "running…" : formatDuration(trace.duration_ms)],
          ["Spans", `${formatInteger(stats.total_spans)}${stats.error_spans ? ` (${stats.error_spans} failed)` : ""}`],
          ["Tokens", stats.model_calls || stats.total_tokens ? `${formatInteger(stats.total_tokens)} (${formatInteger(stats.prompt_tokens)} prompt + ${formatInteger(stats.completion_tokens)} completion)` : null],
          ["Cost", stats.model_calls || stats.total_tokens ? formatCost(stats.cost_usd) : null],
          ["Tags", trace.tags && trace.tags.length ? trace.tags.join(", ") : null],
        ],
        "facts trace-facts",
      ),
      trace.error ? h("div", { class: "notice notice-error trace-error" }, h("strong", {}, "Error: "), trace.error.split("\n")[0]) : null,
      highlights,
      traceFeedback.length
        ? h(
            "ul",
            { class: "feedback-chips", "aria-label": "Feedback on this trace" },
            traceFeedback.map((item) =>
              h("li", { title: item.comment || "" }, item.key, item.score !== null && item.score !== undefined ? `: ${item.score}` : ""),
            ),
          )
        : null,
      h("div", { class: "trace-layout" }, h("section", { class: "tree-section", "aria-label": "Execution tree and timeline" }, typeLegend(spans), treePanel), detailPanel),
    );

    if (spans.length === 0) {
      replaceChildren(treePanel, h("p", { class: "muted" }, "This trace has no spans yet."));
      replaceChildren(detailPanel, h("p", { class: "muted" }, "Nothing to show."));
      context.ready();
      return;
    }

    async function showDetail(node) {
      const sequence = ++detailSequence;
      const params = new URLSearchParams(location.search);
      params.set("span", node.span.span_id);
      history.replaceState(null, "", `${location.pathname}?${params}`);
      const detailContext = {
        axisStart: axis ? axis.start : null,
        feedback,
        attachments,
        isRoot: node.parent < 0 && node.index === 0,
      };
      let full = spanCache.get(node.index);
      if (!full) {
        detailPanel.setAttribute("aria-busy", "true");
        try {
          full = { ...node.span, ...(await api.span(traceId, node.span.span_id, context.signal)), is_orphan: node.span.is_orphan };
          spanCache.set(node.index, full);
        } catch (error) {
          if (isAbort(error) || sequence !== detailSequence) return;
          replaceChildren(detailPanel, errorNotice("The span could not be loaded", error));
          detailPanel.setAttribute("aria-busy", "false");
          return;
        }
      }
      if (sequence !== detailSequence) return;
      replaceChildren(detailPanel, spanDetail(full, detailContext));
      detailPanel.setAttribute("aria-busy", "false");
    }

    waterfall = mountWaterfall(treePanel, {
      spans,
      trace,
      onSelect: showDetail,
      initialSpanId: context.query.get("span") || spans[0].span_id,
    });

    // The tree is on screen and takes clicks and keys from here on; the
    // mark shows in the browser's performance tools (and the tests read it).
    performance.mark("agentrace:trace-interactive");

    const pick = (index) => {
      waterfall.select(index);
      waterfall.element.focus({ preventScroll: true });
    };
    const slowest = slowestStep(waterfall.nodes);
    const failed = failedStep(waterfall.nodes);
    replaceChildren(
      highlights,
      slowest ? h("span", { class: "highlight highlight-slow" }, "Slowest step: ", spanButton(slowest, pick), ` ${formatDuration(slowest.span.duration_ms)}`) : null,
      failed ? h("span", { class: "highlight highlight-failed" }, "Failed step: ", spanButton(failed, pick), failed.span.error ? ` ${failed.span.error.split("\n")[0].slice(0, 160)}` : "") : null,
    );
    context.ready();
  })();

  return {
    dispose() {
      if (waterfall) waterfall.dispose();
    },
  };
}
