//! `agentrace trace ID`: the span tree drawn with box-drawing characters,
//! each span with its type, name, model, tokens, duration and a bar placed
//! on the trace's time axis (a text waterfall).

use agentrace_core::time::Timestamp;
use agentrace_core::tree::TreeSpan;
use agentrace_core::{Status, TokenUsage};
use agentrace_server::read::TraceResponse;

use super::table::{Align, Cell, Table};
use super::{abbreviate, cost, count, counted, duration, time, Palette};

/// Characters of the duration bar.
const BAR_WIDTH: usize = 32;

pub fn render_trace(response: &TraceResponse, palette: Palette) -> String {
    let trace = &response.trace;
    let stats = &response.stats;
    let mut out = String::new();
    let title = format!("{} · {} · ", trace.trace_id, trace.name.as_deref().unwrap_or("(unnamed)"));
    out.push_str(&palette.header(&title));
    out.push_str(&palette.status(trace.status));
    out.push('\n');
    out.push_str(&format!(
        "started {} UTC · {} · {} · {} · {}\n",
        time(trace.start_time),
        duration(trace.duration_ms),
        counted(stats.total_spans, "span", "spans"),
        counted(stats.total_tokens, "token", "tokens"),
        cost(stats.cost_usd),
    ));
    let user = trace.user_id.as_deref().map(|user| format!(" · user {user}")).unwrap_or_default();
    out.push_str(&format!("session {} · project {}{user}\n", trace.session_id, trace.project));
    if let Some(error) = &trace.error {
        out.push_str(&palette.error(&format!("error: {}", abbreviate(error, 200))));
        out.push('\n');
    }
    out.push('\n');
    if response.spans.is_empty() {
        out.push_str("no spans\n");
        return out;
    }

    let axis = Axis::of(response);
    let any_error = response.spans.iter().any(|span| span.span.span.error.is_some());
    let mut headers =
        vec![("SPAN", Align::Left), ("MODEL", Align::Left), ("TOKENS", Align::Right), ("DURATION", Align::Right)];
    if axis.is_some() {
        headers.push(("TIMELINE", Align::Left));
    }
    if any_error {
        headers.push(("ERROR", Align::Left));
    }
    let mut table = Table::new(&headers);
    let prefixes = tree_prefixes(&response.spans);
    for (item, prefix) in response.spans.iter().zip(prefixes) {
        let span = &item.span.span;
        let failed = span.status == Some(Status::Error);
        let kind = span.span_type.map_or("span", |kind| kind.as_str());
        let orphan = if item.is_orphan { " (orphan)" } else { "" };
        let label = format!("{kind} {}{orphan}", abbreviate(span.name.as_deref().unwrap_or("-"), 48));
        let label_cell = if failed {
            Cell::styled(format!("{prefix}{label}"), format!("{prefix}{}", palette.error(&label)))
        } else {
            Cell::new(format!("{prefix}{label}"))
        };
        let mut row = vec![
            label_cell,
            Cell::new(span.model.as_deref().unwrap_or("")),
            Cell::new(span.tokens.as_ref().and_then(total_tokens).map(count).unwrap_or_default()),
            Cell::new(duration(item.span.duration_ms)),
        ];
        if let Some(axis) = &axis {
            row.push(Cell::new(axis.bar(span.start_time, span.end_time)));
        }
        if any_error {
            let error = span.error.as_deref().map(|error| abbreviate(error, 60)).unwrap_or_default();
            row.push(Cell::styled(error.clone(), palette.error(&error)));
        }
        table.push(row);
    }
    out.push_str(&table.render(|line| palette.header(line)));
    out
}

fn total_tokens(tokens: &TokenUsage) -> Option<i64> {
    tokens
        .total
        .or_else(|| Some(tokens.prompt.unwrap_or(0) + tokens.completion.unwrap_or(0)).filter(|total| *total > 0))
}

/// The drawing in front of each span: `├─ ` / `└─ ` for the span itself,
/// and `│  ` / `   ` for each ancestor, depending on whether a later
/// sibling still follows at that level. Spans come in pre-order with depths.
fn tree_prefixes(spans: &[TreeSpan]) -> Vec<String> {
    // Walking backwards, a span is the last of its siblings when no span of
    // the same depth came after it before a shallower one.
    let mut is_last = vec![false; spans.len()];
    let mut sibling_follows: Vec<bool> = Vec::new();
    for (index, span) in spans.iter().enumerate().rev() {
        let depth = span.depth;
        if sibling_follows.len() <= depth {
            sibling_follows.resize(depth + 1, false);
        }
        is_last[index] = !sibling_follows[depth];
        sibling_follows[depth] = true;
        sibling_follows.truncate(depth + 1);
    }
    let mut prefixes = Vec::with_capacity(spans.len());
    // For each open level, whether a sibling of that level's span follows.
    let mut open: Vec<bool> = Vec::new();
    for (span, last) in spans.iter().zip(&is_last) {
        open.truncate(span.depth);
        let mut prefix = String::new();
        if span.depth > 0 {
            for continues in open.iter().skip(1) {
                prefix.push_str(if *continues { "│  " } else { "   " });
            }
            prefix.push_str(if *last { "└─ " } else { "├─ " });
        }
        open.push(!last);
        prefixes.push(prefix);
    }
    prefixes
}

