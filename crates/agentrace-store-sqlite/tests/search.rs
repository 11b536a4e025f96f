//! Free-text search through the index the SQLite store keeps in a file of
//! its own (`src/search.rs`): a search is right before the index has caught
//! up, after it has, and while a deleted index file is rebuilt.

use std::time::{Duration, Instant};

use agentrace_core::{TraceId, TracePiece};
use agentrace_store::query::{PageRequest, TraceFilter, TraceQueries, TraceSort};
use agentrace_store::{TraceStore, WriteBatch};
use agentrace_store_sqlite::{connection, search, SqliteStore};
use agentrace_testkit::sqlite::TempSqlite;
use serde_json::json;

fn trace(id: &str, question: &str) -> TracePiece {
    let mut piece = TracePiece::new(TraceId::parse(id).unwrap());
    piece.input = Some(json!({ "question": question }));
    piece
}

async fn found(store: &SqliteStore, q: &str) -> Vec<String> {
    let filter = TraceFilter { q: Some(q.into()), ..TraceFilter::default() };
    let page = PageRequest { limit: 100, cursor: None };
    let listed = store.list_traces(&filter, TraceSort::StartTimeDesc, &page, false).await.unwrap();
    let mut ids: Vec<String> = listed.items.iter().map(|summary| summary.trace.trace_id.to_string()).collect();
    ids.sort();
    ids
}

async fn caught_up(store: &SqliteStore) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.search_backlog().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the search index never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Traces in the index file itself holding every trigram of `text`.
fn indexed(file: &TempSqlite, text: &str) -> i64 {
    let connection = connection::open(file.path()).unwrap();
    search::attach(&connection, file.path()).unwrap();
    let trigrams: Vec<String> = text
        .chars()
        .collect::<Vec<_>>()
        .windows(3)
        .map(|window| format!("\"{}\"", window.iter().collect::<String>()))
        .collect();
    connection
        .query_row(
            "SELECT count(*) FROM search.traces_search WHERE traces_search MATCH ?1",
            [trigrams.join(" AND ")],
            |row| row.get(0),
        )
        .unwrap()
}

fn many_traces(count: usize) -> WriteBatch {
    let traces = (0..count)
        .map(|i| trace(&format!("bulk-{i:05}"), &format!("order ORD-{i:05} about the {} lamp", ["red", "blue"][i % 2])))
        .collect();
    WriteBatch { traces, ..WriteBatch::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_is_found_before_and_after_the_index_catches_up() {
    let file = TempSqlite::new();
    let store = SqliteStore::open(file.path()).unwrap();
    store.write(many_traces(3_000)).await.unwrap();
    store
        .write(WriteBatch { traces: vec![trace("t-paris", "Weather in Paris?")], ..WriteBatch::default() })
        .await
        .unwrap();
    // Right after the acknowledgement, whatever the indexer has done so far.
    assert_eq!(found(&store, "weather in paris").await, ["t-paris"]);
    assert_eq!(found(&store, "ORD-02999").await, ["bulk-02999"]);

    caught_up(&store).await;
    assert_eq!(indexed(&file, "paris"), 1, "the index file holds the trace");
    assert_eq!(indexed(&file, "lamp"), 3_000);
    assert_eq!(found(&store, "weather in paris").await, ["t-paris"]);
    assert_eq!(found(&store, "ORD-00017").await, ["bulk-00017"]);

    // New text replaces the old at once, before the index has it.
    store.write(WriteBatch { traces: vec![trace("t-paris", "Snow in Oslo?")], ..WriteBatch::default() }).await.unwrap();
    assert_eq!(found(&store, "snow in oslo").await, ["t-paris"]);
    assert!(found(&store, "weather in paris").await.is_empty(), "the index's stale entry does not match");
    caught_up(&store).await;
    assert_eq!(indexed(&file, "paris"), 0);
    assert_eq!(found(&store, "snow in oslo").await, ["t-paris"]);

    // A capital whose lower case is two characters, in the text and the search.
    store.write(WriteBatch { traces: vec![trace("t-izmir", "İZMİR weather")], ..WriteBatch::default() }).await.unwrap();
    assert_eq!(found(&store, "İZMİR").await, ["t-izmir"]);
    caught_up(&store).await;
    assert_eq!(found(&store, "İzmİr").await, ["t-izmir"]);

    store.delete_trace(&TraceId::parse("t-paris").unwrap()).await.unwrap();
    caught_up(&store).await;
    assert_eq!(indexed(&file, "oslo"), 0, "a deleted trace leaves the index");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_index_file_is_rebuilt_and_searches_stay_right_meanwhile() {
    let file = TempSqlite::new();
    {
        let store = SqliteStore::open(file.path()).unwrap();
        store.write(many_traces(5_000)).await.unwrap();
        caught_up(&store).await;
    }
    for suffix in ["-search", "-search-wal", "-search-shm"] {
        let mut path = file.path().as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let store = SqliteStore::open(file.path()).unwrap();
    // The rebuild has barely started: the traces it has not reached are read.
    assert_eq!(found(&store, "ORD-04321").await, ["bulk-04321"]);
    assert_eq!(found(&store, "ORD-00001").await, ["bulk-00001"]);
    caught_up(&store).await;
    assert_eq!(indexed(&file, "lamp"), 5_000, "every trace is indexed again");
    assert_eq!(found(&store, "ORD-04321").await, ["bulk-04321"]);
    assert_eq!(indexed(&file, "blue lamp"), 2_500);
}
