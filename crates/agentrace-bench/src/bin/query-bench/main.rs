//! `query-bench`: the read-path benchmark of the query-API issue.
//!
//! It answers, on the machine at hand, whether reading stays fast on a
//! million spans: on each backend it loads realistic agent traces (see
//! `dataset`) through the store's own `write`, a small set (10,000 spans)
//! into one database and the full one into another, starts the real
//! `agentrace serve` on each, and times the reads users make all day — the
//! trace list's first page and filtered pages, a 1,000-span and a 50-span
//! trace, a session, 24-hour statistics — through the HTTP API and directly
//! through the store trait, in rounds alternating between the two sizes.
//! It prints p50 / p95 / p99 at both sizes, the growth between them, and
//! each target met or missed; the exit code is 2 when one was missed.
//! `--smoke` runs the same code at a tiny size so CI can check it still
//! works.
//!
//! The server is the ingestion benchmark's module, shared so every
//! benchmark starts and watches it the same way.

mod dataset;
mod load;
mod probes;
mod report;
#[allow(dead_code)]
#[path = "../ingest-bench/server.rs"]
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use agentrace_store::TraceStore;
use anyhow::{bail, Context};
use clap::Parser;

use crate::dataset::{Dataset, SPANS_PER_TRACE, TRACES_PER_SESSION};
use crate::probes::{Latency, Loaded, Path, Read};
use crate::report::{BackendReport, Measurement, StageReport};
use crate::server::{BackendKind, MachineCpu, Server};

#[derive(Debug, Parser)]
#[command(name = "query-bench", about = "Read-path benchmark: the real agentrace server on a million spans")]
struct Options {
    /// The agentrace binary; by default the one built beside this benchmark.
    #[arg(long)]
    agentrace: Option<PathBuf>,

    /// Backends to run, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "postgres,sqlite")]
    backends: Vec<BackendKind>,

    /// Spans of 50-span traces at the full size on PostgreSQL [default: 1000000; smoke: 2000].
    #[arg(long)]
    spans: Option<u64>,

    /// The same on SQLite [default: 200000; smoke: 2000].
    #[arg(long)]
    sqlite_spans: Option<u64>,

    /// Spans of 50-span traces at the small size, the baseline of the growth figures
    /// [default: 10000; smoke: 1000].
    #[arg(long)]
    small_spans: Option<u64>,

    /// Spans of the one long trace [default: 1000; smoke: 200].
    #[arg(long)]
    big_trace_spans: Option<usize>,

    /// Timed reads of each kind except statistics [default: 300; smoke: 5].
    #[arg(long)]
    samples: Option<usize>,

    /// Timed statistics reads of each kind [default: 40; smoke: 3].
    #[arg(long)]
    stats_samples: Option<usize>,

    /// An empty PostgreSQL database to load with the full size, left as
    /// loaded afterwards (to inspect plans); by default a throwaway one from
    /// the test cluster (agentrace-testkit), which always holds the small
    /// size.
    #[arg(long, env = "AGENTRACE_BENCH_DATABASE_URL")]
    database_url: Option<String>,

    /// Run everything at a tiny size, to check that the benchmark works.
    #[arg(long)]
    smoke: bool,

    /// An extra argument for `agentrace serve` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
}

/// The sizes of one run, after `--smoke` and the defaults are applied.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub smoke: bool,
    pub postgres_spans: u64,
    pub sqlite_spans: u64,
    pub small_spans: u64,
    pub big_trace_spans: usize,
    pub samples: usize,
    pub stats_samples: usize,
}

impl Sizes {
    fn from_options(options: &Options) -> anyhow::Result<Sizes> {
        let smoke = options.smoke;
        let pick = |given: Option<u64>, full: u64, tiny: u64| given.unwrap_or(if smoke { tiny } else { full });
        let sizes = Sizes {
            smoke,
            postgres_spans: pick(options.spans, 1_000_000, 2_000),
            sqlite_spans: pick(options.sqlite_spans, 200_000, 2_000),
            small_spans: pick(options.small_spans, 10_000, 1_000),
            big_trace_spans: options.big_trace_spans.unwrap_or(if smoke { 200 } else { 1_000 }),
            samples: options.samples.unwrap_or(if smoke { 5 } else { 300 }),
            stats_samples: options.stats_samples.unwrap_or(if smoke { 3 } else { 40 }),
        };
        let session_spans = SPANS_PER_TRACE as u64 * TRACES_PER_SESSION;
        for (flag, spans) in [
            ("--spans", sizes.postgres_spans),
            ("--sqlite-spans", sizes.sqlite_spans),
            ("--small-spans", sizes.small_spans),
        ] {
            if spans == 0 || spans % session_spans != 0 {
                bail!("{flag} must be a positive multiple of {session_spans} (whole sessions of 50-span traces)");
            }
        }
        if sizes.postgres_spans < sizes.small_spans || sizes.sqlite_spans < sizes.small_spans {
            bail!("--spans and --sqlite-spans must be at least --small-spans ({})", sizes.small_spans);
        }
        if sizes.big_trace_spans < 3 {
            bail!("--big-trace-spans must be at least 3 (a root, a node and a model call)");
        }
        if sizes.samples == 0 || sizes.stats_samples == 0 {
            bail!("--samples and --stats-samples must be at least 1");
        }
        Ok(sizes)
    }

