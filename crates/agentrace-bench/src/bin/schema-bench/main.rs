//! `schema-bench`: the latency of the two views users query most, per trace
//! and per session, as the database grows.
//!
//! On each store it migrates an empty database, loads traces of 50 spans
//! (an agent root, graph nodes, model, tool and MCP calls, five children to a
//! span) in SQL, runs ANALYZE, and times
//!
//! - `SELECT * FROM agent.trace_tree WHERE trace_id = $1` (one trace), and
//! - `SELECT * FROM agent.trace_stats WHERE session_id = $1` (ten traces),
//!
//! first with 10,000 spans loaded, then with `--spans` (1,000,000 by
//! default). Each query runs on traces picked at random, through a prepared
//! statement, and is timed from the call until its last row is read. The
//! targets: the tree of a 50-span trace under 5 ms p95 on PostgreSQL and 2 ms
//! on SQLite, and at full size within twice its 10,000-span figure: the
//! views must cost O(spans of the trace), whatever the table holds.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use tokio_postgres::NoTls;

const SPANS_PER_TRACE: u64 = 50;
const TRACES_PER_SESSION: u64 = 10;
const SMALL: u64 = 10_000;
/// Traces loaded per statement: progress shows, and no statement runs long.
const LOAD_CHUNK: u64 = 2_000;

#[derive(Debug, Parser)]
#[command(name = "schema-bench", about = "Latency of agent.trace_tree and agent.trace_stats at 10k and N spans")]
struct Options {
    /// Spans at the second measurement, in traces of 50 (at least 10,000).
    #[arg(long, default_value_t = 1_000_000)]
    spans: u64,

    /// Timed queries of each kind per measurement.
    #[arg(long, default_value_t = 2_000)]
    samples: usize,

    /// Stores to run, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "postgres,sqlite")]
    stores: Vec<Store>,

    /// An empty PostgreSQL database to use; by default a throwaway one from
    /// the test cluster (agentrace-testkit).
    #[arg(long, env = "AGENTRACE_BENCH_DATABASE_URL")]
    database_url: Option<String>,

    /// The SQLite file to create; by default one in a temporary directory.
    #[arg(long)]
    sqlite: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Store {
    Postgres,
    Sqlite,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Store::Postgres => "postgres",
            Store::Sqlite => "sqlite",
        }
    }

    /// p95 target for the tree of one 50-span trace.
    fn tree_target(self) -> Duration {
        match self {
            Store::Postgres => Duration::from_millis(5),
            Store::Sqlite => Duration::from_millis(2),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: Duration,
    p95: Duration,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let at = |quantile: f64| samples[((samples.len() - 1) as f64 * quantile).round() as usize];
        Latency { p50: at(0.50), p95: at(0.95) }
    }
}

#[derive(Debug)]
struct Measurement {
    spans: u64,
    tree: Latency,
    stats: Latency,
}

/// The store under test: load traces [first, last) and time the queries.
trait Bench {
    fn load(&mut self, first: u64, last: u64) -> anyhow::Result<()>;
    fn analyze(&mut self) -> anyhow::Result<()>;
    fn tree(&mut self, trace: u64) -> anyhow::Result<usize>;
    fn stats(&mut self, session: u64) -> anyhow::Result<usize>;
}

/// Ids shaped like OTLP's (32 and 16 hex digits) and scattered like them,
/// so that index order is not insertion order. Both stores compute the same
/// ids: `spread` is a multiplicative hash modulo 2^32.
fn trace_id(trace: u64) -> String {
    format!("{:08x}{:024x}", spread(trace), trace)
}

fn session_id(session: u64) -> String {
    format!("session-{session:08}")
}

fn spread(value: u64) -> u64 {
    value.wrapping_mul(2_654_435_761) % (1 << 32)
}

/// A deterministic pseudo-random sequence for picking traces to query.
struct Picker(u64);

impl Picker {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn measure(bench: &mut dyn Bench, spans: u64, samples: usize) -> anyhow::Result<Measurement> {
    let traces = spans / SPANS_PER_TRACE;
    let sessions = traces.div_ceil(TRACES_PER_SESSION);
    let mut picker = Picker(spans);
    let mut timed = |query: &mut dyn FnMut(u64) -> anyhow::Result<usize>, range: u64, rows: usize| {
        // Warm the statement (and the plan cache) before timing it.
        for _ in 0..samples.min(50) {
            query(picker.next(range))?;
        }
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let pick = picker.next(range);
            let started = Instant::now();
            let returned = query(pick)?;
            times.push(started.elapsed());
            if returned != rows && !(range == sessions && pick == sessions - 1) {
                bail!("expected {rows} rows, got {returned}");
            }
        }
        Ok::<_, anyhow::Error>(Latency::of(times))
    };
    let tree = timed(&mut |trace| bench.tree(trace), traces, SPANS_PER_TRACE as usize)?;
    let stats = timed(&mut |session| bench.stats(session), sessions, TRACES_PER_SESSION as usize)?;
    Ok(Measurement { spans, tree, stats })
}

