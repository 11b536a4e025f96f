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
//! Each request is still acknowledged only once its own batch committed,
//! and the store keeps concurrent writes of one trace from interleaving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrace_store::{StoreError, TraceStore, WriteBatch};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

/// Limits of the queue and of each batch.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Items (spans and trace pieces) waiting in the queue, at most.
    pub queue_items: usize,
    /// Approximate memory held by the pieces in the queue, at most. The
    /// writer needs about as much again for the batch it is writing, and
    /// request bodies are parsed beside both: 64 MiB keeps a server under a
    /// 100,000-span burst within 256 MB.
    pub queue_bytes: usize,
    /// A batch is written once it holds this many items…
    pub batch_items: usize,
    /// …or this many approximate bytes…
    pub batch_bytes: usize,
    /// …or when the first item in it has waited this long for company.
    pub linger: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            queue_items: 100_000,
            queue_bytes: 64 * 1024 * 1024,
            batch_items: 4_000,
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

struct Job {
    batch: WriteBatch,
    items: usize,
    bytes: usize,
    acknowledge: oneshot::Sender<Result<(), StoreError>>,
    // Held until the job is written, so queue capacity frees only then.
    _item_permits: OwnedSemaphorePermit,
    _byte_permits: OwnedSemaphorePermit,
}

/// The handle request handlers use to ingest; cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    jobs: mpsc::UnboundedSender<Job>,
    item_budget: Arc<Semaphore>,
    byte_budget: Arc<Semaphore>,
    config: Arc<PipelineConfig>,
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
        };
        let (stop, stopped) = oneshot::channel();
        let writer = tokio::spawn(run_writer(store, queue, stopped, config));
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
        let (acknowledge, acknowledged) = oneshot::channel();
        let job = Job { batch, items, bytes, acknowledge, _item_permits: item_permits, _byte_permits: byte_permits };
        metrics::gauge!("agentrace_queue_items").increment(items as f64);
        self.jobs.send(job).map_err(|_| SubmitError::ShuttingDown)?;
        match acknowledged.await {
            Ok(result) => result.map_err(SubmitError::from),
            Err(_) => Err(SubmitError::ShuttingDown),
        }
    }

    /// Items currently waiting to be written.
    pub fn queued_items(&self) -> usize {
        self.config.queue_items - self.item_budget.available_permits()
    }
}

async fn run_writer(
    store: Arc<dyn TraceStore>,
    mut queue: mpsc::UnboundedReceiver<Job>,
    mut stopped: oneshot::Receiver<()>,
    config: PipelineConfig,
) {
    let write_slots = Arc::new(Semaphore::new(store.max_concurrent_writes().max(1)));
    let mut writes = JoinSet::new();
    let mut closing = false;
    // Requests in the last batch: the writer stops waiting for company once
    // as many have joined. Clients that wait for their acknowledgement
    // before sending again (most exporters) come back about as many as were
    // just acknowledged; lingering on after they all have only idles the
    // writer (64 one-span clients: 8,500 spans/s with the full 2 ms linger).
    let mut last_batch_requests = usize::MAX;
    loop {
        // A batch is gathered only once a write can start at once: while
        // every slot is busy committing, requests keep queuing, and the next
        // batch takes all of them instead of a few that then wait anyway.
        let Ok(slot) = Arc::clone(&write_slots).acquire_owned().await else { break };
        let first = tokio::select! {
            biased;
            _ = &mut stopped, if !closing => {
                // Closing the receiver refuses new jobs but keeps the queued ones.
                queue.close();
                closing = true;
                tracing::info!(queued = queue.len(), "shutting down; draining the ingest queue");
                continue;
            }
            job = queue.recv() => job,
        };
        let Some(first) = first else { break };
        let mut jobs = vec![first];
        let mut items = jobs[0].items;
        let mut bytes = jobs[0].bytes;
        let linger_until = tokio::time::Instant::now() + config.linger;
        while items < config.batch_items && bytes < config.batch_bytes {
            let next = match queue.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) if jobs.len() >= last_batch_requests => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(linger_until, queue.recv()).await.ok().flatten()
                }
            };
            let Some(job) = next else { break };
            items += job.items;
            bytes += job.bytes;
            jobs.push(job);
        }
        last_batch_requests = jobs.len();
        let store = Arc::clone(&store);
        writes.spawn(async move {
            write_jobs(&*store, jobs, items).await;
            drop(slot);
        });
        while let Some(finished) = writes.try_join_next() {
            report_abnormal_end(finished);
        }
    }
    // The queue is empty and closed; what is still being written is waited
    // for, so that shutting down never abandons an acknowledged request.
    while let Some(finished) = writes.join_next().await {
        report_abnormal_end(finished);
    }
    tracing::info!("ingest queue drained; writer stopped");
}

fn report_abnormal_end(finished: Result<(), tokio::task::JoinError>) {
    if let Err(error) = finished {
        tracing::error!(%error, "a batch write ended abnormally");
    }
}

async fn write_jobs(store: &dyn TraceStore, jobs: Vec<Job>, items: usize) {
    let mut combined = WriteBatch::default();
    for job in &jobs {
        combined.extend(job.batch.clone());
    }
    let started = Instant::now();
    let result = store.write(combined).await;
    let elapsed = started.elapsed();
    metrics::histogram!("agentrace_batch_items").record(items as f64);
    metrics::histogram!("agentrace_commit_seconds").record(elapsed.as_secs_f64());
    metrics::gauge!("agentrace_queue_items").decrement(items as f64);
    match result {
        Ok(()) => {
            tracing::info!(requests = jobs.len(), items, elapsed_ms = elapsed.as_millis() as u64, "batch committed");
            for job in jobs {
                let _ = job.acknowledge.send(Ok(()));
            }
        }
        Err(error) if jobs.len() > 1 && !error.is_transient() => {
            // One request's data broke the batch: write each request alone so
            // that only the request at fault fails.
            tracing::warn!(%error, requests = jobs.len(), "batch failed; retrying its requests one by one");
            metrics::counter!("agentrace_store_errors_total", "kind" => error_kind(&error)).increment(1);
            for job in jobs {
                let result = store.write(job.batch).await;
                if let Err(error) = &result {
                    metrics::counter!("agentrace_store_errors_total", "kind" => error_kind(error)).increment(1);
                }
                let _ = job.acknowledge.send(result);
            }
        }
        Err(error) => {
            tracing::error!(%error, requests = jobs.len(), items, "batch failed");
            metrics::counter!("agentrace_store_errors_total", "kind" => error_kind(&error)).increment(1);
            for job in jobs {
                let _ = job.acknowledge.send(Err(error.clone()));
            }
        }
    }
}

fn error_kind(error: &StoreError) -> &'static str {
    match error {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Busy(_) => "busy",
        StoreError::Rejected(_) => "rejected",
        StoreError::InvalidQuery(_) => "invalid_query",
        StoreError::Internal(_) => "internal",
    }
}
