//! `agentrace traces`: one line per trace.

use agentrace_store::query::{Page, TraceSummary};

use super::table::{Align, Cell, Table};
use super::{abbreviate, cost, count, duration, time, Palette};

pub fn render_traces(page: &Page<TraceSummary>, palette: Palette) -> String {
    if page.items.is_empty() {
        return "no traces found\n".to_owned();
    }
    let mut table = Table::new(&[
        ("TIME (UTC)", Align::Left),
        ("TRACE", Align::Left),
        ("NAME", Align::Left),
        ("SESSION", Align::Left),
        ("STATUS", Align::Left),
        ("DURATION", Align::Right),
        ("SPANS", Align::Right),
        ("TOKENS", Align::Right),
        ("COST", Align::Right),
    ]);
    for summary in &page.items {
        let trace = &summary.trace;
        table.push(vec![
            Cell::new(time(trace.start_time)),
            Cell::new(trace.trace_id.as_str()),
            Cell::new(abbreviate(trace.name.as_deref().unwrap_or("-"), 40)),
            Cell::new(&trace.session_id),
            Cell::styled(trace.status.as_str(), palette.status(trace.status)),
            Cell::new(duration(trace.duration_ms)),
            Cell::new(count(summary.stats.total_spans)),
            Cell::new(count(summary.stats.total_tokens)),
            Cell::new(cost(summary.stats.cost_usd)),
        ]);
    }
    let mut out = table.render(|line| palette.header(line));
    out.push_str(&next_page(&page.next_cursor, palette));
    out
}

/// The line that tells how to read the next page, when there is one.
pub(super) fn next_page(cursor: &Option<String>, palette: Palette) -> String {
    match cursor {
        Some(cursor) => format!("{}\n", palette.dim(&format!("more: --cursor {cursor}"))),
        None => String::new(),
    }
}
