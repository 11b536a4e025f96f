//! Concurrent keep-alive clients sending a phase's requests as fast as the
//! server acknowledges them, and readers checking that an acknowledged span
//! can be read back at once.
//!
//! Each client drives its connection through hyper directly. The clients
//! share the machine with the server and PostgreSQL, so their CPU is taken
//! from what is measured: per one-span request, reqwest (a URL parsed per
//! request, a pooled connection checked out and back) cost the clients about
//! 30 µs, some 15% of the whole machine's work per span.
//!
//! A 429 or 503 is not a failure: the client waits the `Retry-After` the
//! server asked for and sends the same request again, as a well-behaved
//! exporter would; such answers are counted. Anything else that is not a
//! 2xx, or a 2xx that did not accept every span, stops the benchmark: a
//! figure measured over lost data would mean nothing.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Request as HttpRequest, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::workload::Request;

/// How long a reader keeps trying before it calls a span unreadable.
const READ_BACK_DEADLINE: Duration = Duration::from_secs(10);

/// How long one ingest request may take before the benchmark gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

pub struct PhaseOutcome {
    pub accepted_spans: u64,
    pub wall: Duration,
    /// Send to full response, per acknowledged request (the last attempt
    /// only when the request was refused first).
    pub ack_latencies: Vec<Duration>,
    /// 429 / 503 answers, each followed by a retry.
    pub refusals: u64,
    /// Filled in by [`PendingReads::finish`].
    pub read_back: ReadBack,
}

/// Acknowledgement-to-queryable, over the sampled requests.
#[derive(Default)]
pub struct ReadBack {
    /// Acknowledgement to the end of the first read that showed the span.
    pub delays: Vec<Duration>,
    /// Reads that did not show an acknowledged span (each is a broken
    /// promise: a 2xx means committed).
    pub misses: u64,
    /// Sampled spans still not readable after the deadline.
    pub unreadable: u64,
}

/// Sends `requests` from `clients` concurrent clients, each with its own
/// keep-alive connection; reads back about `read_back_samples` of them.
pub async fn run(
    base_url: &str,
    requests: Vec<Request>,
    clients: usize,
    read_back_samples: usize,
) -> anyhow::Result<(PhaseOutcome, PendingReads)> {
    let requests = Arc::new(requests);
    let sample_every = (requests.len() / read_back_samples.max(1)).max(1);
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let refusals = Arc::new(AtomicU64::new(0));
    let readers: Arc<Mutex<Vec<JoinHandle<ReadResult>>>> = Arc::default();
    let reader_client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;

    let started = Instant::now();
    let tasks: Vec<JoinHandle<anyhow::Result<Vec<Duration>>>> = (0..clients.max(1))
        .map(|_| {
            let (requests, next, accepted, refusals, readers, reader_client) = (
                Arc::clone(&requests),
                Arc::clone(&next),
                Arc::clone(&accepted),
                Arc::clone(&refusals),
                Arc::clone(&readers),
                reader_client.clone(),
            );
            let base_url = base_url.to_owned();
            tokio::spawn(async move {
                let mut connection = Connection::open(&base_url).await?;
                let mut latencies = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(index) else { break };
                    let (latency, spans) = send(&mut connection, request, &refusals).await?;
                    let acknowledged_at = Instant::now();
                    latencies.push(latency);
                    accepted.fetch_add(spans, Ordering::Relaxed);
                    if index % sample_every == 0 {
                        let url = format!("{base_url}/api/v1/traces/{}", request.probe_trace_id);
                        let span_id = request.probe_span_id.clone();
                        let reader = tokio::spawn(read_back(reader_client.clone(), url, span_id, acknowledged_at));
                        readers.lock().expect("readers lock").push(reader);
                    }
                }
                Ok(latencies)
            })
        })
        .collect();

    let mut ack_latencies = Vec::with_capacity(requests.len());
    for task in tasks {
        ack_latencies.extend(task.await.context("client task")??);
    }
    let wall = started.elapsed();

    let readers = std::mem::take(&mut *readers.lock().expect("readers lock"));
    let outcome = PhaseOutcome {
        accepted_spans: accepted.load(Ordering::Relaxed),
        wall,
        ack_latencies,
        refusals: refusals.load(Ordering::Relaxed),
        read_back: ReadBack::default(),
    };
    Ok((outcome, PendingReads { readers }))
}

