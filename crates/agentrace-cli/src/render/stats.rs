//! `agentrace stats`: one line per group.

use agentrace_server::read::StatsResponse;
use agentrace_store::rollup::EXACT_STATS_MAX_SPANS;

use super::table::{Align, Cell, Table};
use super::{cost, count, millis, Palette};

/// `group_by` is the grouping asked for (`none` when not given); it names
/// the first column.
pub fn render_stats(response: &StatsResponse, group_by: &str, palette: Palette) -> String {
    if response.groups.is_empty() {
        return "nothing matched\n".to_owned();
    }
    let key_title = match group_by {
        "model" => "MODEL",
        "span_type" => "SPAN TYPE",
        "project" => "PROJECT",
        "hour" => "HOUR (UTC)",
        "day" => "DAY (UTC)",
        _ => "GROUP",
    };
    let mut table = Table::new(&[
        (key_title, Align::Left),
        ("COUNT", Align::Right),
        ("ERRORS", Align::Right),
        ("ERROR RATE", Align::Right),
        ("P50", Align::Right),
        ("P95", Align::Right),
        ("P99", Align::Right),
        ("PROMPT", Align::Right),
        ("COMPLETION", Align::Right),
        ("TOKENS", Align::Right),
        ("COST", Align::Right),
    ]);
    let mut unpriced = 0;
    for group in &response.groups {
        unpriced += group.unpriced_count;
        let key = match (&group.key, group_by) {
            (Some(key), "hour") => key.get(..16).unwrap_or(key).replace('T', " "),
            (Some(key), "day") => key.get(..10).unwrap_or(key).to_owned(),
            (Some(key), _) => key.clone(),
            (None, "none" | "") => "all".to_owned(),
            (None, _) => "(none)".to_owned(),
        };
        let rate = format!("{:.1}%", group.error_rate * 100.0);
        let rate_cell =
            if group.error_count > 0 { Cell::styled(rate.clone(), palette.error(&rate)) } else { Cell::new(rate) };
        let mut group_cost = cost(group.cost_usd);
        if group.unpriced_count > 0 {
            group_cost.push('*');
        }
        table.push(vec![
            Cell::new(key),
            Cell::new(count(group.count)),
            Cell::new(count(group.error_count)),
            rate_cell,
            Cell::new(millis(group.p50_ms)),
            Cell::new(millis(group.p95_ms)),
            Cell::new(millis(group.p99_ms)),
            Cell::new(count(group.prompt_tokens)),
            Cell::new(count(group.completion_tokens)),
            Cell::new(count(group.total_tokens)),
            Cell::new(group_cost),
        ]);
    }
    let mut out = table.render(|line| palette.header(line));
    if response.groups.iter().any(|group| group.percentiles_estimated) {
        out.push_str(&palette.dim(&format!(
            "P50, P95 and P99 are estimates within 1%, from per-minute and per-hour histograms: \
             the range holds more than {} spans",
            count(EXACT_STATS_MAX_SPANS)
        )));
        out.push('\n');
    }
    if unpriced > 0 {
        let calls = if unpriced == 1 { "model call with tokens has" } else { "model calls with tokens have" };
        out.push_str(&palette.dim(&format!(
            "* {} {calls} no price (the model is not in the price table): not in COST",
            count(unpriced)
        )));
        out.push('\n');
    }
    out
}
