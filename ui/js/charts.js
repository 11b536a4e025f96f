// SVG charts drawn through the DOM. Colours come from CSS classes (and so
// from the light or dark theme's variables), never from attributes here.

import { s } from "./dom.js";
import { niceStep } from "./format.js";

const HEIGHT = 220;
const MARGIN = { top: 14, right: 14, bottom: 30, left: 56 };

function yTicks(max) {
  const step = niceStep(max || 1, 4);
  const top = Math.max(step, Math.ceil((max || 1) / step) * step);
  const ticks = [];
  for (let value = 0; value <= top + step / 1e6; value += step) ticks.push(value);
  return { top, ticks };
}

function frame(width, ariaLabel) {
  return s("svg", {
    class: "chart-svg",
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: "img",
    "aria-label": ariaLabel,
  });
}

function yAxis(svg, width, plotHeight, ticks, top, format) {
  for (const value of ticks) {
    const y = MARGIN.top + plotHeight - (value / top) * plotHeight;
    svg.append(
      s("line", { class: "chart-grid", x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y }),
      s("text", { class: "chart-text", x: MARGIN.left - 6, y: y + 4, "text-anchor": "end" }, format(value)),
    );
  }
}

function xLabels(svg, items, xOf, plotWidth, label, labelWidth = 56) {
  const every = Math.max(1, Math.ceil((items.length * labelWidth) / Math.max(plotWidth, 1)));
  items.forEach((item, index) => {
    if (index % every !== 0) return;
    svg.append(s("text", { class: "chart-text", x: xOf(index), y: HEIGHT - 10, "text-anchor": "middle" }, label(item)));
  });
}

/**
 * Vertical bars over time buckets, with a second series drawn over the
 * first from the baseline (errors over totals).
 * buckets: [{label, title, total, part}]
 */
export function stackedTimeBars({ width, buckets, totalClass, partClass, ariaLabel, format = String }) {
  const svg = frame(width, ariaLabel);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const { top, ticks } = yTicks(Math.max(0, ...buckets.map((bucket) => bucket.total)));
  yAxis(svg, width, plotHeight, ticks, top, format);
  const slot = plotWidth / Math.max(buckets.length, 1);
  const barWidth = Math.max(1, slot * 0.72);
  buckets.forEach((bucket, index) => {
    const x = MARGIN.left + index * slot + (slot - barWidth) / 2;
    const heightOf = (value) => (value / top) * plotHeight;
    const group = s("g", { class: "chart-bucket", "data-total": bucket.total, "data-part": bucket.part }, s("title", {}, bucket.title));
    if (bucket.total > 0) {
      group.append(s("rect", { class: ["chart-bar", totalClass], x, width: barWidth, y: MARGIN.top + plotHeight - heightOf(bucket.total), height: heightOf(bucket.total) }));
    }
    if (bucket.part > 0) {
      group.append(s("rect", { class: ["chart-bar", partClass], x, width: barWidth, y: MARGIN.top + plotHeight - heightOf(bucket.part), height: heightOf(bucket.part) }));
    }
    // A transparent full-height target keeps the tooltip reachable on empty buckets.
    group.append(s("rect", { class: "chart-hit", x: MARGIN.left + index * slot, width: slot, y: MARGIN.top, height: plotHeight }));
    svg.append(group);
  });
  svg.append(s("line", { class: "chart-axis", x1: MARGIN.left, x2: width - MARGIN.right, y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight }));
  xLabels(svg, buckets, (index) => MARGIN.left + index * slot + slot / 2, plotWidth, (bucket) => bucket.label);
  return svg;
}

/**
 * Lines over time buckets; a null value breaks the line.
 * points: [{label, title, values: {seriesKey: number|null}}]; series: [{key, className}]
 */
export function timeLines({ width, points, series, ariaLabel, format = String }) {
  const svg = frame(width, ariaLabel);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const all = points.flatMap((point) => series.map((line) => point.values[line.key])).filter((value) => value !== null && value !== undefined);
  const { top, ticks } = yTicks(Math.max(0, ...all));
  yAxis(svg, width, plotHeight, ticks, top, format);
  const slot = plotWidth / Math.max(points.length, 1);
  const xOf = (index) => MARGIN.left + index * slot + slot / 2;
  const yOf = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  for (const line of series) {
    let path = "";
    let drawing = false;
    points.forEach((point, index) => {
      const value = point.values[line.key];
      if (value === null || value === undefined) {
        drawing = false;
        return;
      }
      path += `${drawing ? "L" : "M"}${xOf(index).toFixed(1)},${yOf(value).toFixed(1)}`;
      drawing = true;
    });
    if (path) svg.append(s("path", { class: ["chart-line", line.className], d: path, "data-series": line.key }));
    points.forEach((point, index) => {
      const value = point.values[line.key];
      if (value === null || value === undefined) return;
      svg.append(
        s("circle", { class: ["chart-point", line.className], cx: xOf(index), cy: yOf(value), r: 3, "data-series": line.key }, s("title", {}, `${point.title}: ${line.label} ${format(value)}`)),
      );
    });
  }
  svg.append(s("line", { class: "chart-axis", x1: MARGIN.left, x2: width - MARGIN.right, y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight }));
  xLabels(svg, points, xOf, plotWidth, (point) => point.label);
  return svg;
}

/**
 * Horizontal bars, one row per label, each made of stacked parts.
 * rows: [{label, parts: [{value, className, title}], valueLabel?}] (valueLabel
 * replaces the formatted total printed after the bar)
 */
export function horizontalBars({ width, rows, ariaLabel, format = String }) {
  const rowHeight = 26;
  const labelWidth = Math.min(180, Math.max(90, width * 0.32));
  const valueWidth = 70;
  const height = rows.length * rowHeight + 8;
  const svg = s("svg", { class: "chart-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": ariaLabel });
  const plotWidth = Math.max(20, width - labelWidth - valueWidth - 8);
  const max = Math.max(0, ...rows.map((row) => row.parts.reduce((sum, part) => sum + part.value, 0))) || 1;
  rows.forEach((row, index) => {
    const y = 4 + index * rowHeight;
    const total = row.parts.reduce((sum, part) => sum + part.value, 0);
    const group = s("g", { class: "chart-row", "data-label": row.label, "data-total": total });
    const shortLabel = row.label.length > 26 ? `${row.label.slice(0, 25)}…` : row.label;
    group.append(s("text", { class: "chart-text chart-row-label", x: labelWidth - 8, y: y + rowHeight / 2 + 4, "text-anchor": "end" }, s("title", {}, row.label), shortLabel));
    let x = labelWidth;
    for (const part of row.parts) {
      const barWidth = (part.value / max) * plotWidth;
      if (barWidth > 0) {
        group.append(s("rect", { class: ["chart-bar", part.className], x, y: y + 4, width: barWidth, height: rowHeight - 8 }, s("title", {}, part.title)));
      }
      x += barWidth;
    }
    group.append(s("text", { class: "chart-text chart-value", x: x + 6, y: y + rowHeight / 2 + 4 }, row.valueLabel ?? format(total)));
    svg.append(group);
  });
  return svg;
}
