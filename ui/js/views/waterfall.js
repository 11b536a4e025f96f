// The execution tree beside a waterfall timeline, on one time axis.
//
// The API sends a trace's spans in tree pre-order with each span's depth,
// so a subtree is the run of rows after a span that are deeper than it:
// collapsing skips that run, and no tree needs rebuilding. Only the rows
// inside the scrolled viewport (plus a margin) are in the DOM, so a trace
// of thousands of spans costs what a screenful does.

import { h, replaceChildren } from "../dom.js";
import { formatAxisDuration, formatDuration, niceStep } from "../format.js";
import { SPAN_TYPES } from "./common.js";

export const ROW_HEIGHT = 28;
const OVERSCAN_ROWS = 12;
const INDENT_PX = 14;
const MAX_INDENT_LEVELS = 24;

/** Tree structure over pre-ordered spans: parent index, child count, subtree end. */
export function buildTree(spans) {
  const nodes = spans.map((span, index) => ({
    span,
    index,
    depth: Number.isInteger(span.depth) ? span.depth : 0,
    parent: -1,
    childCount: 0,
    subtreeEnd: spans.length,
  }));
  const open = [];
  for (const node of nodes) {
    while (open.length && open[open.length - 1].depth >= node.depth) open.pop().subtreeEnd = node.index;
    if (open.length) {
      const parent = open[open.length - 1];
      node.parent = parent.index;
      parent.childCount += 1;
    }
    open.push(node);
  }
  return nodes;
}

/** The trace's time axis: from the earliest span start to the latest end (running spans: now). */
export function timeAxis(spans, trace, now = Date.now()) {
  let start = Infinity;
  let end = -Infinity;
  for (const span of spans) {
    if (!span.start_time) continue;
    const spanStart = Date.parse(span.start_time);
    start = Math.min(start, spanStart);
    end = Math.max(end, span.end_time ? Date.parse(span.end_time) : Math.max(spanStart, now));
  }
  if (trace && trace.start_time) start = Math.min(start, Date.parse(trace.start_time));
  if (trace && trace.end_time) end = Math.max(end, Date.parse(trace.end_time));
  if (!Number.isFinite(start)) return null;
  return { start, end, total: Math.max(end - start, 1) };
}

function spanType(span) {
  return SPAN_TYPES.includes(span.span_type) ? span.span_type : "custom";
}

/**
 * Mounts the tree and waterfall into `container`.
 * `onSelect(node)` is called when the selection changes.
 * Returns { select(index), selected(), element, dispose() }.
 */