    fn full_spans(&self, backend: BackendKind) -> u64 {
        match backend {
            BackendKind::Postgres => self.postgres_spans,
            BackendKind::Sqlite => self.sqlite_spans,
        }
    }
}

/// The database a backend run reads, kept alive (and dropped) with it.
pub enum Storage {
    Postgres {
        url: String,
        /// The test cluster's database, dropped after the run; `None` for
        /// one the user named, which is left as loaded for inspection.
        _throwaway: Option<agentrace_testkit::postgres::TestDatabase>,
    },
    Sqlite(agentrace_testkit::sqlite::TempSqlite),
}

impl Storage {
    async fn fresh(backend: BackendKind, database_url: Option<&str>) -> anyhow::Result<Storage> {
        Ok(match (backend, database_url) {
            (BackendKind::Postgres, Some(url)) => Storage::Postgres { url: url.to_owned(), _throwaway: None },
            (BackendKind::Postgres, None) => {
                let database = agentrace_testkit::postgres::fresh_database().await?;
                Storage::Postgres { url: database.url().to_owned(), _throwaway: Some(database) }
            }
            (BackendKind::Sqlite, _) => Storage::Sqlite(agentrace_testkit::sqlite::TempSqlite::new()),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Storage::Postgres { .. } => "postgres",
            Storage::Sqlite(_) => "sqlite",
        }
    }

    fn server_args(&self) -> Vec<String> {
        match self {
            Storage::Postgres { url, .. } => vec!["--database-url".to_owned(), url.clone()],
            Storage::Sqlite(file) => vec!["--sqlite-path".to_owned(), file.path().display().to_string()],
        }
    }

    /// Migrates the empty database and opens the store on it.
    async fn open(&self) -> anyhow::Result<Arc<dyn TraceStore>> {
        Ok(match self {
            Storage::Postgres { url, .. } => {
                agentrace_store_postgres::migrations::apply_url(url).await.context("migrating")?;
                let store = agentrace_store_postgres::PostgresStore::connect(url, 2).await?;
                let spans = store.count_spans().await?;
                if spans != 0 {
                    bail!("the database already holds {spans} spans: query-bench needs an empty one");
                }
                Arc::new(store)
            }
            Storage::Sqlite(file) => {
                let path = file.path().to_owned();
                let store = tokio::task::spawn_blocking(move || agentrace_store_sqlite::SqliteStore::open(&path));
                Arc::new(store.await??)
            }
        })
    }

    /// Brings the planner's statistics and the visibility map up to date,
    /// as autovacuum (PostgreSQL) would have on a database that grew over
    /// days, and as `ANALYZE` does for SQLite's query planner.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        match self {
            Storage::Postgres { url, .. } => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                client.batch_execute("VACUUM (ANALYZE) agent.traces, agent.spans").await.context("VACUUM ANALYZE")?;
            }
            Storage::Sqlite(file) => {
                let path = file.path().to_owned();
                tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                    let connection = agentrace_store_sqlite::connection::open(&path)?;
                    connection.execute_batch("ANALYZE agent")?;
                    Ok(())
                })
                .await??;
            }
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    match run(options).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(error) => {
            eprintln!("query-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every backend; `Ok(false)` when a target was missed.
async fn run(options: Options) -> anyhow::Result<bool> {
    let binary = server::find_binary(options.agentrace.clone())?;
    let sizes = Sizes::from_options(&options)?;
    report::print_preamble(&binary, &sizes);
    let mut all_met = true;
    for backend in options.backends.clone() {
        let report = run_backend(backend, &binary, &options, sizes)
            .await
            .with_context(|| format!("benchmarking the {} backend", backend.name()))?;
        all_met &= report.print();
    }
    Ok(all_met)
}

async fn run_backend(
    backend: BackendKind,
    binary: &std::path::Path,
    options: &Options,
    sizes: Sizes,
) -> anyhow::Result<BackendReport> {
    // Every trace starts before this instant; "the last 24 hours" end here.
    let dataset = Dataset::new(chrono::Utc::now(), sizes.big_trace_spans);
    let spans_per_trace = SPANS_PER_TRACE as u64;
    // Both sizes stay loaded, each in a database of its own behind a server
    // of its own, so that their reads can be timed in alternation: the
    // growth figure compares the two sizes under the same machine load,
    // not a small size measured minutes before a busier (or quieter) spell.
    // A database named with --database-url holds the full size.
    let small_storage = Storage::fresh(backend, None).await?;
    let full_storage = Storage::fresh(backend, options.database_url.as_deref()).await?;
    let mut stages = Vec::new();
    let mut servers = Vec::new();
    for (storage, spans) in [(&small_storage, sizes.small_spans), (&full_storage, sizes.full_spans(backend))] {
        let store = storage.open().await?;
        let traces = spans / spans_per_trace;
        let load = load::load(&store, storage, dataset, 0, traces, true).await?;
        let server = Server::start(binary, &storage.server_args(), &options.server_args).await?;
        let rollup_catch_up = wait_for_rollups(&store).await?;
        servers.push((server, store, Loaded { dataset, traces }));
        stages.push((spans, traces, load, rollup_catch_up));
    }
    let measured = measure(&servers, &sizes).await;
    for (server, _, _) in servers {
        server.stop().await?;
    }
    let (mut measurements, machine) = measured?;
    let stages = stages
        .into_iter()
        .map(|(spans, traces, load, rollup_catch_up)| StageReport {
            spans: spans + sizes.big_trace_spans as u64,
            traces: traces + 1,
            load,
            rollup_catch_up,
            measurements: measurements.remove(0),
            machine,
        })
        .collect();
    Ok(BackendReport { backend, sizes, stages })
}

/// Waits until the server's background task has brought the statistics
/// rollups up to date with everything loaded, as it is in steady state
/// (until then statistics read the spans of the minutes still waiting);
/// returns how long that took.
async fn wait_for_rollups(store: &Arc<dyn TraceStore>) -> anyhow::Result<Duration> {
    let started = std::time::Instant::now();
    while store.rollup_backlog().await? > 0 {
        if started.elapsed() > Duration::from_secs(1_800) {
            anyhow::bail!("the statistics rollups did not catch up within 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(started.elapsed())
}

/// How busy the machine was while a stage was measured.
#[derive(Debug, Clone, Copy)]
pub struct MachineLoad {
    /// Share of all CPUs busy, from `/proc/stat`.
    pub busy: f64,
    /// The one-minute load average at the end, from `/proc/loadavg`.
    pub load_average: f64,
}

/// Rounds each read's samples are split into, alternating between the sizes.
const ROUNDS: usize = 10;

/// Times every read on each (server, store, data) in `stages`, in rounds
/// that alternate between them; returns each one's figures, in order.
async fn measure(
    stages: &[(Server, Arc<dyn TraceStore>, Loaded)],
    sizes: &Sizes,
) -> anyhow::Result<(Vec<Vec<Measurement>>, MachineLoad)> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let before = MachineCpu::now();
    let mut measurements: Vec<Vec<Measurement>> = stages.iter().map(|_| Vec::new()).collect();
    for read in Read::ALL {
        let samples = if read.is_stats() { sizes.stats_samples } else { sizes.samples };
        let per_round = samples.div_ceil(ROUNDS).max(1);
        let mut times: Vec<(Vec<Duration>, Vec<Duration>)> = stages.iter().map(|_| Default::default()).collect();
        for round in 0..ROUNDS.min(samples.max(1)) {
            for ((server, store, loaded), (http_times, store_times)) in stages.iter().zip(&mut times) {
                let http = Path::Http { client: &client, base_url: &server.base_url };
                http_times.extend(probes::time(&http, loaded, read, per_round, round).await?);
                store_times.extend(probes::time(&Path::Store(store), loaded, read, per_round, round).await?);
            }
        }
        for (stage, (http_times, store_times)) in measurements.iter_mut().zip(times) {
            stage.push(Measurement { read, http: Latency::of(http_times), store: Latency::of(store_times) });
        }
    }
    let busy = MachineCpu::now().busy_since(&before);
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|first| first.parse().ok()))
        .unwrap_or(f64::NAN);
    Ok((measurements, MachineLoad { busy, load_average }))
}
