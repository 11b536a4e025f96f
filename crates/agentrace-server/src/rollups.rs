//! Keeps `agent.span_rollups` up to date in the background (see
//! `agentrace_store::rollup`): statistics are correct without it, but read
//! the spans of every minute it has not caught up with.

use std::sync::Arc;
use std::time::Duration;

use agentrace_store::{StoreError, TraceStore};
use tokio::sync::watch;

/// Minutes recomputed per transaction: small enough that a refresh never
/// holds SQLite's one writer for long while ingest waits.
pub const MINUTES_PER_REFRESH: usize = 30;

/// Pause once nothing is ready.
pub const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a minute must go unwritten before it is recomputed: spans are
/// exported as they end, so the minutes of the last few seconds are still
/// filling, and recomputing them after every write would read them over and
/// over.
pub const QUIET_FOR: Duration = Duration::from_secs(2);

/// Recomputes waiting minutes, [`MINUTES_PER_REFRESH`] per transaction,
/// until none is left or `stop` turns true; returns how many it recomputed.
pub async fn catch_up(store: &dyn TraceStore, stop: &watch::Receiver<bool>) -> Result<usize, StoreError> {
    let mut total = 0;
    while !*stop.borrow() {
        let refreshed = store.refresh_rollups(MINUTES_PER_REFRESH, QUIET_FOR).await?;
        metrics::counter!("agentrace_rollup_minutes_refreshed_total").increment(refreshed as u64);
        total += refreshed;
        if refreshed < MINUTES_PER_REFRESH {
            break;
        }
    }
    Ok(total)
}

/// Catches up at once, then every [`IDLE_INTERVAL`], until `stop` turns
/// true. A failed refresh is logged and tried again at the next interval.
pub async fn run(store: Arc<dyn TraceStore>, mut stop: watch::Receiver<bool>) {
    loop {
        match catch_up(store.as_ref(), &stop).await {
            Ok(0) => {}
            Ok(minutes) => tracing::debug!(minutes, "rollups recomputed"),
            Err(error) => {
                metrics::counter!("agentrace_rollup_errors_total").increment(1);
                tracing::warn!(%error, "rollup refresh failed; trying again shortly");
            }
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            () = tokio::time::sleep(IDLE_INTERVAL) => {}
        }
    }
    tracing::debug!("rollup refresh stopped");
}
