//! The traces page: the list, its filters, the project picker, sorting,
//! pagination and live mode.

use serde_json::json;

use crate::harness::{run, Page, Store};
use crate::seed;

const ROWS: &str = "#view tr.trace-row";

async fn seed_all(page: &Page) {
    let base = seed::now_ms() - 12 * 60_000;
    for batch in seed::all_traces(base) {
        page.ingest(batch).await;
    }
}

fn newest_first() -> Vec<&'static str> {
    seed::TRACES_NEWEST_FIRST.iter().map(|(id, _)| *id).collect()
}

async fn the_list_shows_the_seeded_traces(page: Page) {
    seed_all(&page).await;
    page.open("/").await;
    page.wait_for_attributes(ROWS, "data-trace-id", &newest_first()).await;
    let names: Vec<&str> = seed::TRACES_NEWEST_FIRST.iter().map(|(_, name)| *name).collect();
    assert_eq!(page.texts(&format!("{ROWS} .col-name")).await, names);
    // The running trace is marked as running, in its status and its duration.
    assert_eq!(page.attributes(&format!("{ROWS}.is-running"), "data-trace-id").await, ["running-1"]);
    assert_eq!(page.texts(&format!("{ROWS}[data-trace-id=running-1] .col-status")).await, ["running"]);
    assert_eq!(page.texts(&format!("{ROWS}[data-trace-id=running-1] .col-duration")).await, ["running…"]);
    let checkout = format!("{ROWS}[data-trace-id=checkout-1]");
    assert_eq!(page.texts(&format!("{checkout} .col-session")).await, ["sess-a"]);
    assert_eq!(page.texts(&format!("{checkout} .col-user")).await, ["alice"]);
    assert_eq!(page.texts(&format!("{checkout} .col-duration")).await, ["2.00 s"]);
    assert_eq!(page.texts(&format!("{checkout} .col-spans")).await, ["9"]);
    assert_eq!(page.texts(&format!("{checkout} .col-tokens")).await, ["530"]);
    assert_eq!(page.texts(&format!("{checkout} .col-cost")).await, ["$0.0075"]);
    assert_eq!(page.texts(&format!("{ROWS}[data-trace-id=failing-1] .col-spans")).await, ["3 (2 ✕)"]);
    // A trace's name opens its page.
    page.click(&format!("{checkout} .trace-link")).await;
    page.wait_until("the trace page", "location.pathname === '/traces/checkout-1'").await;
    page.wait_for_view().await;
    assert_eq!(page.texts(".trace-title").await, ["answer question"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_shows_the_seeded_traces_on_sqlite() {
    run("traces-list", Store::Sqlite, the_list_shows_the_seeded_traces).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_shows_the_seeded_traces_on_postgres() {
    run("traces-list-postgres", Store::Postgres, the_list_shows_the_seeded_traces).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_narrow_the_list() {
    run("traces-filters", Store::Sqlite, |page| async move {
        seed_all(&page).await;
        // A trace from two days ago, outside the recent time ranges.
        let old = seed::now_ms() - 2 * 86_400_000;
        page.ingest(json!({"traces": [{"trace_id": "old-1", "name": "old run", "project": "shop"}],
                           "spans": [{"trace_id": "old-1", "span_id": "root", "span_type": "agent",
                                      "start_time": old, "end_time": old + 100, "status": "success"}]}))
            .await;
        let mut all = newest_first();
        all.push("old-1");
        page.open("/traces").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &all).await;

        page.choose("#filter-range", "24h").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &newest_first()).await;
        assert_eq!(page.eval("new URL(location.href).searchParams.get('range')").await, json!("24h"));
        page.choose("#filter-range", "all").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &all).await;

        page.choose("#filter-status", "error").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["failing-1"]).await;
        page.choose("#filter-status", "running").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["running-1"]).await;
        page.choose("#filter-status", "").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &all).await;

        page.press("#filter-model", "claude-sonnet-4\n").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["checkout-1"]).await;
        page.click("#clear-filters").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &all).await;

        page.press("#filter-session_id", "sess-a\n").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["followup-2", "followup-1", "checkout-1"]).await;
        page.click("#clear-filters").await;
        page.press("#filter-user_id", "carol\n").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["running-1"]).await;
        page.click("#clear-filters").await;
        // Free text searches inputs and outputs.
        page.press("#filter-q", "REFUND\n").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["failing-1"]).await;
        page.click("#clear-filters").await;
        page.press("#filter-q", "before noon\n").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["followup-1"]).await;
        page.press("#filter-q", "no trace says this\n").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &[]).await;
        page.find("#view .empty-row").await;
        page.click("#clear-filters").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &all).await;

        // The project picker in the header narrows every list.
        page.wait_until("the projects to load", "document.querySelectorAll('#project-select option').length === 3")
            .await;
        page.choose("#project-select", "research").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["running-1"]).await;
        page.choose("#project-select", "").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &all).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorting_by_duration_orders_the_list() {
    run("traces-sorted", Store::Sqlite, |page| async move {
        seed_all(&page).await;
        page.open("/traces").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &newest_first()).await;
        page.click("[data-sort=duration]").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &seed::TRACES_SLOWEST_FIRST).await;
        assert_eq!(page.attributes("th[aria-sort=descending] [data-sort]", "data-sort").await, ["duration"]);
        // Ascending: fastest first; the running trace, without a duration, stays last.
        page.click("[data-sort=duration]").await;
        page.wait_for_attributes(
            ROWS,
            "data-trace-id",
            &["followup-2", "failing-1", "followup-1", "checkout-1", "running-1"],
        )
        .await;
        page.click("[data-sort=time]").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &newest_first()).await;
        page.click("[data-sort=time]").await;
        let mut oldest_first = newest_first();
        oldest_first.reverse();
        page.wait_for_attributes(ROWS, "data-trace-id", &oldest_first).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_pages_through_the_list() {
    run("traces-pages", Store::Sqlite, |page| async move {
        let base = seed::now_ms() - 3_600_000;
        // 60 traces, one a second, named so that newest first is descending order.
        let traces: Vec<_> = (0..60)
            .map(|index| json!({"trace_id": format!("t-{index:02}"), "name": format!("run {index:02}")}))
            .collect();
        let spans: Vec<_> = (0..60)
            .map(|index| {
                let start = base + index * 1000;
                json!({"trace_id": format!("t-{index:02}"), "span_id": "root", "span_type": "agent",
                       "start_time": start, "end_time": start + 10, "status": "success"})
            })
            .collect();
        page.ingest(json!({"traces": traces, "spans": spans})).await;
        let ids: Vec<String> = (0..60).rev().map(|index| format!("t-{index:02}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        page.open("/traces").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &ids[..50]).await;
        assert_eq!(page.texts(".page-label").await, ["Page 1"]);
        page.click(".pager .button:last-child").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &ids[50..]).await;
        assert_eq!(page.texts(".page-label").await, ["Page 2"]);
        assert_eq!(page.attributes(".pager .button:last-child", "disabled").await, [""], "no page after the last");
        page.click(".pager .button:first-child").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &ids[..50]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_shows_a_trace_sent_after_the_page_opened() {
    run("traces-live", Store::Sqlite, |page| async move {
        seed_all(&page).await;
        page.open("/traces").await;
        page.wait_for_attributes(ROWS, "data-trace-id", &newest_first()).await;
        page.click("#live-toggle").await;
        assert_eq!(page.eval("new URL(location.href).searchParams.get('live')").await, json!("1"));
        let now = seed::now_ms();
        page.ingest(json!({"traces": [{"trace_id": "fresh-1", "name": "fresh run", "session_id": "sess-new"}],
                           "spans": [{"trace_id": "fresh-1", "span_id": "root", "span_type": "agent",
                                      "start_time": now, "status": "running"}]}))
            .await;
        let mut with_fresh = vec!["fresh-1"];
        with_fresh.extend(newest_first());
        page.wait_for_attributes(ROWS, "data-trace-id", &with_fresh).await;
        // The new trace is highlighted as new, and marked as running.
        assert_eq!(page.attributes(&format!("{ROWS}.row-new"), "data-trace-id").await, ["fresh-1"]);
        assert_eq!(page.attributes(&format!("{ROWS}.is-running"), "data-trace-id").await, ["fresh-1", "running-1"]);
        // It finishes: live mode shows that too.
        page.ingest(
            json!({"spans": [{"trace_id": "fresh-1", "span_id": "root", "end_time": now + 1500, "status": "success"}]}),
        )
        .await;
        page.wait_for_attributes(&format!("{ROWS}.is-running"), "data-trace-id", &["running-1"]).await;
        assert_eq!(page.texts(&format!("{ROWS}[data-trace-id=fresh-1] .col-duration")).await, ["1.50 s"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_empty_state_gives_way_to_the_first_trace() {
    run("traces-first-arrival", Store::Sqlite, |page| async move {
        page.open("/").await;
        page.find(".onboarding").await;
        let now = seed::now_ms();
        page.ingest(json!({"spans": [{"trace_id": "first", "span_id": "root", "span_type": "agent", "name": "hello",
                                      "start_time": now - 500, "end_time": now, "status": "success"}]}))
            .await;
        page.wait_for_attributes(ROWS, "data-trace-id", &["first"]).await;
        assert_eq!(page.eval("document.querySelector('.onboarding') === null").await, json!(true));
    })
    .await;
}
