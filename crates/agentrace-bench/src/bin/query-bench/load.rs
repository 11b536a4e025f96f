//! Loading the dataset through the store's own `write`, the path every
//! ingested span takes after parsing, so that derived trace fields, costs
//! and indexes are exactly what ingestion produces; then bringing the
//! planner's statistics up to date, as autovacuum would have on a database
//! that grew over days.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrace_store::{TraceStore, WriteBatch};
use anyhow::Context;

use crate::dataset::{Dataset, TRACES_PER_SESSION};
use crate::Storage;

/// Sessions per write: 50 traces, 2,500 spans, the size of a busy ingest batch.
const SESSIONS_PER_WRITE: usize = 5;

/// How long one loading step took.
pub struct LoadFigures {
    pub spans: u64,
    pub write: Duration,
    pub analyze: Duration,
}

/// Writes the sessions of traces `[first, last)` in start order (and the
/// long trace when asked) and refreshes the planner's statistics.
pub async fn load(
    store: &Arc<dyn TraceStore>,
    storage: &Storage,
    dataset: Dataset,
    first: u64,
    last: u64,
    with_big_trace: bool,
) -> anyhow::Result<LoadFigures> {
    let started = Instant::now();
    // Batches are built on a thread of their own while the previous one is
    // written, so the figure is the store's, not the generator's.
    let (sender, mut batches) = tokio::sync::mpsc::channel::<WriteBatch>(2);
    let generator = std::thread::spawn(move || {
        if with_big_trace && sender.blocking_send(dataset.big_trace_batch()).is_err() {
            return;
        }
        let sessions = dataset.sessions_in_time_order(first / TRACES_PER_SESSION, last / TRACES_PER_SESSION);
        for chunk in sessions.chunks(SESSIONS_PER_WRITE) {
            if sender.blocking_send(dataset.batch(chunk)).is_err() {
                return;
            }
        }
    });
    let mut spans = 0;
    while let Some(batch) = batches.recv().await {
        spans += batch.spans.len() as u64;
        store.write(batch).await.context("writing the dataset")?;
        eprint!("\r{}: {spans} spans written", storage.name());
    }
    generator.join().map_err(|_| anyhow::anyhow!("the dataset generator panicked"))?;
    let write = started.elapsed();
    eprintln!(" ({:.1} s)", write.as_secs_f64());

    let started = Instant::now();
    storage.analyze().await?;
    Ok(LoadFigures { spans, write, analyze: started.elapsed() })
}
