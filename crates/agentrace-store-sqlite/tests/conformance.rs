//! The shared storage contract, run against a fresh SQLite file per test.

use std::sync::Arc;

use agentrace_store::TraceStore;
use agentrace_store_sqlite::SqliteStore;
use agentrace_testkit::sqlite::TempSqlite;

async fn make_store() -> (Arc<dyn TraceStore>, TempSqlite) {
    let file = TempSqlite::new();
    let store = SqliteStore::open(file.path()).expect("open the SQLite store");
    (Arc::new(store), file)
}

agentrace_store::conformance_tests!(make_store);
