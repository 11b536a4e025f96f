//! What a write does to the row of its trace (the shared scenario:
//! `agentrace_store::conformance::unchanged_trace_rows_are_left_alone`),
//! seen through `xmin`, the transaction that wrote the row's current
//! version.

use std::sync::Arc;

use agentrace_store_postgres::PostgresStore;
use agentrace_testkit::postgres::{fresh_database, TestDatabase};

/// A migrated database, the store on it, and a connection of the test's own.
async fn migrated_store() -> (TestDatabase, PostgresStore, tokio_postgres::Client) {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let store = PostgresStore::connect(database.url(), 2).await.expect("connect");
    let client = database.connect().await.unwrap();
    (database, store, client)
}

#[tokio::test]
async fn a_span_that_changes_nothing_in_its_trace_leaves_the_trace_row_alone() {
    let (_database, store, client) = migrated_store().await;
    let row_version = || async {
        client
            .query_one("SELECT xmin::text FROM agent.traces WHERE trace_id = 't-rows'", &[])
            .await
            .unwrap()
            .get::<_, String>(0)
    };
    agentrace_store::conformance::unchanged_trace_rows_are_left_alone(Arc::new(store), row_version).await;
}

/// The shared scenario `whole_traces_are_written_once`, rewrites counted
/// by a row trigger on UPDATE.
#[tokio::test]
async fn a_trace_that_arrives_whole_is_written_once() {
    let (_database, store, client) = migrated_store().await;
    client
        .batch_execute(
            "CREATE TABLE trace_rewrites (trace_id TEXT);
             CREATE FUNCTION note_trace_rewrite() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN INSERT INTO trace_rewrites VALUES (NEW.trace_id); RETURN NULL; END $$;
             CREATE TRIGGER note_rewrite AFTER UPDATE ON agent.traces
                 FOR EACH ROW EXECUTE FUNCTION note_trace_rewrite();",
        )
        .await
        .unwrap();
    let rewritten = || async {
        let rows = client.query("SELECT trace_id FROM trace_rewrites ORDER BY trace_id", &[]).await.unwrap();
        rows.iter().map(|row| row.get(0)).collect::<Vec<String>>()
    };
    agentrace_store::conformance::whole_traces_are_written_once(Arc::new(store), rewritten).await;
}
