//! The writer task: gathers queued requests into batches and writes them,
//! up to [`TraceStore::max_concurrent_writes`] batches at a time.
//!
//! The part of a request touching a trace that a write in flight also
//! touches is held back until that write has finished, and so is every
//! later request's part of the same traces: two batches in flight never
//! wait on each other's trace locks (which would leave one of them idle,
//! holding its connection), and the requests of one trace commit in the
//! order they arrived. The request's other traces, and requests of other
//! traces, go ahead of the held parts. Splitting matters because exporters
//! cut batches by size, not by trace: consecutive requests, sent side by
//! side, often share the trace at their boundary, and holding each whole
//! would leave one connection idle behind the other.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agentrace_core::TraceId;
use agentrace_store::{StoreError, TraceStore, WriteBatch};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};
use tokio::task::{Id, JoinSet};

use super::{trace_hash, PipelineConfig};

pub(super) struct Job {
    pub(super) batch: WriteBatch,
    pub(super) items: usize,
    pub(super) bytes: usize,
    /// Hashes of the traces the batch touches, sorted and without repeats;
    /// empty when the store writes one batch at a time. Two traces sharing
    /// a hash only hold a request back for nothing.
    pub(super) traces: Vec<u64>,
    pub(super) acknowledge: Acknowledgement,
}

impl Job {
    /// Moves the items of the traces `blocked` says must wait into a job of
    /// their own, sharing this job's acknowledgement. `None` when no trace
    /// or every trace is blocked: the job stays whole.
    fn split_off(&mut self, blocked: impl Fn(u64) -> bool) -> Option<Job> {
        // `traces` is sorted, and so is each side of its partition.
        let (held_traces, kept_traces): (Vec<u64>, Vec<u64>) =
            self.traces.iter().copied().partition(|trace| blocked(*trace));
        if held_traces.is_empty() || kept_traces.is_empty() {
            return None;
        }
        let is_held = |trace_id: &TraceId| held_traces.binary_search(&trace_hash(trace_id)).is_ok();
        let batch = &mut self.batch;
        let held = WriteBatch {
            spans: take_where(&mut batch.spans, |span| is_held(&span.trace_id)),
            traces: take_where(&mut batch.traces, |trace| is_held(&trace.trace_id)),
            attachments: take_where(&mut batch.attachments, |attachment| is_held(&attachment.trace_id)),
            // Feedback takes no trace lock, so it stays with the part that goes ahead.
            feedback: Vec::new(),
        };
        self.items = self.batch.item_count();
        self.bytes = self.batch.approximate_size();
        self.traces = kept_traces;
        Some(Job {
            items: held.item_count(),
            bytes: held.approximate_size(),
            traces: held_traces,
            acknowledge: self.acknowledge.another_part(),
            batch: held,
        })
    }
}

/// Moves the items `take` selects out of `items`, keeping the order of both.
fn take_where<T>(items: &mut Vec<T>, take: impl Fn(&T) -> bool) -> Vec<T> {
    let (taken, kept) = std::mem::take(items).into_iter().partition(take);
    *items = kept;
    taken
}

/// Answers a request once every part of it is written: with the first
/// error of any part, or success. A part dropped unwritten (the writer
/// ended abnormally) leaves the request without an answer, which its
/// caller sees as the pipeline shutting down.
pub(in crate::pipeline) struct Acknowledgement(Arc<Mutex<Outstanding>>);

struct Outstanding {
    sender: Option<oneshot::Sender<Result<(), StoreError>>>,
    unwritten_parts: usize,
    first_error: Option<StoreError>,
    /// The request's share of the queue, given back once every part is
    /// written, before the answer, so that a client that was answered
    /// finds the room its request took free again.
    permits: Option<[OwnedSemaphorePermit; 2]>,
}

impl Acknowledgement {
    pub(in crate::pipeline) fn new(
        sender: oneshot::Sender<Result<(), StoreError>>,
        permits: [OwnedSemaphorePermit; 2],
    ) -> Self {
        let outstanding =
            Outstanding { sender: Some(sender), unwritten_parts: 1, first_error: None, permits: Some(permits) };
        Acknowledgement(Arc::new(Mutex::new(outstanding)))
    }

    fn another_part(&self) -> Self {
        self.0.lock().expect("acknowledgement lock").unwritten_parts += 1;
        Acknowledgement(Arc::clone(&self.0))
    }