/// Read-backs still running when the last request was acknowledged: they
/// are awaited apart so that a slow read does not stretch the phase's clock.
pub struct PendingReads {
    readers: Vec<JoinHandle<ReadResult>>,
}

impl PendingReads {
    pub async fn finish(self) -> anyhow::Result<ReadBack> {
        let mut read_back = ReadBack::default();
        for reader in self.readers {
            let result = reader.await.context("reader task")?;
            read_back.misses += result.misses;
            match result.delay {
                Some(delay) => read_back.delays.push(delay),
                None => read_back.unreadable += 1,
            }
        }
        Ok(read_back)
    }
}

/// One keep-alive HTTP/1.1 connection to the server.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Connection {
    async fn open(base_url: &str) -> anyhow::Result<Self> {
        let authority = base_url.strip_prefix("http://").context("the server's URL is not http://")?.to_owned();
        let stream = TcpStream::connect(&authority).await.with_context(|| format!("connecting to {authority}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection's own task; its errors reach the sender's next request.
        tokio::spawn(connection);
        Ok(Connection { sender, authority })
    }

    /// Posts `body` as JSON to `path`; returns the status, the `Retry-After`
    /// seconds if any, and the response body.
    async fn post(&mut self, path: &str, body: Bytes) -> anyhow::Result<(StatusCode, Option<u64>, Bytes)> {
        let request = HttpRequest::post(path)
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        self.sender.ready().await.context("the connection to the server closed")?;
        let response = self.sender.send_request(request).await.context("sending a batch")?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let body = response.into_body().collect().await.context("reading an ingest response")?.to_bytes();
        Ok((status, retry_after, body))
    }
}

/// Sends one request until it is acknowledged; returns its latency and the
/// spans the server accepted.
async fn send(connection: &mut Connection, request: &Request, refusals: &AtomicU64) -> anyhow::Result<(Duration, u64)> {
    loop {
        let sent_at = Instant::now();
        let (status, retry_after, body) =
            tokio::time::timeout(REQUEST_TIMEOUT, connection.post("/api/v1/ingest", request.body.clone()))
                .await
                .context("no answer to an ingest request")??;
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            refusals.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(retry_after.unwrap_or(1))).await;
            continue;
        }
        let latency = sent_at.elapsed();
        if !status.is_success() {
            bail!("ingest answered {status}: {}", String::from_utf8_lossy(&body));
        }
        let reply: Value = serde_json::from_slice(&body).context("ingest response is not JSON")?;
        let spans = reply["accepted"]["spans"].as_u64().unwrap_or(0);
        if spans != request.spans as u64 {
            bail!("the server accepted {spans} of {} spans: {reply}", request.spans);
        }
        return Ok((latency, spans));
    }
}

struct ReadResult {
    delay: Option<Duration>,
    misses: u64,
}

async fn read_back(client: reqwest::Client, url: String, span_id: String, acknowledged_at: Instant) -> ReadResult {
    let mut misses = 0;
    while acknowledged_at.elapsed() < READ_BACK_DEADLINE {
        if let Ok(response) = client.get(&url).send().await {
            if response.status().is_success() {
                if let Ok(trace) = response.json::<Value>().await {
                    let spans = trace["spans"].as_array().map(Vec::as_slice).unwrap_or_default();
                    if spans.iter().any(|span| span["span_id"] == span_id.as_str()) {
                        return ReadResult { delay: Some(acknowledged_at.elapsed()), misses };
                    }
                }
            }
        }
        misses += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ReadResult { delay: None, misses }
}
