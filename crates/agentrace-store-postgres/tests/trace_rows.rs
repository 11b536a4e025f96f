//! What a write does to the row of its trace (the shared scenario:
//! `agentrace_store::conformance::unchanged_trace_rows_are_left_alone`),
//! seen through `xmin`, the transaction that wrote the row's current
//! version.

use std::sync::Arc;

use agentrace_store_postgres::PostgresStore;
use agentrace_testkit::postgres::fresh_database;

#[tokio::test]
async fn a_span_that_changes_nothing_in_its_trace_leaves_the_trace_row_alone() {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let store = PostgresStore::connect(database.url(), 2).await.expect("connect");
    let client = database.connect().await.unwrap();
    let row_version = || async {
        client
            .query_one("SELECT xmin::text FROM agent.traces WHERE trace_id = 't-rows'", &[])
            .await
            .unwrap()
            .get::<_, String>(0)
    };
    agentrace_store::conformance::unchanged_trace_rows_are_left_alone(Arc::new(store), row_version).await;
}
