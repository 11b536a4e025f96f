//! `ingest-bench`: the ingestion benchmark of the ingestion-core issue.
//!
//! It exists to answer, on the machine at hand, whether agentrace keeps its
//! ingestion promises at speed: it starts the real `agentrace serve` on each
//! backend, sends native-API batches of realistic ~1.5 KB spans from
//! concurrent keep-alive clients, then one span per request, then a
//! 100,000-span burst, and prints throughput, acknowledgement latency,
//! acknowledgement-to-queryable delay and server memory beside PostgreSQL's
//! own COPY rate for the same rows, with each target marked met or missed.
//! `--smoke` runs the same code at a tiny size so CI can check it still works.

mod copy_baseline;
mod load;
mod report;
mod server;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::report::{BackendReport, PhaseReport};
use crate::server::{BackendKind, MachineCpu, Server};
use crate::workload::Workload;

#[derive(Debug, Parser)]
#[command(name = "ingest-bench", about = "Ingestion benchmark: the real agentrace server on SQLite and PostgreSQL")]
struct Options {
    /// The agentrace binary; by default the one built beside this benchmark.
    #[arg(long)]
    agentrace: Option<PathBuf>,

    /// Backends to run, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<BackendKind>,

    /// Spans sent in batches [default: 200000; smoke: 2000].
    #[arg(long)]
    spans: Option<usize>,

    /// Concurrent clients sending batches [default: 8; smoke: 4].
    #[arg(long)]
    clients: Option<usize>,

    /// Spans per batch request [default: 500; smoke: 100].
    #[arg(long)]
    batch: Option<usize>,

    /// Spans sent one per request [default: 100000; smoke: 300].
    ///
    /// About ten seconds: the phase follows the batch phase, whose WAL
    /// starts a checkpoint (13 s of writes on the test cluster) about when
    /// it begins. A three-second phase (30,000 spans) measured whether it
    /// fell inside that checkpoint: 9,100-11,700 spans/s from run to run.
    #[arg(long)]
    single_spans: Option<usize>,

    /// Concurrent clients sending one span per request [default: 128; smoke: 16].
    ///
    /// Each client waits for its acknowledgement, which includes a commit's
    /// WAL flush, so the phase's rate is at most clients ÷ acknowledgement
    /// time: 10,000 one-span requests a second acknowledged in 5-10 ms are
    /// 50-100 requests in flight. With fewer clients the phase measures the
    /// latency of one commit rather than what group commit can carry.
    #[arg(long)]
    single_clients: Option<usize>,

    /// Spans in the burst during which peak memory is watched [default: 100000; smoke: 2000].
    #[arg(long)]
    burst_spans: Option<usize>,

    /// Concurrent clients sending the burst, in batches of --batch [default: 64; smoke: 16].
    #[arg(long)]
    burst_clients: Option<usize>,

    /// Acknowledged requests read back per phase, spread evenly [default: 500; smoke: 20].
    #[arg(long)]
    read_back_samples: Option<usize>,

    /// Run everything at a tiny size, to check that the benchmark works.
    #[arg(long)]
    smoke: bool,

    /// An extra argument for `agentrace serve` (repeatable), e.g.
    /// --server-arg=--batch-items=8000, to try other settings.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
}

/// The sizes of one run, after `--smoke` and the defaults are applied.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub smoke: bool,
    pub batch_spans: usize,
    pub batch_clients: usize,
    pub spans_per_request: usize,
    pub single_spans: usize,
    pub single_clients: usize,
    pub burst_spans: usize,
    pub burst_clients: usize,
    pub read_back_samples: usize,
}

