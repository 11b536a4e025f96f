//! What a write does to the row of its trace (the shared scenarios
//! `unchanged_trace_rows_are_left_alone` and `whole_traces_are_written_once`
//! of `agentrace_store::conformance`), seen through `updated_at` and
//! through a trigger.

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

/// Rewrites counted by a trigger on UPDATE, which fires for the store's
/// own connection too.
#[tokio::test]
async fn a_trace_that_arrives_whole_is_written_once() {
    let file = TempSqlite::new();
    let store = SqliteStore::open(file.path()).unwrap();
    connection::open(file.path())
        .unwrap()
        .execute_batch(
            "CREATE TABLE agent.trace_rewrites (trace_id TEXT);
             CREATE TRIGGER agent.note_rewrite AFTER UPDATE ON traces
             BEGIN INSERT INTO trace_rewrites VALUES (new.trace_id); END;",
        )
        .unwrap();
    let rewritten = || async {
        let connection = connection::open(file.path()).unwrap();
        let mut select = connection.prepare("SELECT trace_id FROM agent.trace_rewrites ORDER BY trace_id").unwrap();
        select.query_map([], |row| row.get::<_, String>(0)).unwrap().map(Result::unwrap).collect::<Vec<String>>()
    };
    agentrace_store::conformance::whole_traces_are_written_once(Arc::new(store), rewritten).await;
}
