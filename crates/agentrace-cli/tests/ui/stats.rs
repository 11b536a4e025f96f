//! The statistics page: tiles and SVG charts over the chosen range.

use serde_json::json;

use crate::harness::{run, Store};
use crate::seed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_page_draws_its_charts() {
    run("stats", Store::Sqlite, |page| async move {
        let base = seed::now_ms() - 12 * 60_000;
        for batch in seed::all_traces(base) {
            page.ingest(batch).await;
        }
        page.open("/stats").await;
        assert_eq!(page.texts("[data-tile=traces] .tile-value").await, ["5"]);
        assert_eq!(page.texts("[data-tile=errors] .tile-value").await, ["1 (20%)"]);
        // Traces and errors over time: one bar per hour, the seeded ones in the last buckets.
        let buckets = page.eval("document.querySelectorAll('[data-chart=traces] .chart-bucket').length").await;
        assert!(buckets.as_u64().unwrap() >= 24, "24 hourly buckets, got {buckets}");
        let sums = page
            .eval("Array.from(document.querySelectorAll('[data-chart=traces] .chart-bucket')).reduce((sum, bucket) => [sum[0] + Number(bucket.dataset.total), sum[1] + Number(bucket.dataset.part)], [0, 0])")
            .await;
        assert_eq!(sums, json!([5, 1]));
        let drawn_bars = page.eval("document.querySelectorAll('[data-chart=traces] rect.series-traces').length").await;
        assert!(matches!(drawn_bars.as_u64(), Some(1..=2)), "the seeded traces fall into one or two hours: {drawn_bars}");
        assert_eq!(page.eval("document.querySelectorAll('[data-chart=traces] rect.series-errors').length").await, json!(1));
        // Latency lines: p50 and p95.
        let series = page.attributes("[data-chart=latency] .chart-point", "data-series").await;
        assert!(series.contains(&"p50".to_owned()) && series.contains(&"p95".to_owned()), "{series:?}");
        // Tokens and cost by model, largest first.
        let models = page.attributes("[data-chart=tokens] .chart-row", "data-label").await;
        assert_eq!(models, ["gpt-4o", "claude-sonnet-4", "gpt-4o-mini"]);
        let totals = page.attributes("[data-chart=tokens] .chart-row", "data-total").await;
        assert_eq!(totals, ["585", "380", "70"]);
        let cost_rows = page.attributes("[data-chart=cost] .chart-row", "data-label").await;
        assert_eq!(cost_rows.len(), 3);
        // gpt-4o-mini's 70 tokens, priced at ingest, cost less than the shown precision: not "$0.0000".
        assert_eq!(page.texts("[data-chart=cost] .chart-value").await, ["$0.0045", "$0.0054", "<$0.0001"]);
        // Every chart is an SVG with a label, inside its card.
        let svgs = page.attributes("[data-chart] svg.chart-svg", "aria-label").await;
        assert_eq!(svgs.len(), 4, "{svgs:?}");
        // Another range asks the API again, in daily buckets.
        page.choose("#stats-range", "30d").await;
        page.wait_until("daily buckets", "location.search === '?range=30d'").await;
        page.wait_for_view().await;
        let buckets = page.eval("document.querySelectorAll('[data-chart=traces] .chart-bucket').length").await;
        assert!(buckets.as_u64().unwrap() >= 30, "30 daily buckets, got {buckets}");
    })
    .await;
}
