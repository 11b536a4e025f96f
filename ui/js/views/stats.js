// The statistics page: over a chosen time range, traces and errors over
// time, trace latency p50 / p95, and tokens and cost by model.

import { api } from "../api.js";
import { horizontalBars, stackedTimeBars, timeLines } from "../charts.js";
import { h, replaceChildren } from "../dom.js";
import { formatAxisDuration, formatCost, formatDuration, formatInteger, formatPercent, formatTokens } from "../format.js";
import { errorNotice, isAbort, loading } from "./common.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const RANGES = [
  { value: "24h", label: "Last 24 hours", ms: DAY_MS, bucket: "hour" },
  { value: "7d", label: "Last 7 days", ms: 7 * DAY_MS, bucket: "hour" },
  { value: "30d", label: "Last 30 days", ms: 30 * DAY_MS, bucket: "day" },
  { value: "90d", label: "Last 90 days", ms: 90 * DAY_MS, bucket: "day" },
];

const hourLabel = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayLabel = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullLabel = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** Every bucket start from `since` to now, so that quiet hours show as gaps. */
function bucketStarts(since, bucketMs, now) {
  const starts = [];
  for (let at = since; at <= now; at += bucketMs) starts.push(at);
  return starts;
}

function tile(label, value, key) {
  return h("div", { class: "tile", "data-tile": key }, h("div", { class: "tile-label" }, label), h("div", { class: "tile-value" }, value));
}

function chartCard(key, title, legend, body) {
  return h(
    "section",
    { class: "chart-card", "data-chart": key },
    h("div", { class: "chart-head" }, h("h2", {}, title), legend ? h("ul", { class: "chart-legend" }, legend.map(([className, label]) => h("li", {}, h("span", { class: ["legend-swatch", className] }), label))) : null),
    body,
  );
}