    fn part_written(self, result: Result<(), StoreError>) {
        let mut outstanding = self.0.lock().expect("acknowledgement lock");
        outstanding.unwritten_parts -= 1;
        if let Err(error) = result {
            outstanding.first_error.get_or_insert(error);
        }
        if outstanding.unwritten_parts == 0 {
            drop(outstanding.permits.take());
            let result = outstanding.first_error.take().map_or(Ok(()), Err);
            if let Some(sender) = outstanding.sender.take() {
                let _ = sender.send(result);
            }
        }
    }
}

/// How many jobs touch each trace (by hash) in some set of jobs.
#[derive(Default)]
struct TraceCounts(HashMap<u64, usize>);

impl TraceCounts {
    fn add(&mut self, traces: &[u64]) {
        for trace in traces {
            *self.0.entry(*trace).or_default() += 1;
        }
    }

    fn remove(&mut self, traces: &[u64]) {
        for trace in traces {
            if let Some(count) = self.0.get_mut(trace) {
                *count -= 1;
                if *count == 0 {
                    self.0.remove(trace);
                }
            }
        }
    }

    fn touches_any(&self, traces: &[u64]) -> bool {
        !self.0.is_empty() && traces.iter().any(|trace| self.0.contains_key(trace))
    }

    fn touches(&self, trace: u64) -> bool {
        self.0.contains_key(&trace)
    }
}

/// The jobs of one batch, as it is gathered.
struct Gathered {
    jobs: Vec<Job>,
    items: usize,
    bytes: usize,
}

impl Gathered {
    fn push(&mut self, job: Job) {
        self.items += job.items;
        self.bytes += job.bytes;
        self.jobs.push(job);
    }

    fn is_full(&self, limits: &BatchLimits) -> bool {
        self.items >= limits.items || self.bytes >= limits.bytes
    }
}

/// When a batch stops taking requests.
struct BatchLimits {
    items: usize,
    bytes: usize,
}

pub(super) struct Writer {
    store: Arc<dyn TraceStore>,
    queue: mpsc::UnboundedReceiver<Job>,
    config: PipelineConfig,
    limits: BatchLimits,
    max_in_flight: usize,
    writes: JoinSet<()>,
    /// The traces of each write in flight, and all of them counted together.
    in_flight: HashMap<Id, Vec<u64>>,
    in_flight_traces: TraceCounts,
    /// Requests waiting for a write in flight (or for an older held request
    /// of the same trace), oldest first.
    held: VecDeque<Job>,
    held_traces: TraceCounts,
    /// Set once the queue is closed and empty: only held requests and
    /// writes in flight remain.
    queue_finished: bool,
    closing: bool,
    // Requests in the last batch: the writer stops waiting for company once
    // as many have joined. Clients that wait for their acknowledgement
    // before sending again (most exporters) come back about as many as were
    // just acknowledged; lingering on after they all have only idles the
    // writer (64 one-span clients: 8,500 spans/s with the full 2 ms linger).
    last_batch_requests: usize,
}

impl Writer {
    pub(super) fn new(store: Arc<dyn TraceStore>, queue: mpsc::UnboundedReceiver<Job>, config: PipelineConfig) -> Self {
        Writer {
            max_in_flight: store.max_concurrent_writes().max(1),
            limits: BatchLimits {
                items: config.batch_items.unwrap_or_else(|| store.preferred_batch_items()),
                bytes: config.batch_bytes,
            },
            store,
            queue,
            config,
            writes: JoinSet::new(),
            in_flight: HashMap::new(),
            in_flight_traces: TraceCounts::default(),
            held: VecDeque::new(),
            held_traces: TraceCounts::default(),
            queue_finished: false,
            closing: false,
            last_batch_requests: usize::MAX,
        }
    }

