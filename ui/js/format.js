// How numbers, times and durations read on every page.

const integerFormat = new Intl.NumberFormat("en-US");

/** 950 ms, 1.25 s, 2 m 05 s, 1 h 02 m. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours} h ${String(minutes).padStart(2, "0")} m`;
  return `${minutes} m ${String(seconds).padStart(2, "0")} s`;
}

/** An axis label: the shortest exact form of a round number of milliseconds. */
export function formatAxisDuration(ms) {
  if (ms === 0) return "0";
  if (ms < 1000) return `${+ms.toFixed(3)} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(3)} s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)} m`;
  return `${+(ms / 3_600_000).toFixed(2)} h`;
}

export function formatInteger(value) {
  if (value === null || value === undefined) return "—";
  return integerFormat.format(value);
}

/** 1,234 below ten thousand; 12.3k, 4.5M above. */
export function formatTokens(value) {
  if (value === null || value === undefined) return "—";
  if (value < 10_000) return integerFormat.format(value);
  if (value < 1_000_000) return `${(value / 1000).toFixed(1)}k`;
  return `${(value / 1_000_000).toFixed(2)}M`;
}

/** Dollars with enough digits to show sub-cent model calls. */
export function formatCost(value) {
  if (value === null || value === undefined) return "—";
  if (value === 0) return "$0";
  // A short call to a cheap model costs less than the shown precision;
  // "$0.0000" would read as free.
  if (value > 0 && value < 0.00005) return "<$0.0001";
  if (value < 0.01) return `$${value.toFixed(4)}`;
  if (value < 100) return `$${value.toFixed(2)}`;
  return `$${integerFormat.format(Math.round(value))}`;
}

export function formatPercent(fraction) {
  if (fraction === null || fraction === undefined) return "—";
  return `${(fraction * 100).toFixed(fraction < 0.1 && fraction > 0 ? 1 : 0)}%`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** Local date and time, to the second. */
export function formatTime(iso) {
  if (!iso) return "—";
  return timeFormat.format(new Date(iso));
}

const preciseTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
});

/** Local date and time with milliseconds, for span timing. */
export function formatPreciseTime(iso) {
  if (!iso) return "—";
  return preciseTimeFormat.format(new Date(iso));
}

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

/** Milliseconds between two RFC 3339 times, or null. */
export function millisBetween(start, end) {
  if (!start || !end) return null;
  return Date.parse(end) - Date.parse(start);
}

/** Round steps (1, 2, 5 × 10^k) for an axis spanning `range` in about `count` ticks. */
export function niceStep(range, count) {
  if (!(range > 0)) return 1;
  const raw = range / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const multiple of [1, 2, 5, 10]) {
    if (multiple * magnitude >= raw) return multiple * magnitude;
  }
  return 10 * magnitude;
}
