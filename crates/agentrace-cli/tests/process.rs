//! Tests that need the real `agentrace` process: durability across SIGKILL,
//! backpressure with bounded memory while the writer is held up, and a
//! graceful stop that finishes every write in flight.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

/// A running `agentrace serve` on a free port.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(store_args: &[&str], extra_args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_agentrace"))
            .args(["serve", "--port", "0", "--log", "warn"])
            .args(store_args)
            .args(extra_args)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("agentrace starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let base_url = loop {
            let line = lines.next().expect("the server prints its address").expect("stdout line");
            if let Some(url) = line.split("listening on ").nth(1) {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base_url }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Peak resident memory of the server so far, in bytes.
    fn peak_rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("proc status");
        let line = status.lines().find(|line| line.starts_with("VmHWM:")).expect("VmHWM line");
        let kib: u64 = line.split_whitespace().nth(1).expect("value").parse().expect("number");
        kib * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spans_body(trace_id: &str, first: usize, count: usize) -> Value {
    let spans: Vec<Value> = (first..first + count)
        .map(|index| {
            json!({"trace_id": trace_id, "span_id": format!("s-{index}"), "span_type": "model_call",
                   "name": "gpt-4o", "start_time": 1772359200000_i64, "end_time": 1772359201000_i64,
                   "input": {"prompt": "p".repeat(500)}, "output": {"text": "o".repeat(500)}})
        })
        .collect();
    json!({ "spans": spans })
}

/// Sends batches from `clients` concurrent clients until `stop` is set;
/// returns the (trace_id, span_id) pairs acknowledged with 2xx, and the
/// statuses of the other replies.
async fn send_until(
    base_url: String,
    clients: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (BTreeSet<(String, String)>, Vec<(StatusCode, Option<String>)>) {
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..clients).map(|client_index| {
        let (base_url, stop) = (base_url.clone(), Arc::clone(&stop));
        let (acknowledged, refused) = (Arc::clone(&acknowledged), Arc::clone(&refused));
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
            let mut request_index = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let trace_id = format!("t-{client_index}-{request_index}");
                let body = spans_body(&trace_id, 0, 50);
                request_index += 1;
                let Ok(response) = client.post(format!("{base_url}/api/v1/ingest")).json(&body).send().await else {
                    continue;
                };
                let status = response.status();
                if status.is_success() {
                    let mut acknowledged = acknowledged.lock().unwrap();
                    for index in 0..50 {
                        acknowledged.insert((trace_id.clone(), format!("s-{index}")));
                    }
                } else {
                    let retry_after =
                        response.headers().get("retry-after").map(|value| value.to_str().unwrap().to_owned());
                    refused.lock().unwrap().push((status, retry_after));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    });
    futures::future::join_all(tasks).await;
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    let refused = std::mem::take(&mut *refused.lock().unwrap());
    (acknowledged, refused)
}

async fn stored_span_ids(base_url: &str, trace_ids: &BTreeSet<String>) -> BTreeSet<(String, String)> {
    let client = reqwest::Client::new();
    let mut stored = BTreeSet::new();
    for trace_id in trace_ids {
        let response = client.get(format!("{base_url}/api/v1/traces/{trace_id}")).send().await.unwrap();
        if response.status() == StatusCode::NOT_FOUND {
            continue;
        }
        let trace: Value = response.json().await.unwrap();
        for span in trace["spans"].as_array().unwrap() {
            stored.insert((trace_id.clone(), span["span_id"].as_str().unwrap().to_owned()));
        }
    }
    stored
}

async fn acknowledged_spans_survive_sigkill(store_args: &[&str]) {
    let server = Server::start(store_args, &[]);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = tokio::spawn(send_until(server.base_url.clone(), 8, Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Killed while requests are in flight: only acknowledged ones must survive.
    server.kill();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (acknowledged, _) = sender.await.unwrap();
    assert!(acknowledged.len() >= 500, "the test must acknowledge real traffic, got {}", acknowledged.len());

    let restarted = Server::start(store_args, &[]);
    let trace_ids: BTreeSet<String> = acknowledged.iter().map(|(trace_id, _)| trace_id.clone()).collect();
    let stored = stored_span_ids(&restarted.base_url, &trace_ids).await;
    let lost: Vec<_> = acknowledged.difference(&stored).take(5).collect();
    assert!(lost.is_empty(), "acknowledged spans lost after SIGKILL: {lost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_sigkill_on_sqlite() {
    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().unwrap().to_owned();
    acknowledged_spans_survive_sigkill(&["--sqlite-path", &path]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_sigkill_on_postgres() {
    let database = agentrace_testkit::postgres::fresh_database().await.unwrap();
    acknowledged_spans_survive_sigkill(&["--database-url", database.url()]).await;
}

const MAX_PEAK_RSS: u64 = 256 * 1024 * 1024;

/// Holds the writer up with `hold`, keeps clients sending until the queue
/// pushes back, then calls `release` and checks what was acknowledged.
async fn backpressure_keeps_memory_bounded<Hold, Release>(store_args: &[&str], hold: Hold, release: Release)
where
    Hold: std::future::Future<Output = ()>,
    Release: FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
{
    // 16 clients with one 51-item request each in flight overfill a 400-item queue.
    let server = Server::start(store_args, &["--queue-items", "400"]);
    hold.await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = tokio::spawn(send_until(server.base_url.clone(), 16, Arc::clone(&stop)));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(server.peak_rss_bytes() < MAX_PEAK_RSS, "peak RSS {} bytes", server.peak_rss_bytes());
    }
    release().await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (acknowledged, refused) = sender.await.unwrap();
    let peak = server.peak_rss_bytes();
    assert!(peak < MAX_PEAK_RSS, "peak RSS {peak} bytes");
    let pushed_back: Vec<_> =
        refused.iter().filter(|(status, _)| status.as_u16() == 429 || status.as_u16() == 503).collect();
    assert!(!pushed_back.is_empty(), "a held-up writer must make the server push back: {refused:?}");
    assert!(pushed_back.iter().all(|(_, retry_after)| retry_after.is_some()), "429/503 carry Retry-After");
    assert!(!acknowledged.is_empty(), "queued requests are acknowledged once the writer is released");
    let trace_ids: BTreeSet<String> = acknowledged.iter().map(|(trace_id, _)| trace_id.clone()).collect();
    let stored = stored_span_ids(&server.base_url, &trace_ids).await;
    assert!(acknowledged.is_subset(&stored), "every acknowledged span is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_on_sqlite() {
    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().unwrap().to_owned();
    let lock = Arc::new(Mutex::new(None));
    let hold = {
        let (lock, path) = (Arc::clone(&lock), path.clone());
        async move {
            // The server created and migrated the file; take its write lock.
            let connection = agentrace_store_sqlite::connection::open(Path::new(&path)).unwrap();
            connection.execute_batch("BEGIN IMMEDIATE").unwrap();
            *lock.lock().unwrap() = Some(connection);
        }
    };
    let release = move || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
        Box::pin(async move {
            let connection = lock.lock().unwrap().take().unwrap();
            connection.execute_batch("ROLLBACK").unwrap();
        })
    };
    backpressure_keeps_memory_bounded(&["--sqlite-path", &path], hold, release).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_on_postgres() {
    let database = agentrace_testkit::postgres::fresh_database().await.unwrap();
    let url = database.url().to_owned();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let client = Arc::new(client);
    let hold = {
        let client = Arc::clone(&client);
        async move {
            client.batch_execute("BEGIN; LOCK TABLE agent.spans IN EXCLUSIVE MODE").await.unwrap();
        }
    };
    let release = move || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
        Box::pin(async move {
            client.batch_execute("ROLLBACK").await.unwrap();
        })
    };
    backpressure_keeps_memory_bounded(&["--database-url", &url], hold, release).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_queue_and_exits_cleanly() {
    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().unwrap().to_owned();
    let mut server = Server::start(&["--sqlite-path", &path], &[]);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = tokio::spawn(send_until(server.base_url.clone(), 8, Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let signalled = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(signalled.success());
    let exit = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().unwrap();
        (server, status)
    });
    let (server, status) = tokio::time::timeout(Duration::from_secs(30), exit).await.expect("exits promptly").unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    drop(server);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (acknowledged, _) = sender.await.unwrap();
    assert!(!acknowledged.is_empty());

    let restarted = Server::start(&["--sqlite-path", &path], &[]);
    let trace_ids: BTreeSet<String> = acknowledged.iter().map(|(trace_id, _)| trace_id.clone()).collect();
    let stored = stored_span_ids(&restarted.base_url, &trace_ids).await;
    assert!(acknowledged.is_subset(&stored), "every acknowledged span is stored after a graceful stop");
}

/// The value of an unlabelled gauge on the server's `/metrics` page.
async fn gauge(base_url: &str, name: &str) -> f64 {
    let page = reqwest::get(format!("{base_url}/metrics")).await.unwrap().text().await.unwrap();
    page.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_two_writes_in_flight_on_postgres() {
    let database = agentrace_testkit::postgres::fresh_database().await.unwrap();
    let mut server = Server::start(&["--database-url", database.url()], &[]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let ingest = format!("{}/api/v1/ingest", server.base_url);
    for trace_id in ["t-held-1", "t-held-2"] {
        let reply = client.post(&ingest).json(&spans_body(trace_id, 0, 1)).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
    }

    // Another session holds both traces, so the two writes touching them
    // stay inside their transactions and the request after them queues.
    let holder = database.connect().await.unwrap();
    holder
        .batch_execute("BEGIN; SELECT 1 FROM agent.traces WHERE trace_id IN ('t-held-1', 't-held-2') FOR UPDATE")
        .await
        .unwrap();
    let send = |trace_id: &'static str| {
        let (client, ingest) = (client.clone(), ingest.clone());
        tokio::spawn(
            async move { client.post(&ingest).json(&spans_body(trace_id, 1, 10)).send().await.unwrap().status() },
        )
    };
    // One after the other, so that each is a batch of its own.
    let first = send("t-held-1");
    database.wait_for_lock_waiters(1).await.unwrap();
    let in_flight = [first, send("t-held-2")];
    database.wait_for_lock_waiters(2).await.unwrap();
    let queued = send("t-queued");
    let started = Instant::now();
    while gauge(&server.base_url, "agentrace_queue_items").await < 30.0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the third request reaches the queue");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let signalled = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(signalled.success());
    // Once the server stops accepting connections it has seen the signal.
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    while tokio::net::TcpStream::connect(&address).await.is_ok() {
        assert!(started.elapsed() < Duration::from_secs(30), "the server stops accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(server.child.try_wait().unwrap().is_none(), "the server waits for the writes in flight");

    holder.batch_execute("ROLLBACK").await.unwrap();
    let exit = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().unwrap();
        (server, status)
    });
    let (server, status) = tokio::time::timeout(Duration::from_secs(30), exit).await.expect("exits promptly").unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    drop(server);
    for request in in_flight.into_iter().chain([queued]) {
        assert_eq!(request.await.unwrap(), StatusCode::OK, "every request in flight or queued is acknowledged");
    }

    let restarted = Server::start(&["--database-url", database.url()], &[]);
    let trace_ids: BTreeSet<String> = ["t-held-1", "t-held-2", "t-queued"].map(String::from).into();
    let stored = stored_span_ids(&restarted.base_url, &trace_ids).await;
    for trace_id in &trace_ids {
        for index in 1..11 {
            assert!(stored.contains(&(trace_id.clone(), format!("s-{index}"))), "{trace_id}/s-{index} stored");
        }
    }
}
