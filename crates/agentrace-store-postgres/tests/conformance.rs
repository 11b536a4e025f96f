//! The shared storage contract, run against a fresh PostgreSQL database per test.

use std::sync::Arc;

use agentrace_store::TraceStore;
use agentrace_store_postgres::PostgresStore;
use agentrace_testkit::postgres::{fresh_database, TestDatabase};

async fn make_store() -> (Arc<dyn TraceStore>, TestDatabase) {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let store = PostgresStore::connect(database.url(), 4).await.expect("connect");
    (Arc::new(store), database)
}

agentrace_store::conformance_tests!(make_store);
