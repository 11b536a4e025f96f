//! `otlp-bench`: the OTLP ingestion benchmark of the OTLP issue.
//!
//! It answers, on the machine at hand, whether OTLP/HTTP protobuf ingest
//! keeps up with the native API and with PostgreSQL itself: it starts the
//! real `agentrace serve` on each backend, sends GenAI spans of about 1.5 KB
//! in 512-span requests from concurrent keep-alive clients, then the same
//! rows through the native API, and prints spans per second, request
//! latency p50/p99, peak server RSS and stored bytes per span (indexes
//! included) beside the OTLP bytes per span and PostgreSQL's own COPY rate
//! for the same rows, each target marked met or missed. `--smoke` runs it
//! at a tiny size so CI can check it still works.
//!
//! The server, the native workload and the COPY baseline are the ingestion
//! benchmark's own modules, shared so both benchmarks measure the same way.

#[allow(dead_code)]
#[path = "../ingest-bench/copy_baseline.rs"]
mod copy_baseline;
#[allow(dead_code)]
#[path = "../ingest-bench/workload.rs"]
mod native_workload;
#[allow(dead_code)]
#[path = "../ingest-bench/server.rs"]
mod server;
mod workload;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use bytes::Bytes;
use clap::Parser;
use reqwest::StatusCode;

use crate::native_workload::Workload;
use crate::server::{BackendKind, Server};

#[derive(Debug, Parser)]
#[command(
    name = "otlp-bench",
    about = "OTLP/HTTP ingestion benchmark: the real agentrace server on SQLite and PostgreSQL"
)]
struct Options {
    /// The agentrace binary; by default the one built beside this benchmark.
    #[arg(long)]
    agentrace: Option<PathBuf>,

    /// Backends to run, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<BackendKind>,

    /// Spans sent in each phase [default: 500000; smoke: 2048].
    #[arg(long)]
    spans: Option<usize>,

    /// Concurrent keep-alive clients [default: 4].
    #[arg(long, default_value_t = 4)]
    clients: usize,

    /// Spans per request [default: 512].
    #[arg(long, default_value_t = 512)]
    batch: usize,

    /// Run at a tiny size, to check that the benchmark works.
    #[arg(long)]
    smoke: bool,

    /// An extra argument for `agentrace serve` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("otlp-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> anyhow::Result<()> {
    let binary = server::find_binary(options.agentrace.clone())?;
    let spans = options.spans.unwrap_or(if options.smoke { 2_048 } else { 500_000 });
    println!(
        "otlp-bench: {spans} GenAI spans per phase, {} spans per request, {} keep-alive clients; server {}",
        options.batch,
        options.clients,
        binary.display()
    );
    if cfg!(debug_assertions) || options.smoke {
        println!("(a debug build or --smoke size: the figures below say nothing about speed)");
    }
    for backend in options.backends.clone() {
        let report = run_backend(backend, &binary, &options, spans)
            .await
            .with_context(|| format!("benchmarking the {} backend", backend.name()))?;
        report.print();
    }
    Ok(())
}

