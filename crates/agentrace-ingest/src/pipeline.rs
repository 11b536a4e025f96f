//! The ingest pipeline: a bounded queue in front of one batch writer.
//!
//! Requests hand their pieces to [`Ingestor::submit`], which waits until
//! those pieces are committed: a 2xx is only ever sent for durable data.
//! The writer drains whatever has queued up while the previous commit ran
//! and writes it as one transaction (group commit), so the commit cost is
//! shared by every concurrent request. The queue is bounded in items and in
//! bytes; when it is full, `submit` fails at once with
//! [`SubmitError::QueueFull`] and the caller answers 429 with `Retry-After`
//! instead of letting memory grow.
//!
//! A store that can run writes side by side
//! ([`TraceStore::max_concurrent_writes`]) gets up to that many batches in
//! flight: the next batch is gathered and written while the previous one
//! commits, so the time the database spends committing no longer leaves
//! the server idle, nor the server's turnaround leave the database idle.
//! Each request is still acknowledged only once its own batch committed.
//! The part of a request touching a trace that a batch in flight touches
//! waits for that batch (see [`writer`]), so the requests of one trace
//! commit in arrival order; the store keeps concurrent writes of one trace
//! from interleaving in any case (other processes may share its database).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::hash::{Hash, Hasher};

use agentrace_core::TraceId;
use agentrace_store::{StoreError, TraceStore, WriteBatch};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use self::writer::{Acknowledgement, Job, Writer};

mod writer;

/// Limits of the queue and of each batch.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Items (spans and trace pieces) waiting in the queue, at most.
    pub queue_items: usize,
    /// Approximate memory held by the pieces in the queue, at most
    /// ([`DEFAULT_QUEUE_BYTES`] unless configured).
    pub queue_bytes: usize,
    /// A batch is written once it holds this many items (requests are not
    /// cut to fit, so a batch may hold more); `None` leaves the number to
    /// the store ([`TraceStore::preferred_batch_items`])…
    pub batch_items: Option<usize>,
    /// …or this many approximate bytes…
    pub batch_bytes: usize,
    /// …or when the first item in it has waited this long for company.
    pub linger: Duration,
}

/// The queue's default memory budget. The writer needs about as much again
/// for the batches it is writing, and request bodies are parsed beside
/// both. A 100,000-span burst from 64 clients peaked at 213–230 MB of
/// server RSS with 48 MiB, and at 234–259 MB with 64 MiB: too near the
/// 256 MB a server is meant to stay under.
pub const DEFAULT_QUEUE_BYTES: usize = 48 * 1024 * 1024;

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            queue_items: 100_000,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            batch_items: None,
            batch_bytes: 16 * 1024 * 1024,
            linger: Duration::from_millis(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The queue is full: the caller should retry after a short pause.
    #[error("the ingest queue is full")]
    QueueFull,
    /// The server is shutting down and accepts no new work.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The batch holding this request could not be committed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The handle request handlers use to ingest; cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    jobs: mpsc::UnboundedSender<Job>,
    item_budget: Arc<Semaphore>,
    byte_budget: Arc<Semaphore>,
    config: Arc<PipelineConfig>,
    /// Whether the writer runs batches side by side, and so needs to know
    /// which traces each request touches.
    concurrent_writes: bool,
    activity: Arc<Activity>,
}

/// When the last request was submitted, for background work that yields to
/// ingest ([`Ingestor::idle_for`]).
struct Activity {
    started: Instant,
    /// Milliseconds from `started` to the last submission.
    last_submit_ms: AtomicU64,
}

/// Owns the writer task; [`Pipeline::shutdown`] drains the queue.
pub struct Pipeline {
    ingestor: Ingestor,
    stop: Option<oneshot::Sender<()>>,
    writer: JoinHandle<()>,
}

/// Bytes are budgeted in KiB so that semaphore counts stay small.
const BYTE_UNIT: usize = 1024;