export function render(root, context) {
  root.dataset.view = "stats";
  const rangeValue = RANGES.some((range) => range.value === context.query.get("range")) ? context.query.get("range") : "24h";
  const range = RANGES.find((entry) => entry.value === rangeValue);
  const rangeSelect = h(
    "select",
    { id: "stats-range", "aria-label": "Time range" },
    RANGES.map((entry) => h("option", { value: entry.value, selected: entry.value === rangeValue }, entry.label)),
  );
  rangeSelect.addEventListener("change", () => context.navigate(`/stats?range=${rangeSelect.value}`, { replace: true }));
  const content = h("div", { class: "stats-content" }, loading());
  replaceChildren(
    root,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Statistics"),
      context.project ? h("span", { class: "project-tag" }, context.project) : null,
      h("label", { class: "filter" }, h("span", { class: "filter-label" }, "Range"), rangeSelect),
    ),
    content,
  );

  const bucketMs = range.bucket === "hour" ? HOUR_MS : DAY_MS;
  const now = Date.now();
  const since = Math.floor((now - range.ms) / bucketMs) * bucketMs + bucketMs;
  const common = { since: new Date(since).toISOString(), project: context.project };
  let resize = null;
  let frame = 0;

  (async () => {
    let overall;
    let timeline;
    let models;
    try {
      [overall, timeline, models] = await Promise.all([
        api.stats({ ...common, level: "trace", group_by: "none" }, context.signal),
        api.stats({ ...common, level: "trace", group_by: range.bucket }, context.signal),
        api.stats({ ...common, level: "span", group_by: "model" }, context.signal),
      ]);
    } catch (error) {
      if (isAbort(error)) return;
      replaceChildren(content, errorNotice("The statistics could not be loaded", error));
      context.ready();
      return;
    }
    const total = overall.groups[0] || { count: 0, error_count: 0, error_rate: 0, p50_ms: null, p95_ms: null, total_tokens: 0, cost_usd: null };
    if (total.count === 0) {
      replaceChildren(content, h("section", { class: "notice" }, h("h2", {}, "No traces in this range"), h("p", {}, "Choose a longer range, or send some traces.")));
      context.ready();
      return;
    }
    const byBucket = new Map(timeline.groups.map((group) => [Date.parse(group.key), group]));
    const label = (at) => (range.bucket === "hour" ? (new Date(at).getHours() === 0 ? dayLabel.format(at) : hourLabel.format(at)) : dayLabel.format(at));
    const buckets = bucketStarts(since, bucketMs, now).map((at) => ({ at, group: byBucket.get(at) }));
    const modelRows = models.groups
      .filter((group) => group.key && (group.total_tokens > 0 || group.cost_usd))
      .sort((a, b) => b.total_tokens - a.total_tokens || (b.cost_usd || 0) - (a.cost_usd || 0));
    const unpriced = modelRows.reduce((sum, group) => sum + group.unpriced_count, 0);

    const tiles = h(
      "div",
      { class: "tiles" },
      tile("Traces", formatInteger(total.count), "traces"),
      tile("Errors", `${formatInteger(total.error_count)} (${formatPercent(total.error_rate)})`, "errors"),
      tile("Latency p50", formatDuration(total.p50_ms), "p50"),
      tile("Latency p95", formatDuration(total.p95_ms), "p95"),
      tile("Tokens", formatTokens(total.total_tokens), "tokens"),
      tile("Cost", formatCost(total.cost_usd), "cost"),
    );
    const volumeBody = h("div", { class: "chart" });
    const latencyBody = h("div", { class: "chart" });
    const tokensBody = h("div", { class: "chart" });
    const costBody = h("div", { class: "chart" });
    replaceChildren(
      content,
      tiles,
      h(
        "div",
        { class: "chart-grid-layout" },
        chartCard("traces", "Traces and errors", [["series-traces", "traces"], ["series-errors", "errors"]], volumeBody),
        chartCard("latency", "Trace latency", [["series-p50", "p50"], ["series-p95", "p95"]], latencyBody),
        chartCard("tokens", "Tokens by model", [["series-prompt", "prompt"], ["series-completion", "completion"]], modelRows.length ? tokensBody : h("p", { class: "muted" }, "No model calls in this range.")),
        chartCard(
          "cost",
          "Cost by model",
          null,
          modelRows.length
            ? h("div", {}, costBody, unpriced ? h("p", { class: "hint" }, `${formatInteger(unpriced)} model calls have no price (their model is not in the price table), so the cost is understated.`) : null)
            : h("p", { class: "muted" }, "No model calls in this range."),
        ),
      ),
    );

    function draw() {
      frame = 0;
      const widthOf = (element) => Math.max(240, Math.floor(element.clientWidth));
      replaceChildren(
        volumeBody,
        stackedTimeBars({
          width: widthOf(volumeBody),
          ariaLabel: `Traces and errors per ${range.bucket}`,
          totalClass: "series-traces",
          partClass: "series-errors",
          buckets: buckets.map(({ at, group }) => ({
            label: label(at),
            title: `${fullLabel.format(at)}: ${group ? group.count : 0} traces, ${group ? group.error_count : 0} errors`,
            total: group ? group.count : 0,
            part: group ? group.error_count : 0,
          })),
        }),
      );
      replaceChildren(
        latencyBody,
        timeLines({
          width: widthOf(latencyBody),
          ariaLabel: `Trace latency p50 and p95 per ${range.bucket}`,
          format: formatAxisDuration,
          series: [
            { key: "p50", label: "p50", className: "series-p50" },
            { key: "p95", label: "p95", className: "series-p95" },
          ],
          points: buckets.map(({ at, group }) => ({
            label: label(at),
            title: fullLabel.format(at),
            values: { p50: group ? group.p50_ms : null, p95: group ? group.p95_ms : null },
          })),
        }),
      );
      if (!modelRows.length) return;
      replaceChildren(
        tokensBody,
        horizontalBars({
          width: widthOf(tokensBody),
          ariaLabel: "Tokens by model",
          format: formatTokens,
          rows: modelRows.map((group) => ({
            label: group.key,
            parts: [
              { value: group.prompt_tokens, className: "series-prompt", title: `${group.key}: ${formatInteger(group.prompt_tokens)} prompt tokens` },
              { value: group.completion_tokens, className: "series-completion", title: `${group.key}: ${formatInteger(group.completion_tokens)} completion tokens` },
            ],
          })),
        }),
      );
      replaceChildren(
        costBody,
        horizontalBars({
          width: widthOf(costBody),
          ariaLabel: "Cost by model",
          format: formatCost,
          rows: modelRows.map((group) => ({
            label: group.key,
            parts: [{ value: group.cost_usd || 0, className: "series-cost", title: `${group.key}: ${formatCost(group.cost_usd)}` }],
            // A model missing from the price table has no cost, not a zero one.
            valueLabel: group.cost_usd === null && group.unpriced_count ? "unpriced" : formatCost(group.cost_usd),
          })),
        }),
      );
    }

    draw();
    resize = new ResizeObserver(() => {
      if (!frame) frame = requestAnimationFrame(draw);
    });
    resize.observe(content);
    context.ready();
  })();

  return {
    dispose() {
      if (resize) resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
    },
  };
}