/// A store's size on disk, indexes included, and how many OTLP spans it holds.
enum Storage {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Storage {
    async fn bytes_and_otlp_spans(&self) -> anyhow::Result<(u64, u64)> {
        let like = format!("{}%", workload::TRACE_ID_HEX_PREFIX);
        match self {
            Storage::Sqlite(path) => {
                use agentrace_store_sqlite::search;
                let connection = agentrace_store_sqlite::connection::open(path).context("opening the SQLite file")?;
                search::attach(&connection, path).context("attaching the search index file")?;
                // The free-text index is written a moment behind ingest, in a
                // file of its own: count it once it has caught up.
                let deadline = Instant::now() + Duration::from_secs(120);
                while search::backlog(&connection)? > 0 {
                    anyhow::ensure!(Instant::now() < deadline, "the search index did not catch up");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                let mut bytes = 0;
                for schema in ["agent", search::SCHEMA] {
                    let pages: u64 =
                        connection.query_row(&format!("PRAGMA {schema}.page_count"), [], |row| row.get(0))?;
                    let page_size: u64 =
                        connection.query_row(&format!("PRAGMA {schema}.page_size"), [], |row| row.get(0))?;
                    bytes += pages * page_size;
                }
                let spans: u64 = connection.query_row(
                    "SELECT count(*) FROM agent.spans WHERE trace_id LIKE ?1",
                    [&like],
                    |row| row.get(0),
                )?;
                Ok((bytes, spans))
            }
            Storage::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                let row = client
                    .query_one(
                        // Every table of the schema: the spans and traces, and
                        // what agentrace keeps beside them (trace totals,
                        // statistics rollups).
                        "SELECT (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c \
                                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                                 WHERE n.nspname = 'agent' AND c.relkind = 'r')::int8, \
                         (SELECT count(*) FROM agent.spans WHERE trace_id LIKE $1)::int8",
                        &[&like],
                    )
                    .await?;
                Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
            }
        }
    }
}

async fn run_backend(
    backend: BackendKind,
    binary: &Path,
    options: &Options,
    spans: usize,
) -> anyhow::Result<BackendReport> {
    let sqlite = agentrace_testkit::sqlite::TempSqlite::new();
    let postgres = match backend {
        BackendKind::Postgres => Some(agentrace_testkit::postgres::fresh_database().await?),
        BackendKind::Sqlite => None,
    };
    let (store_args, storage) = match &postgres {
        Some(database) => {
            (vec!["--database-url".to_owned(), database.url().to_owned()], Storage::Postgres(database.url().to_owned()))
        }
        None => (
            vec!["--sqlite-path".to_owned(), sqlite.path().display().to_string()],
            Storage::Sqlite(sqlite.path().to_owned()),
        ),
    };
    let server = Server::start(binary, &store_args, &options.server_args).await?;

    let otlp_workload = Workload { prefix: "otlp".into(), total_spans: spans };
    let otlp_requests: Vec<(Bytes, usize)> = workload::requests(&otlp_workload, options.batch)
        .into_iter()
        .map(|request| (request.body, request.spans))
        .collect();
    let otlp_bytes: usize = otlp_requests.iter().map(|(body, _)| body.len()).sum();
    let (bytes_before, _) = storage.bytes_and_otlp_spans().await?;
    server.reset_peak_rss();
    let (writer_before, cpu_before) = (server.writer_totals().await?, server.cpu_time()?);
    let otlp = send_all(&server.base_url, Phase::Otlp, otlp_requests, options.clients).await?;
    let otlp_peak_rss = server.peak_rss_bytes()?;
    let otlp_writer = server.writer_totals().await? - writer_before;
    let otlp_server_cpu = server.cpu_time()? - cpu_before;
    let (bytes_after, stored_spans) = storage.bytes_and_otlp_spans().await?;
    ensure!(stored_spans == spans as u64, "{spans} OTLP spans acknowledged but {stored_spans} stored");

    let native_workload = Workload { prefix: "native".into(), total_spans: spans };
    let native_requests: Vec<(Bytes, usize)> =
        native_workload.requests(options.batch).into_iter().map(|request| (request.body, request.spans)).collect();
    server.reset_peak_rss();
    let native = send_all(&server.base_url, Phase::Native, native_requests, options.clients).await?;
    let native_peak_rss = server.peak_rss_bytes()?;
    server.stop().await?;

    let copy = match &postgres {
        Some(database) => {
            let filter = format!("trace_id LIKE '{}%'", workload::TRACE_ID_HEX_PREFIX);
            Some(copy_baseline::measure_where(database.url(), &filter).await?)
        }
        None => None,
    };
    Ok(BackendReport {
        backend: backend.name(),
        spans,
        otlp,
        otlp_peak_rss,
        otlp_writer,
        otlp_server_cpu,
        otlp_bytes_per_span: otlp_bytes as f64 / spans as f64,
        stored_bytes_per_span: bytes_after.saturating_sub(bytes_before) as f64 / spans as f64,
        native,
        native_peak_rss,
        copy,
    })
}

#[derive(Clone, Copy)]
enum Phase {
    Otlp,
    Native,
}

struct Outcome {
    spans: u64,
    wall: Duration,
    latencies: Vec<Duration>,
    refusals: u64,
}

impl Outcome {
    fn spans_per_second(&self) -> f64 {
        self.spans as f64 / self.wall.as_secs_f64()
    }

    fn latency(&self, quantile: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * quantile).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }
}

/// Sends every request from `clients` keep-alive clients as fast as the
/// server acknowledges; a 429 or 503 is waited out (its `Retry-After`) and
/// sent again, as exporters do. Anything else that is not a full success
/// stops the benchmark: a rate measured over lost data would mean nothing.
async fn send_all(
    base_url: &str,
    phase: Phase,
    requests: Vec<(Bytes, usize)>,
    clients: usize,
) -> anyhow::Result<Outcome> {
    let (path, content_type) = match phase {
        Phase::Otlp => ("/v1/traces", "application/x-protobuf"),
        Phase::Native => ("/api/v1/ingest", "application/json"),
    };
    let url = format!("{base_url}{path}");
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let spans = Arc::new(AtomicU64::new(0));
    let refusals = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients.max(1))
        .map(|_| {
            let (requests, next, spans, refusals, url) =
                (Arc::clone(&requests), Arc::clone(&next), Arc::clone(&spans), Arc::clone(&refusals), url.clone());
            tokio::spawn(async move {
                let client =
                    reqwest::Client::builder().pool_max_idle_per_host(1).timeout(Duration::from_secs(120)).build()?;
                let mut latencies = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((body, count)) = requests.get(index) else { break };
                    loop {
                        let sent = Instant::now();
                        let response =
                            client.post(&url).header("content-type", content_type).body(body.clone()).send().await?;
                        let status = response.status();
                        let retry_after =
                            response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
                        let reply = response.bytes().await?;
                        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                            refusals.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_secs(retry_after.unwrap_or(1))).await;
                            continue;
                        }
                        latencies.push(sent.elapsed());
                        check_reply(phase, status, &reply, *count)?;
                        spans.fetch_add(*count as u64, Ordering::Relaxed);
                        break;
                    }
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.context("a client task panicked")??);
    }
    Ok(Outcome {
        spans: spans.load(Ordering::Relaxed),
        wall: started.elapsed(),
        latencies,
        refusals: refusals.load(Ordering::Relaxed),
    })
}