    pub(super) async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        loop {
            while let Some(finished) = self.writes.try_join_next_with_id() {
                self.write_finished(finished);
            }
            // A batch is gathered only once a write can start at once: while
            // every slot is busy, requests keep queuing, and the next batch
            // takes all of them instead of a few that would wait anyway.
            if self.writes.len() >= self.max_in_flight {
                let finished = self.writes.join_next_with_id().await;
                self.write_finished(finished.expect("writes in flight"));
                continue;
            }
            let mut batch = Gathered { jobs: Vec::new(), items: 0, bytes: 0 };
            self.take_ready_held(&mut batch);
            if batch.jobs.is_empty() {
                if self.queue_finished && self.writes.is_empty() {
                    debug_assert!(self.held.is_empty(), "held requests are ready once nothing is in flight");
                    break;
                }
                tokio::select! {
                    biased;
                    _ = &mut stopped, if !self.closing => {
                        // Closing the receiver refuses new jobs but keeps the queued ones.
                        self.queue.close();
                        self.closing = true;
                        tracing::info!(queued = self.queue.len(), "shutting down; draining the ingest queue");
                    }
                    finished = self.writes.join_next_with_id(), if !self.writes.is_empty() => {
                        self.write_finished(finished.expect("writes in flight"));
                    }
                    job = self.queue.recv(), if !self.queue_finished => match job {
                        Some(job) => self.accept(job, &mut batch),
                        None => self.queue_finished = true,
                    },
                }
                if batch.jobs.is_empty() {
                    continue;
                }
            }
            self.gather_from_queue(&mut batch).await;
            self.last_batch_requests = batch.jobs.len();
            self.start_write(batch);
        }
        tracing::info!("ingest queue drained; writer stopped");
    }

    /// Adds `job` to the batch, holding back its part of the traces that a
    /// write in flight or an older held request touches.
    fn accept(&mut self, mut job: Job, batch: &mut Gathered) {
        if !self.in_flight_traces.touches_any(&job.traces) && !self.held_traces.touches_any(&job.traces) {
            batch.push(job);
            return;
        }
        let held = match job.split_off(|trace| self.in_flight_traces.touches(trace) || self.held_traces.touches(trace))
        {
            Some(held) => {
                batch.push(job);
                held
            }
            None => job,
        };
        self.held_traces.add(&held.traces);
        self.held.push_back(held);
    }

    /// Moves into the batch the held requests that no write in flight and
    /// no older held request of the same traces holds up, oldest first.
    fn take_ready_held(&mut self, batch: &mut Gathered) {
        if self.held.is_empty() {
            return;
        }
        let mut still_held = VecDeque::with_capacity(self.held.len());
        let mut still_held_traces = TraceCounts::default();
        for job in std::mem::take(&mut self.held) {
            let blocked = batch.is_full(&self.limits)
                || self.in_flight_traces.touches_any(&job.traces)
                || still_held_traces.touches_any(&job.traces);
            if blocked {
                still_held_traces.add(&job.traces);
                still_held.push_back(job);
            } else {
                batch.push(job);
            }
        }
        self.held = still_held;
        self.held_traces = still_held_traces;
    }

    /// Adds what the queue holds, lingering for company while the batch is
    /// small, and stops once as many requests as last time have joined.
    async fn gather_from_queue(&mut self, batch: &mut Gathered) {
        let linger_until = tokio::time::Instant::now() + self.config.linger;
        while !self.queue_finished && !batch.is_full(&self.limits) {
            let next = match self.queue.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.queue_finished = true;
                    None
                }
                Err(mpsc::error::TryRecvError::Empty) if batch.jobs.len() >= self.last_batch_requests => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(linger_until, self.queue.recv()).await {
                        Ok(Some(job)) => Some(job),
                        Ok(None) => {
                            self.queue_finished = true;
                            None
                        }
                        Err(_) => None,
                    }
                }
            };
            let Some(job) = next else { break };
            self.accept(job, batch);
        }
    }

    fn start_write(&mut self, batch: Gathered) {
        let traces: Vec<u64> = batch.jobs.iter().flat_map(|job| job.traces.iter().copied()).collect();
        self.in_flight_traces.add(&traces);
        let store = Arc::clone(&self.store);
        let write = self.writes.spawn(async move { write_jobs(&*store, batch.jobs, batch.items).await });
        self.in_flight.insert(write.id(), traces);
    }

    fn write_finished(&mut self, finished: Result<(Id, ()), tokio::task::JoinError>) {
        let id = match finished {
            Ok((id, ())) => id,
            Err(error) => {
                tracing::error!(%error, "a batch write ended abnormally");
                error.id()
            }
        };
        if let Some(traces) = self.in_flight.remove(&id) {
            self.in_flight_traces.remove(&traces);
        }
    }
}

async fn write_jobs(store: &dyn TraceStore, mut jobs: Vec<Job>, items: usize) {
    // The requests of a batch of several keep their own data, to be written
    // one by one should the batch fail; a batch of one request has nothing
    // to fall back on, so its data moves instead of being copied.
    let combined = match jobs.as_mut_slice() {
        [only] => std::mem::take(&mut only.batch),
        several => {
            let mut combined = WriteBatch::default();
            for job in several.iter() {
                combined.extend(job.batch.clone());
            }
            combined
        }
    };
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
                job.acknowledge.part_written(Ok(()));
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
                job.acknowledge.part_written(result);
            }
        }
        Err(error) => {
            tracing::error!(%error, requests = jobs.len(), items, "batch failed");
            metrics::counter!("agentrace_store_errors_total", "kind" => error_kind(&error)).increment(1);
            for job in jobs {
                job.acknowledge.part_written(Err(error.clone()));
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