impl Pipeline {
    pub fn start(store: Arc<dyn TraceStore>, config: PipelineConfig) -> Pipeline {
        let (jobs, queue) = mpsc::unbounded_channel();
        let ingestor = Ingestor {
            jobs,
            item_budget: Arc::new(Semaphore::new(config.queue_items)),
            byte_budget: Arc::new(Semaphore::new(config.queue_bytes.div_ceil(BYTE_UNIT))),
            config: Arc::new(config.clone()),
            concurrent_writes: store.max_concurrent_writes() > 1,
            activity: Arc::new(Activity { started: Instant::now(), last_submit_ms: AtomicU64::new(0) }),
        };
        let (stop, stopped) = oneshot::channel();
        let writer = tokio::spawn(Writer::new(store, queue, config).run(stopped));
        Pipeline { ingestor, stop: Some(stop), writer }
    }

    pub fn ingestor(&self) -> Ingestor {
        self.ingestor.clone()
    }

    /// Refuses new work from now on, writes everything already queued, and
    /// returns when the writer has finished.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(error) = (&mut self.writer).await {
            tracing::error!(%error, "ingest writer ended abnormally");
        }
    }
}

impl Ingestor {
    /// Queues `batch` and waits until it is committed.
    pub async fn submit(&self, batch: WriteBatch) -> Result<(), SubmitError> {
        if batch.is_empty() {
            return Ok(());
        }
        let since_start = self.activity.started.elapsed().as_millis() as u64;
        self.activity.last_submit_ms.fetch_max(since_start, Ordering::Relaxed);
        let items = batch.item_count();
        let bytes = batch.approximate_size();
        // A request larger than the whole queue may still pass when the
        // queue is empty: its body already fit the configured size limit.
        let item_cost = items.min(self.config.queue_items) as u32;
        let byte_cost = bytes.div_ceil(BYTE_UNIT).clamp(1, self.config.queue_bytes.div_ceil(BYTE_UNIT)) as u32;
        let item_permits =
            Arc::clone(&self.item_budget).try_acquire_many_owned(item_cost).map_err(|_| SubmitError::QueueFull)?;
        let byte_permits =
            Arc::clone(&self.byte_budget).try_acquire_many_owned(byte_cost).map_err(|_| SubmitError::QueueFull)?;
        let traces = if self.concurrent_writes { trace_hashes(&batch) } else { Vec::new() };
        let (acknowledge, acknowledged) = oneshot::channel();
        let acknowledge = Acknowledgement::new(acknowledge, [item_permits, byte_permits]);
        let job = Job { batch, items, bytes, traces, acknowledge };
        metrics::gauge!("agentrace_queue_items").increment(items as f64);
        self.jobs.send(job).map_err(|_| SubmitError::ShuttingDown)?;
        match acknowledged.await {
            Ok(result) => result.map_err(SubmitError::from),
            Err(_) => Err(SubmitError::ShuttingDown),
        }
    }

    /// How long ago the last request was submitted (since the pipeline
    /// started, when none was).
    pub fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.activity.last_submit_ms.load(Ordering::Relaxed));
        self.activity.started.elapsed().saturating_sub(last)
    }

    /// Items currently waiting to be written.
    pub fn queued_items(&self) -> usize {
        self.config.queue_items - self.item_budget.available_permits()
    }
}

/// Hashes of the traces a batch touches (see [`Job::traces`]).
fn trace_hashes(batch: &WriteBatch) -> Vec<u64> {
    let trace_ids = batch
        .spans
        .iter()
        .map(|span| &span.trace_id)
        .chain(batch.traces.iter().map(|trace| &trace.trace_id))
        .chain(batch.attachments.iter().map(|attachment| &attachment.trace_id));
    let mut hashes: Vec<u64> = trace_ids.map(trace_hash).collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

fn trace_hash(trace_id: &TraceId) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    trace_id.hash(&mut hasher);
    hasher.finish()
}
