//! The sessions list and the session page: the conversation turn by turn.

use crate::harness::{run, Store};
use crate::seed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_page_lists_its_turns_in_order() {
    run("session-turns", Store::Sqlite, |page| async move {
        let base = seed::now_ms() - 12 * 60_000;
        for batch in seed::all_traces(base) {
            page.ingest(batch).await;
        }
        // The sessions list, most recently active first, leads to the session.
        page.open("/sessions").await;
        page.wait_for_attributes("#view tr.session-row", "data-session-id", &["sess-c", "sess-b", "sess-a"]).await;
        assert_eq!(page.texts("#view tr.session-row[data-session-id=sess-a] td:nth-child(3)").await, ["3"]);
        page.click("#view tr.session-row[data-session-id=sess-a] a").await;
        page.wait_until("the session page", "location.pathname === '/sessions/sess-a'").await;
        page.wait_for_view().await;

        assert_eq!(page.texts(".session-title").await, [seed::SESSION_WITH_TURNS]);
        page.wait_for_attributes("#view .turn", "data-trace-id", &["checkout-1", "followup-1", "followup-2"]).await;
        assert_eq!(page.texts("#view .turn .turn-number").await, ["Turn 1", "Turn 2", "Turn 3"]);
        assert_eq!(
            page.texts("#view .turn .turn-message.role-user .message-content").await,
            ["Where is my order?", "When exactly?", "Thanks!"]
        );
        assert_eq!(
            page.texts("#view .turn .turn-message.role-assistant .message-content").await,
            ["Your order ships tomorrow.", "Tomorrow before noon.", "You're welcome."]
        );
        assert_eq!(page.texts("#view .turn [data-metric=duration]").await, ["2.00 s", "1.20 s", "400 ms"]);
        assert_eq!(page.texts("#view .turn [data-metric=tokens]").await, ["530 tokens", "240 tokens", "100 tokens"]);
        assert_eq!(page.texts("#view .turn [data-metric=cost]").await, ["$0.0075", "$0.0010", "$0.0010"]);
        assert_eq!(page.attributes("#view .turn .status", "data-status").await, ["success", "success", "success"]);
        // Each turn links to its trace.
        page.click("#view .turn[data-trace-id=followup-1] .turn-link").await;
        page.wait_until("the trace page", "location.pathname === '/traces/followup-1'").await;
        page.wait_for_view().await;
        page.wait_for_attributes("#view .wf-row", "data-span-id", &["root", "llm"]).await;
    })
    .await;
}