impl Sizes {
    fn from_options(options: &Options) -> Sizes {
        let pick =
            |given: Option<usize>, full: usize, smoke: usize| given.unwrap_or(if options.smoke { smoke } else { full });
        Sizes {
            smoke: options.smoke,
            batch_spans: pick(options.spans, 200_000, 2_000),
            batch_clients: pick(options.clients, 8, 4),
            spans_per_request: pick(options.batch, 500, 100),
            single_spans: pick(options.single_spans, 100_000, 300),
            single_clients: pick(options.single_clients, 128, 16),
            burst_spans: pick(options.burst_spans, 100_000, 2_000),
            burst_clients: pick(options.burst_clients, 64, 16),
            read_back_samples: pick(options.read_back_samples, 500, 20),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ingest-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> anyhow::Result<()> {
    let binary = server::find_binary(options.agentrace.clone())?;
    let sizes = Sizes::from_options(&options);
    report::print_preamble(&binary, &sizes);
    for backend in options.backends.clone() {
        let report = run_backend(backend, &binary, &options.server_args, sizes)
            .await
            .with_context(|| format!("benchmarking the {} backend", backend.name()))?;
        report.print();
    }
    Ok(())
}

async fn run_backend(
    backend: BackendKind,
    binary: &std::path::Path,
    server_args: &[String],
    sizes: Sizes,
) -> anyhow::Result<BackendReport> {
    // Each backend starts empty: a fresh SQLite file, a fresh database.
    let sqlite = agentrace_testkit::sqlite::TempSqlite::new();
    let postgres = match backend {
        BackendKind::Postgres => Some(agentrace_testkit::postgres::fresh_database().await?),
        BackendKind::Sqlite => None,
    };
    let store_args = match &postgres {
        Some(database) => vec!["--database-url".to_owned(), database.url().to_owned()],
        None => vec!["--sqlite-path".to_owned(), sqlite.path().display().to_string()],
    };

    let server = Server::start(binary, &store_args, server_args).await?;
    // Let start-up allocations settle before calling the process idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = server.rss_bytes()?;

    let phases = [
        ("batch", "batch", sizes.batch_spans, sizes.spans_per_request, sizes.batch_clients),
        ("one span per request", "single", sizes.single_spans, 1, sizes.single_clients),
        ("burst", "burst", sizes.burst_spans, sizes.spans_per_request, sizes.burst_clients),
    ];
    let mut reports = Vec::new();
    let mut mean_span_bytes = 0.0;
    for (name, prefix, spans, spans_per_request, clients) in phases {
        let workload = Workload { prefix: prefix.to_owned(), total_spans: spans };
        let requests = workload.requests(spans_per_request);
        if prefix == "batch" {
            let body_bytes: usize = requests.iter().map(|request| request.body.len()).sum();
            mean_span_bytes = body_bytes as f64 / spans.max(1) as f64;
        }
        let peak_is_per_phase = server.reset_peak_rss();
        let writer_before = server.writer_totals().await?;
        let server_cpu_before = server.cpu_time()?;
        let bench_cpu_before = server::process_cpu_time("/proc/self/stat")?;
        let machine_before = MachineCpu::now();

        let (mut outcome, reads) = load::run(&server.base_url, requests, clients, sizes.read_back_samples).await?;

        let machine_busy = MachineCpu::now().busy_since(&machine_before);
        let bench_cpu = server::process_cpu_time("/proc/self/stat")? - bench_cpu_before;
        let server_cpu = server.cpu_time()? - server_cpu_before;
        let writer = server.writer_totals().await? - writer_before;
        let peak_rss = server.peak_rss_bytes()?;
        outcome.read_back = reads.finish().await?;
        reports.push(PhaseReport {
            name,
            clients,
            spans_per_request,
            peak_rss,
            peak_is_per_phase,
            writer,
            server_cpu,
            bench_cpu,
            machine_busy,
            outcome,
        });
    }
    server.stop().await?;

    let copy = match &postgres {
        Some(database) => Some(copy_baseline::measure(database.url(), "batch").await?),
        None => None,
    };
    Ok(BackendReport { backend: backend.name(), sizes, idle_rss, mean_span_bytes, phases: reports, copy })
}
