//! Retention: traces older than a window are deleted in the background.
//!
//! Deletion goes in small batches, each its own short transaction, so that
//! a sweep over millions of old spans never holds the writer (SQLite) or
//! row locks (PostgreSQL) long enough to stall ingest.

use std::sync::Arc;
use std::time::Duration;

use agentrace_core::time::Timestamp;
use agentrace_store::{StoreError, TraceStore};
use tokio::sync::watch;

/// Traces deleted per transaction.
pub const BATCH_SIZE: usize = 500;

/// What retention keeps and how often it looks.
#[derive(Debug, Clone, Copy)]
pub struct RetentionSettings {
    /// Traces that started longer ago than this are deleted.
    pub max_age: chrono::Duration,
    /// Pause between the end of one sweep and the start of the next.
    pub interval: Duration,
}

/// Deletes every trace that started before `cutoff` (see
/// `TraceQueries::delete_traces_before`), `batch` at a time, until none is
/// left or `stop` turns true (checked between batches, so a batch is never
/// cut short). Returns how many were deleted.
pub async fn sweep(
    store: &dyn TraceStore,
    cutoff: Timestamp,
    batch: usize,
    stop: &watch::Receiver<bool>,
) -> Result<u64, StoreError> {
    let mut total = 0;
    while !*stop.borrow() {
        let deleted = store.delete_traces_before(cutoff, batch).await?;
        metrics::counter!("agentrace_retention_deleted_traces_total").increment(deleted);
        total += deleted;
        if deleted == 0 {
            break;
        }
    }
    Ok(total)
}

/// Sweeps at once, then every `settings.interval`, until `stop` turns true.
/// A failed sweep is logged and tried again at the next interval.
pub async fn run(store: Arc<dyn TraceStore>, settings: RetentionSettings, mut stop: watch::Receiver<bool>) {
    loop {
        let cutoff = agentrace_core::time::to_micros_precision(chrono::Utc::now() - settings.max_age);
        match sweep(store.as_ref(), cutoff, BATCH_SIZE, &stop).await {
            Ok(0) => tracing::debug!(%cutoff, "retention: nothing to delete"),
            Ok(deleted) => tracing::info!(deleted, %cutoff, "retention deleted traces that started before the cutoff"),
            Err(error) => {
                metrics::counter!("agentrace_retention_errors_total").increment(1);
                tracing::warn!(%error, "retention sweep failed; trying again at the next interval");
            }
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
    tracing::debug!("retention stopped");
}