export function mountWaterfall(container, { spans, trace, onSelect, initialSpanId }) {
  const nodes = buildTree(spans);
  const axis = timeAxis(spans, trace);
  const collapsed = new Uint8Array(nodes.length);
  let visible = [];
  let selectedIndex = -1;
  let frame = 0;

  const canvas = h("div", { class: "wf-canvas" });
  const grid = h("div", { class: "wf-grid", "aria-hidden": "true" });
  const axisTrack = h("div", { class: "wf-axis-track" });
  const header = h(
    "div",
    { class: "wf-header", "aria-hidden": "true" },
    h("div", { class: "wf-header-label" }, `Span (${nodes.length})`),
    axisTrack,
  );
  const scroller = h(
    "div",
    { class: "wf-scroll", tabindex: "0", role: "tree", "aria-label": "Spans of this trace", "aria-multiselectable": "false" },
    header,
    h("div", { class: "wf-body" }, grid, canvas),
  );
  replaceChildren(container, scroller);

  // The track's width in pixels, which decides how many axis labels fit
  // and whether a duration fits inside its bar.
  let trackWidth = 0;

  function drawAxis() {
    const ticks = [];
    if (axis) {
      const step = niceStep(axis.total, Math.max(2, Math.floor(trackWidth / 80)));
      for (let at = 0; at <= axis.total + 1e-9; at += step) ticks.push(at);
    }
    replaceChildren(
      axisTrack,
      ticks.map((at) => {
        const tick = h("span", { class: "wf-tick" }, formatAxisDuration(at));
        tick.style.left = `${(at / axis.total) * 100}%`;
        return tick;
      }),
    );
    replaceChildren(
      grid,
      ticks.map((at) => {
        const line = h("span", { class: "wf-gridline" });
        line.style.left = `${(at / axis.total) * 100}%`;
        return line;
      }),
    );
  }

  function computeVisible() {
    visible = [];
    for (let index = 0; index < nodes.length; ) {
      visible.push(index);
      index = collapsed[index] ? nodes[index].subtreeEnd : index + 1;
    }
    canvas.style.height = `${visible.length * ROW_HEIGHT}px`;
  }

  function bar(span) {
    if (!axis || !span.start_time) return h("span", { class: "wf-no-timing" }, "no start time");
    const start = Date.parse(span.start_time);
    const running = !span.end_time;
    const end = running ? axis.end : Date.parse(span.end_time);
    const left = ((start - axis.start) / axis.total) * 100;
    const width = Math.max(((end - start) / axis.total) * 100, 0);
    const element = h("span", {
      class: ["wf-bar", `type-${spanType(span)}`, span.status === "error" && "is-error", running && "is-running"],
      "data-start-ms": String(start - axis.start),
      "data-duration-ms": String(end - start),
    });
    element.style.left = `${left}%`;
    element.style.width = `${width}%`;
    const text = running ? "running" : formatDuration(span.duration_ms ?? end - start);
    // The duration goes after the bar, or inside a long bar that reaches
    // the end of the axis, or before a short one there.
    const label = h("span", { class: "wf-duration" }, text);
    if (left + width <= 72) {
      label.style.left = `${left + width}%`;
    } else if ((width / 100) * trackWidth >= text.length * 7 + 12) {
      label.classList.add("wf-duration-inside");
      label.style.right = `${100 - left - width}%`;
    } else {
      label.style.right = `${100 - left}%`;
    }
    return [element, label];
  }

  function row(index, position) {
    const node = nodes[index];
    const span = node.span;
    const hasChildren = node.childCount > 0;
    const isCollapsed = collapsed[index] === 1;
    const label = h(
      "div",
      { class: "wf-label" },
      hasChildren
        ? h(
            "button",
            {
              type: "button",
              class: "wf-toggle",
              tabindex: "-1",
              "aria-label": isCollapsed ? "Expand" : "Collapse",
              "data-toggle": String(index),
            },
            isCollapsed ? "▸" : "▾",
          )
        : h("span", { class: "wf-toggle-space" }),
      h("span", { class: ["type-dot", `type-${spanType(span)}`], title: span.span_type }),
      h("span", { class: "wf-name", title: span.name || span.span_id }, span.name || span.span_id),
      span.is_orphan
        ? h("span", { class: "badge badge-orphan", title: `parent span ${span.parent_span_id} is not in this trace` }, "orphan")
        : null,
      span.status === "error" ? h("span", { class: "badge badge-error" }, "error") : null,
      hasChildren && isCollapsed ? h("span", { class: "wf-hidden-count" }, `+${node.subtreeEnd - index - 1}`) : null,
    );
    label.style.paddingLeft = `${Math.min(node.depth, MAX_INDENT_LEVELS) * INDENT_PX + 4}px`;
    const element = h(
      "div",
      {
        class: ["wf-row", index === selectedIndex && "selected", span.status === "error" && "is-error", span.is_orphan && "is-orphan"],
        role: "treeitem",
        id: `wf-row-${index}`,
        "aria-level": String(node.depth + 1),
        "aria-selected": index === selectedIndex ? "true" : "false",
        "aria-expanded": hasChildren ? String(!isCollapsed) : null,
        "data-index": String(index),
        "data-span-id": span.span_id,
        "data-span-type": span.span_type || "custom",
      },
      label,
      h("div", { class: "wf-track" }, bar(span)),
    );
    element.style.top = `${position * ROW_HEIGHT}px`;
    return element;
  }

  // Rows already in the DOM, by what they show: a row whose span, place,
  // selection and expansion are unchanged is kept rather than rebuilt.
  let rendered = new Map();

  function renderRows() {
    frame = 0;
    if (axisTrack.clientWidth !== trackWidth) {
      trackWidth = axisTrack.clientWidth;
      rendered = new Map();
      drawAxis();
    }
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN_ROWS);
    const last = Math.min(visible.length, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW_HEIGHT) + OVERSCAN_ROWS);
    const next = new Map();
    const rows = [];
    for (let position = first; position < last; position += 1) {
      const index = visible[position];
      const key = `${index}:${position}:${index === selectedIndex}:${collapsed[index]}`;
      const element = rendered.get(key) || row(index, position);
      next.set(key, element);
      rows.push(element);
    }
    rendered = next;
    const current = canvas.children;
    const unchanged = current.length === rows.length && rows.every((element, position) => current[position] === element);
    if (!unchanged) replaceChildren(canvas, rows);
    if (selectedIndex >= 0 && canvas.querySelector(`#wf-row-${selectedIndex}`)) {
      scroller.setAttribute("aria-activedescendant", `wf-row-${selectedIndex}`);
    } else {
      scroller.removeAttribute("aria-activedescendant");
    }
  }

  function scheduleRender() {
    if (!frame) frame = requestAnimationFrame(renderRows);
  }

  function ensureVisible(index) {
    const position = visible.indexOf(index);
    if (position < 0) return;
    const headerHeight = header.offsetHeight;
    const top = position * ROW_HEIGHT;
    const viewTop = scroller.scrollTop;
    const viewHeight = scroller.clientHeight - headerHeight;
    if (top < viewTop) scroller.scrollTop = top;
    else if (top + ROW_HEIGHT > viewTop + viewHeight) scroller.scrollTop = top + ROW_HEIGHT - viewHeight;
  }

  function select(index) {
    if (index < 0 || index >= nodes.length) return;
    // A span inside a collapsed subtree is revealed first.
    for (let parent = nodes[index].parent; parent >= 0; parent = nodes[parent].parent) collapsed[parent] = 0;
    const changed = index !== selectedIndex;
    selectedIndex = index;
    computeVisible();
    ensureVisible(index);
    renderRows();
    if (changed && onSelect) onSelect(nodes[index]);
  }

  function setCollapsed(index, value) {
    if (nodes[index].childCount === 0) return;
    collapsed[index] = value ? 1 : 0;
    if (value && selectedIndex > index && selectedIndex < nodes[index].subtreeEnd) {
      selectedIndex = index;
      if (onSelect) onSelect(nodes[index]);
    }
    computeVisible();
    renderRows();
  }

  function move(offset) {
    const position = visible.indexOf(selectedIndex);
    const next = Math.min(visible.length - 1, Math.max(0, position < 0 ? 0 : position + offset));
    select(visible[next]);
  }

  scroller.addEventListener("scroll", scheduleRender, { passive: true });
  scroller.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-toggle]");
    if (toggle) {
      const index = Number(toggle.dataset.toggle);
      setCollapsed(index, collapsed[index] === 0);
      scroller.focus({ preventScroll: true });
      return;
    }
    const rowElement = event.target.closest(".wf-row");
    if (rowElement) {
      select(Number(rowElement.dataset.index));
      scroller.focus({ preventScroll: true });
    }
  });
  scroller.addEventListener("keydown", (event) => {
    const node = nodes[selectedIndex];
    const pageRows = Math.max(1, Math.floor(scroller.clientHeight / ROW_HEIGHT) - 2);
    switch (event.key) {
      case "ArrowDown":
        move(1);
        break;
      case "ArrowUp":
        move(-1);
        break;
      case "PageDown":
        move(pageRows);
        break;
      case "PageUp":
        move(-pageRows);
        break;
      case "Home":
        select(visible[0]);
        break;
      case "End":
        select(visible[visible.length - 1]);
        break;
      case "ArrowRight":
        if (!node) move(0);
        else if (node.childCount && collapsed[node.index]) setCollapsed(node.index, false);
        else if (node.childCount) select(node.index + 1);
        break;
      case "ArrowLeft":
        if (!node) move(0);
        else if (node.childCount && !collapsed[node.index]) setCollapsed(node.index, true);
        else if (node.parent >= 0) select(node.parent);
        break;
      case "Enter":
      case " ":
        if (node && node.childCount) setCollapsed(node.index, collapsed[node.index] === 0);
        else if (!node) move(0);
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  computeVisible();
  const initial = initialSpanId ? nodes.findIndex((node) => node.span.span_id === initialSpanId) : -1;
  if (initial >= 0) select(initial);
  else renderRows();

  const resize = new ResizeObserver(scheduleRender);
  resize.observe(scroller);

  return {
    element: scroller,
    nodes,
    select,
    selectBySpanId(spanId) {
      const index = nodes.findIndex((node) => node.span.span_id === spanId);
      if (index >= 0) select(index);
    },
    dispose() {
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
    },
  };
}

/** The colour legend of the span types present. */
export function typeLegend(spans) {
  const present = new Set(spans.map(spanType));
  return h(
    "ul",
    { class: "type-legend", "aria-label": "Span types" },
    SPAN_TYPES.filter((type) => present.has(type)).map((type) =>
      h("li", {}, h("span", { class: ["type-dot", `type-${type}`] }), type.replace("_", " ")),
    ),
  );
}