/// The trace's time axis: from the earliest start to the latest end seen.
struct Axis {
    start: Timestamp,
    micros: i64,
}

impl Axis {
    fn of(response: &TraceResponse) -> Option<Axis> {
        let spans = response.spans.iter().map(|item| &item.span.span);
        let starts = spans.clone().filter_map(|span| span.start_time).chain(response.trace.start_time);
        let ends = spans
            .flat_map(|span| [span.start_time, span.end_time])
            .flatten()
            .chain(response.trace.end_time)
            .chain(response.trace.start_time);
        let start = starts.min()?;
        let end = ends.max()?;
        Some(Axis { start, micros: (end - start).num_microseconds().unwrap_or(i64::MAX).max(0) })
    }

    /// `····████······`: where the span ran on the axis. A span still
    /// running (no end) is drawn to its start only; one without a start, blank.
    fn bar(&self, start: Option<Timestamp>, end: Option<Timestamp>) -> String {
        let Some(start) = start else { return " ".repeat(BAR_WIDTH) };
        let position = |instant: Timestamp| -> f64 {
            if self.micros == 0 {
                return 0.0;
            }
            let offset = (instant - self.start).num_microseconds().unwrap_or(0) as f64;
            (offset / self.micros as f64 * BAR_WIDTH as f64).clamp(0.0, BAR_WIDTH as f64)
        };
        let from = (position(start).floor() as usize).min(BAR_WIDTH - 1);
        let to = match end {
            Some(_) if self.micros == 0 => BAR_WIDTH.max(from + 1),
            Some(end) => (position(end).round() as usize).clamp(from + 1, BAR_WIDTH),
            None => from + 1,
        };
        let mut bar = String::with_capacity(BAR_WIDTH * 3);
        bar.push_str(&"·".repeat(from));
        bar.push_str(&(if end.is_some() { "█" } else { "▏" }).repeat(to - from));
        bar.push_str(&"·".repeat(BAR_WIDTH - to));
        bar
    }
}

#[cfg(test)]
mod tests {
    use agentrace_core::model::SpanPiece;
    use agentrace_core::{SpanId, StoredSpan, TraceId};

    use super::*;

    fn at_depths(depths: &[usize]) -> Vec<TreeSpan> {
        depths
            .iter()
            .enumerate()
            .map(|(index, depth)| TreeSpan {
                span: StoredSpan {
                    span: SpanPiece::new(TraceId::parse("t").unwrap(), SpanId::parse(format!("s{index}")).unwrap()),
                    duration_ms: None,
                },
                depth: *depth,
                is_orphan: false,
            })
            .collect()
    }

    #[test]
    fn prefixes_connect_siblings_and_close_the_last() {
        let prefixes = tree_prefixes(&at_depths(&[0, 1, 2, 2, 1, 2, 0, 1]));
        assert_eq!(prefixes, ["", "├─ ", "│  ├─ ", "│  └─ ", "└─ ", "   └─ ", "", "└─ "]);
    }

    #[test]
    fn bars_sit_on_the_time_axis() {
        let at = |seconds: i64| chrono::DateTime::from_timestamp(1_772_359_200 + seconds, 0).unwrap();
        let axis = Axis { start: at(0), micros: 32_000_000 };
        assert_eq!(axis.bar(Some(at(0)), Some(at(32))), "█".repeat(32));
        assert_eq!(
            axis.bar(Some(at(8)), Some(at(16))),
            format!("{}{}{}", "·".repeat(8), "█".repeat(8), "·".repeat(16))
        );
        assert_eq!(axis.bar(Some(at(31)), Some(at(31))), format!("{}█", "·".repeat(31)), "at least one cell");
        assert_eq!(axis.bar(Some(at(4)), None), format!("{}▏{}", "·".repeat(4), "·".repeat(27)));
        assert_eq!(axis.bar(None, None), " ".repeat(32));
    }
}
