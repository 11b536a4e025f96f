//! Keeps `agent.span_rollups` up to date in the background (see
//! `agentrace_store::rollup`): statistics are correct without it, but read
//! the spans of every minute it has not caught up with.
//!
//! Recomputing a minute reads its spans again, work of the same order as
//! having ingested them. While requests are arriving the refresh takes at
//! most [`PERCENT_WHILE_INGESTING`] of the time, so that on a busy machine
//! ingest keeps the processor and, on SQLite, the one writer; it catches up
//! at full speed once ingest pauses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrace_ingest::pipeline::Ingestor;
use agentrace_store::TraceStore;
use tokio::sync::watch;

/// Minutes recomputed per transaction: small enough that a refresh never
/// holds SQLite's one writer for long while ingest waits.
pub const MINUTES_PER_REFRESH: usize = 30;

/// The same while ingest is busy: shorter transactions, so that none holds
/// the writer or the processor long enough to show in a request's latency.
pub const MINUTES_PER_REFRESH_WHILE_INGESTING: usize = 4;

/// Pause once nothing is ready.
pub const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a minute must go unwritten before it is recomputed: spans are
/// exported as they end, so the minutes of the last few seconds are still
/// filling, and recomputing them after every write would read them over and
/// over.
pub const QUIET_FOR: Duration = Duration::from_secs(2);

/// Share of the time, in percent, the refresh may run while ingest is busy:
/// in `otlp-bench` on PostgreSQL, refreshing at full speed beside ingest cost
/// a sixth of the ingest rate and half again on the request p99.
pub const PERCENT_WHILE_INGESTING: u32 = 10;

/// Recomputes waiting minutes, [`MINUTES_PER_REFRESH`] per transaction
/// ([`MINUTES_PER_REFRESH_WHILE_INGESTING`] while requests arrive), until
/// `stop` turns true; after a pass that left nothing ready it waits
/// [`IDLE_INTERVAL`]. A failed refresh is logged and tried again after that
/// interval.
pub async fn run(store: Arc<dyn TraceStore>, ingest: Ingestor, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let ingesting = ingest.idle_for() < QUIET_FOR;
        let minutes = if ingesting { MINUTES_PER_REFRESH_WHILE_INGESTING } else { MINUTES_PER_REFRESH };
        let started = Instant::now();
        let pause = match store.refresh_rollups(minutes, QUIET_FOR).await {
            Ok(refreshed) => {
                metrics::counter!("agentrace_rollup_minutes_refreshed_total").increment(refreshed as u64);
                if refreshed > 0 {
                    tracing::debug!(minutes = refreshed, "rollups recomputed");
                }
                let yielding = if ingesting {
                    started.elapsed() * (100 - PERCENT_WHILE_INGESTING) / PERCENT_WHILE_INGESTING
                } else {
                    Duration::ZERO
                };
                if refreshed < minutes {
                    yielding.max(IDLE_INTERVAL)
                } else {
                    yielding
                }
            }
            Err(error) => {
                metrics::counter!("agentrace_rollup_errors_total").increment(1);
                tracing::warn!(%error, "rollup refresh failed; trying again shortly");
                IDLE_INTERVAL
            }
        };
        if pause.is_zero() {
            continue;
        }
        // How far behind the rollups are, for operators: a backlog that only
        // grows means ingest never leaves the refresh enough time.
        match store.rollup_backlog().await {
            Ok(minutes) => metrics::gauge!("agentrace_rollup_backlog_minutes").set(minutes as f64),
            Err(error) => tracing::debug!(%error, "cannot count the rollup backlog"),
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::debug!("rollup refresh stopped");
}
