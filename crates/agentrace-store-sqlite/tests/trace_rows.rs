//! What a write does to the row of its trace (the shared scenario:
//! `agentrace_store::conformance::unchanged_trace_rows_are_left_alone`),
//! seen through `updated_at`.

use std::sync::Arc;

use agentrace_store_sqlite::{connection, SqliteStore};
use agentrace_testkit::sqlite::TempSqlite;

#[tokio::test]
async fn a_span_that_changes_nothing_in_its_trace_leaves_the_trace_row_alone() {
    let file = TempSqlite::new();
    let store = SqliteStore::open(file.path()).unwrap();
    let row_version = || async {
        connection::open(file.path())
            .unwrap()
            .query_row("SELECT updated_at FROM agent.traces WHERE trace_id = 't-rows'", [], |row| {
                row.get::<_, String>(0)
            })
            .unwrap()
    };
    agentrace_store::conformance::unchanged_trace_rows_are_left_alone(Arc::new(store), row_version).await;
}