fn check_reply(phase: Phase, status: StatusCode, reply: &[u8], spans: usize) -> anyhow::Result<()> {
    if status != StatusCode::OK {
        bail!("the server answered {status}: {}", String::from_utf8_lossy(reply));
    }
    match phase {
        // A full OTLP success is the empty response; anything else is a partial success.
        Phase::Otlp => ensure!(reply.is_empty(), "a partial success: {:?}", String::from_utf8_lossy(reply)),
        Phase::Native => {
            let reply: serde_json::Value = serde_json::from_slice(reply)?;
            ensure!(reply["accepted"]["spans"] == spans, "not every span was accepted: {reply}");
        }
    }
    Ok(())
}

struct BackendReport {
    backend: &'static str,
    spans: usize,
    otlp: Outcome,
    otlp_peak_rss: u64,
    otlp_writer: server::WriterTotals,
    otlp_server_cpu: Duration,
    otlp_bytes_per_span: f64,
    stored_bytes_per_span: f64,
    native: Outcome,
    native_peak_rss: u64,
    copy: Option<copy_baseline::CopyOutcome>,
}

const MIB: f64 = 1024.0 * 1024.0;

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

impl BackendReport {
    fn print(&self) {
        println!();
        println!("== {} ==", self.backend);
        println!(
            "  {:<26} {:>10} {:>10} {:>10} {:>10} {:>9}",
            "phase", "spans/s", "req p50", "req p99", "peak RSS", "refusals"
        );
        for (name, outcome, peak) in [
            ("OTLP/HTTP protobuf", &self.otlp, self.otlp_peak_rss),
            ("native JSON API", &self.native, self.native_peak_rss),
        ] {
            println!(
                "  {:<26} {:>10.0} {:>8.1}ms {:>8.1}ms {:>7.1}MiB {:>9}",
                name,
                outcome.spans_per_second(),
                outcome.latency(0.50).as_secs_f64() * 1e3,
                outcome.latency(0.99).as_secs_f64() * 1e3,
                peak as f64 / MIB,
                outcome.refusals
            );
        }
        let wall = self.otlp.wall.as_secs_f64();
        println!(
            "  where the OTLP time goes: the writer spent {:.0}% of the wall time inside TraceStore::write \
             ({:.0} batches of {:.0} items on average); the server used {:.0}% of one core",
            self.otlp_writer.commit_seconds / wall * 100.0,
            self.otlp_writer.batches,
            self.otlp_writer.items / self.otlp_writer.batches.max(1.0),
            self.otlp_server_cpu.as_secs_f64() / wall * 100.0,
        );
        if let Some(copy) = &self.copy {
            println!(
                "  {:<26} {:>10.0}   (the same OTLP rows, COPY into a fresh database)",
                "PostgreSQL COPY",
                copy.rows_per_second()
            );
        }
        println!(
            "  storage: {:.0} bytes per span stored (tables and indexes) for {:.0} OTLP protobuf bytes per span: {:.2}x",
            self.stored_bytes_per_span,
            self.otlp_bytes_per_span,
            self.stored_bytes_per_span / self.otlp_bytes_per_span
        );
        println!("  targets ({} spans):", self.spans);
        if let Some(copy) = &self.copy {
            let share = self.otlp.spans_per_second() / copy.rows_per_second();
            println!("    OTLP ≥ 50% of COPY (stretch 75%): {:.0}% {}", share * 100.0, verdict(share >= 0.5));
        }
        let p99 = self.otlp.latency(0.99);
        println!(
            "    request p99 < 250 ms: {:.1} ms {}",
            p99.as_secs_f64() * 1e3,
            verdict(p99 < Duration::from_millis(250))
        );
        println!(
            "    peak RSS < 256 MB: {:.1} MiB {}",
            self.otlp_peak_rss as f64 / MIB,
            verdict(self.otlp_peak_rss < 256 * 1024 * 1024)
        );
        let ratio = self.stored_bytes_per_span / self.otlp_bytes_per_span;
        println!("    stored bytes ≤ 2x OTLP bytes (stretch 1.5x): {ratio:.2}x {}", verdict(ratio <= 2.0));
    }
}