fn run(store: Store, bench: &mut dyn Bench, options: &Options) -> anyhow::Result<Vec<Measurement>> {
    let mut measurements = Vec::new();
    let mut loaded = 0;
    for spans in [SMALL, options.spans] {
        let traces = spans / SPANS_PER_TRACE;
        let started = Instant::now();
        while loaded < traces {
            let next = (loaded + LOAD_CHUNK).min(traces);
            bench.load(loaded, next)?;
            loaded = next;
            eprint!("\r{}: {} spans loaded", store.name(), loaded * SPANS_PER_TRACE);
        }
        bench.analyze()?;
        eprintln!(" ({:.1} s)", started.elapsed().as_secs_f64());
        measurements.push(measure(bench, spans, options.samples)?);
    }
    Ok(measurements)
}

fn millis(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

/// Prints one store's table and returns whether its targets were met.
fn report(store: Store, measurements: &[Measurement]) -> bool {
    println!("== {} ==", store.name());
    println!("{:>10}  {:<44}  {:>10}  {:>10}", "spans", "query", "p50", "p95");
    for measurement in measurements {
        for (query, latency) in [
            ("trace_tree WHERE trace_id (50 spans)", measurement.tree),
            ("trace_stats WHERE session_id (10 traces)", measurement.stats),
        ] {
            println!(
                "{:>10}  {:<44}  {:>10}  {:>10}",
                measurement.spans,
                query,
                millis(latency.p50),
                millis(latency.p95)
            );
        }
    }
    let (small, large) = (&measurements[0], &measurements[measurements.len() - 1]);
    let target = store.tree_target();
    let checks = [
        (format!("tree p95 < {} at {} spans", millis(target), large.spans), large.tree.p95 < target),
        (
            format!("tree p95 at {} spans within 2x of {} spans", large.spans, small.spans),
            large.tree.p95 <= small.tree.p95 * 2,
        ),
        (
            format!("session stats p95 at {} spans within 2x of {} spans", large.spans, small.spans),
            large.stats.p95 <= small.stats.p95 * 2,
        ),
    ];
    for (check, met) in &checks {
        println!("  {check}: {}", if *met { "met" } else { "MISSED" });
    }
    println!();
    checks.iter().all(|(_, met)| *met)
}

fn main() -> ExitCode {
    let options = Options::parse();
    match main_with(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(error) => {
            eprintln!("schema-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn main_with(options: &Options) -> anyhow::Result<bool> {
    if options.spans < SMALL || options.spans % SPANS_PER_TRACE != 0 {
        bail!("--spans must be a multiple of {SPANS_PER_TRACE} and at least {SMALL}");
    }
    if options.samples == 0 {
        bail!("--samples must be at least 1");
    }
    let mut all_met = true;
    for &store in &options.stores {
        let measurements = match store {
            Store::Postgres => postgres::run(options)?,
            Store::Sqlite => sqlite::run(options)?,
        };
        all_met &= report(store, &measurements);
    }
    Ok(all_met)
}

mod postgres {
    use super::*;

    const SPAN_ROWS: &str = include_str!("postgres_spans.sql");

    struct Postgres {
        runtime: tokio::runtime::Runtime,
        client: tokio_postgres::Client,
        tree: tokio_postgres::Statement,
        stats: tokio_postgres::Statement,
    }

    pub fn run(options: &Options) -> anyhow::Result<Vec<Measurement>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // Kept alive until the end of the run: dropping it drops the database.
        let mut throwaway = None;
        let url = match &options.database_url {
            Some(url) => url.clone(),
            None => {
                let database = runtime.block_on(agentrace_testkit::postgres::fresh_database())?;
                let url = database.url().to_owned();
                throwaway = Some(database);
                url
            }
        };
        runtime.block_on(agentrace_store_postgres::migrations::apply_url(&url)).context("migrate")?;
        let (client, connection) = runtime.block_on(tokio_postgres::connect(&url, NoTls)).context("connect")?;
        runtime.spawn(connection);
        let spans: i64 = runtime.block_on(client.query_one("SELECT count(*) FROM agent.spans", &[]))?.get(0);
        if spans != 0 {
            bail!("{url} already holds {spans} spans: schema-bench needs an empty database");
        }
        let tree = runtime.block_on(client.prepare("SELECT * FROM agent.trace_tree WHERE trace_id = $1"))?;
        let stats = runtime.block_on(client.prepare("SELECT * FROM agent.trace_stats WHERE session_id = $1"))?;
        let mut bench = Postgres { runtime, client, tree, stats };
        let measurements = super::run(Store::Postgres, &mut bench, options);
        drop(bench);
        drop(throwaway);
        measurements
    }

    impl Bench for Postgres {
        fn load(&mut self, first: u64, last: u64) -> anyhow::Result<()> {
            let (first, last) = (first as i64, last as i64);
            let load = async {
                self.client
                    .execute(
                        "INSERT INTO agent.traces (trace_id, session_id, name, start_time, end_time, duration_ms,
                                                   status, sent_fields)
                         SELECT lpad(to_hex((t * 2654435761) % 4294967296), 8, '0') || lpad(to_hex(t), 24, '0'),
                                'session-' || lpad((t / 10)::text, 8, '0'), 'support-agent',
                                timestamptz '2026-11-01 00:00:00+00' + t * interval '1 second',
                                timestamptz '2026-11-01 00:00:00+00' + t * interval '1 second' + interval '5 s',
                                5000, 'success', 0
                         FROM generate_series($1::int8, $2::int8 - 1) AS t",
                        &[&first, &last],
                    )
                    .await?;
                self.client.execute(SPAN_ROWS, &[&first, &last]).await
            };
            self.runtime.block_on(load).context("load spans")?;
            Ok(())
        }

        fn analyze(&mut self) -> anyhow::Result<()> {
            self.runtime.block_on(self.client.batch_execute("ANALYZE agent.traces; ANALYZE agent.spans"))?;
            Ok(())
        }

        fn tree(&mut self, trace: u64) -> anyhow::Result<usize> {
            let id = trace_id(trace);
            Ok(self.runtime.block_on(self.client.query(&self.tree, &[&id]))?.len())
        }

        fn stats(&mut self, session: u64) -> anyhow::Result<usize> {
            let id = session_id(session);
            Ok(self.runtime.block_on(self.client.query(&self.stats, &[&id]))?.len())
        }
    }
}

mod sqlite {
    use super::*;
    use rusqlite::Connection;

    const SPAN_ROWS: &str = include_str!("sqlite_spans.sql");

    struct Sqlite {
        connection: Connection,
    }

    pub fn run(options: &Options) -> anyhow::Result<Vec<Measurement>> {
        let directory = tempfile::tempdir()?;
        let path = options.sqlite.clone().unwrap_or_else(|| directory.path().join("schema-bench.db"));
        if path.exists() {
            bail!("{} exists: schema-bench creates its own SQLite file", path.display());
        }
        let mut connection = agentrace_store_sqlite::connection::open(&path)?;
        agentrace_store_sqlite::migrations::apply(&mut connection).context("migrate")?;
        let mut bench = Sqlite { connection };
        super::run(Store::Sqlite, &mut bench, options)
    }

    impl Bench for Sqlite {
        fn load(&mut self, first: u64, last: u64) -> anyhow::Result<()> {
            let (first, last) = (first as i64, last as i64);
            let transaction = self.connection.transaction()?;
            transaction.execute(
                "WITH RECURSIVE trace (t) AS (SELECT ?1 UNION ALL SELECT t + 1 FROM trace WHERE t + 1 < ?2)
                 INSERT INTO agent.traces (trace_id, session_id, name, start_time, end_time, duration_ms, status,
                                           sent_fields)
                 SELECT printf('%08x%024x', (t * 2654435761) % 4294967296, t),
                        printf('session-%08d', t / 10), 'support-agent',
                        strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1793491200 + t, 'unixepoch'),
                        strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1793491200 + t + 5, 'unixepoch'),
                        5000, 'success', 0
                 FROM trace",
                [first, last],
            )?;
            transaction.execute(SPAN_ROWS, [first, last])?;
            transaction.commit()?;
            Ok(())
        }

        fn analyze(&mut self) -> anyhow::Result<()> {
            self.connection.execute_batch("ANALYZE agent")?;
            Ok(())
        }

        fn tree(&mut self, trace: u64) -> anyhow::Result<usize> {
            let mut statement = self.connection.prepare_cached("SELECT * FROM agent.trace_tree WHERE trace_id = ?1")?;
            let mut rows = statement.query([trace_id(trace)])?;
            let mut count = 0;
            while rows.next()?.is_some() {
                count += 1;
            }
            Ok(count)
        }

        fn stats(&mut self, session: u64) -> anyhow::Result<usize> {
            let mut statement =
                self.connection.prepare_cached("SELECT * FROM agent.trace_stats WHERE session_id = ?1")?;
            let mut rows = statement.query([session_id(session)])?;
            let mut count = 0;
            while rows.next()?.is_some() {
                count += 1;
            }
            Ok(count)
        }
    }
}
