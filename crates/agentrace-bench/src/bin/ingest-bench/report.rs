//! The benchmark's tables: what was measured, where the time went, and each
//! target of the ingestion-core issue marked met or missed, so a run can be
//! read (and pasted into the README) without interpretation.

use std::path::Path;
use std::time::Duration;

use crate::copy_baseline::CopyOutcome;
use crate::load::PhaseOutcome;
use crate::server::WriterTotals;
use crate::workload::SPANS_PER_TRACE;
use crate::Sizes;

const MB: f64 = 1024.0 * 1024.0;
const IDLE_RSS_LIMIT_MB: f64 = 50.0;
const PEAK_RSS_LIMIT_MB: f64 = 256.0;
const COPY_SHARE_TARGET: f64 = 0.40;
const SINGLE_SPAN_TARGET: f64 = 10_000.0;
const SQLITE_TARGET: f64 = 15_000.0;
const QUERYABLE_P99_LIMIT: Duration = Duration::from_secs(1);

pub struct PhaseReport {
    pub name: &'static str,
    pub clients: usize,
    pub spans_per_request: usize,
    pub peak_rss: u64,
    /// Whether `peak_rss` covers this phase only (else the server's life).
    pub peak_is_per_phase: bool,
    pub writer: WriterTotals,
    pub server_cpu: Duration,
    pub bench_cpu: Duration,
    pub machine_busy: f64,
    pub outcome: PhaseOutcome,
}

impl PhaseReport {
    fn spans_per_second(&self) -> f64 {
        self.outcome.accepted_spans as f64 / self.outcome.wall.as_secs_f64()
    }
}

pub struct BackendReport {
    pub backend: &'static str,
    pub sizes: Sizes,
    pub idle_rss: u64,
    pub mean_span_bytes: f64,
    pub phases: Vec<PhaseReport>,
    pub copy: Option<CopyOutcome>,
}

pub fn print_preamble(binary: &Path, sizes: &Sizes) {
    println!("ingest-bench: agentrace serve = {}", binary.display());
    if sizes.smoke {
        println!("smoke size: checks that the benchmark runs; its figures are not judged");
    }
    if cfg!(debug_assertions) {
        println!(
            "debug build: figures are not representative (cargo build --release -p agentrace-cli -p agentrace-bench)"
        );
    }
    println!(
        "machine: {} CPUs; the server, PostgreSQL and the clients share them",
        std::thread::available_parallelism().map_or(0, |count| count.get())
    );
}

impl BackendReport {
    pub fn print(&self) {
        println!();
        println!("== {} ==", self.backend);
        println!(
            "workload: agent traces of {SPANS_PER_TRACE} spans (nodes, model, tool and MCP calls), \
             mean span {} B of JSON; idle RSS {:.1} MB",
            thousands(self.mean_span_bytes),
            self.idle_rss as f64 / MB
        );

        let mut throughput = Table::new(&[
            "phase",
            "spans",
            "clients",
            "spans/req",
            "spans/s",
            "ack p50",
            "ack p99",
            "ack max",
            "429/503",
            "peak RSS",
        ]);
        for phase in &self.phases {
            let latencies = Percentiles::of(&phase.outcome.ack_latencies);
            throughput.row(vec![
                phase.name.to_owned(),
                thousands(phase.outcome.accepted_spans as f64),
                phase.clients.to_string(),
                phase.spans_per_request.to_string(),
                thousands(phase.spans_per_second()),
                millis(latencies.p50),
                millis(latencies.p99),
                millis(latencies.max),
                phase.outcome.refusals.to_string(),
                format!("{:.1} MB{}", phase.peak_rss as f64 / MB, if phase.peak_is_per_phase { "" } else { "*" }),
            ]);
        }
        throughput.print();
        if self.phases.iter().any(|phase| !phase.peak_is_per_phase) {
            println!("  * peak since the server started (the kernel refused to reset the watermark)");
        }

        println!("where the time goes:");
        let mut time = Table::new(&[
            "phase",
            "commits",
            "spans/commit",
            "commit mean",
            "writer busy",
            "server CPU",
            "bench CPU",
            "machine busy",
        ]);
        for phase in &self.phases {
            let wall = phase.outcome.wall.as_secs_f64();
            let writer = phase.writer;
            time.row(vec![
                phase.name.to_owned(),
                thousands(writer.batches),
                thousands(writer.items / writer.batches.max(1.0)),
                format!("{:.1} ms", writer.commit_seconds * 1_000.0 / writer.batches.max(1.0)),
                percent(writer.commit_seconds / wall),
                percent(phase.server_cpu.as_secs_f64() / wall),
                percent(phase.bench_cpu.as_secs_f64() / wall),
                percent(phase.machine_busy),
            ]);
        }
        time.print();
        println!("  (writer busy: time inside the store's write per wall second; CPU: share of one core)");

        println!("acknowledgement to queryable (GET /api/v1/traces/{{id}} after a 2xx):");
        let mut queryable =
            Table::new(&["phase", "samples", "p50", "p99", "max", "reads missing the span", "never read"]);
        for phase in &self.phases {
            let read_back = &phase.outcome.read_back;
            let delays = Percentiles::of(&read_back.delays);
            queryable.row(vec![
                phase.name.to_owned(),
                read_back.delays.len().to_string(),
                millis(delays.p50),
                millis(delays.p99),
                millis(delays.max),
                read_back.misses.to_string(),
                read_back.unreadable.to_string(),
            ]);
        }
        queryable.print();

        let batch = self.phase("batch");
        if let (Some(copy), Some(batch)) = (&self.copy, batch) {
            println!(
                "PostgreSQL COPY of the same {} rows ({:.0} MB): {:.2} s = {} rows/s; the native API reached {} of it",
                thousands(copy.rows as f64),
                copy.bytes as f64 / MB,
                copy.elapsed.as_secs_f64(),
                thousands(copy.rows_per_second()),
                percent(batch.spans_per_second() / copy.rows_per_second()),
            );
        }
        self.print_targets();
    }

    fn phase(&self, name: &str) -> Option<&PhaseReport> {
        self.phases.iter().find(|phase| phase.name == name)
    }

    fn print_targets(&self) {
        let mut targets: Vec<(String, String, bool)> = Vec::new();
        if let Some(batch) = self.phase("batch") {
            let rate = batch.spans_per_second();
            match (&self.copy, self.backend) {
                (Some(copy), _) => {
                    let share = rate / copy.rows_per_second();
                    targets.push(("native API ≥ 40% of COPY".into(), percent(share), share >= COPY_SHARE_TARGET));
                }
                (None, "sqlite") => {
                    targets.push(("≥ 15,000 spans/s".into(), thousands(rate), rate >= SQLITE_TARGET));
                }
                (None, _) => {}
            }
        }
        if let Some(single) = self.phase("one span per request").filter(|_| self.backend == "postgres") {
            let rate = single.spans_per_second();
            targets.push(("one span per request ≥ 10,000 spans/s".into(), thousands(rate), rate >= SINGLE_SPAN_TARGET));
        }
        let all_delays: Vec<Duration> =
            self.phases.iter().flat_map(|phase| phase.outcome.read_back.delays.iter().copied()).collect();
        let unreadable: u64 = self.phases.iter().map(|phase| phase.outcome.read_back.unreadable).sum();
        let p99 = Percentiles::of(&all_delays).p99;
        targets.push((
            "ack-to-queryable p99 < 1 s".into(),
            format!("{} over {} reads, {unreadable} never readable", millis(p99), all_delays.len()),
            p99 < QUERYABLE_P99_LIMIT && unreadable == 0,
        ));
        let idle_mb = self.idle_rss as f64 / MB;
        targets.push(("idle RSS < 50 MB".into(), format!("{idle_mb:.1} MB"), idle_mb < IDLE_RSS_LIMIT_MB));
        if let Some(burst) = self.phase("burst") {
            let peak_mb = burst.peak_rss as f64 / MB;
            targets.push((
                format!("peak RSS < 256 MB in a {}-span burst", thousands(burst.outcome.accepted_spans as f64)),
                format!("{peak_mb:.1} MB"),
                peak_mb < PEAK_RSS_LIMIT_MB,
            ));
        }

        println!("targets ({}):", self.backend);
        let mut table = Table::new(&["", "target", "measured"]);
        for (target, measured, met) in targets {
            let verdict = match (self.sizes.smoke, met) {
                (true, _) => "smoke",
                (false, true) => "met",
                (false, false) => "MISSED",
            };
            table.row(vec![verdict.to_owned(), target, measured]);
        }
        table.print();
    }
}

struct Percentiles {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Percentiles {
    /// Nearest-rank percentiles; zero for no samples.
    fn of(samples: &[Duration]) -> Percentiles {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let rank = |quantile: f64| {
            if sorted.is_empty() {
                return Duration::ZERO;
            }
            let index = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index]
        };
        Percentiles { p50: rank(0.50), p99: rank(0.99), max: rank(1.0) }
    }
}

fn millis(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1_000.0;
    if millis < 10.0 {
        format!("{millis:.1} ms")
    } else {
        format!("{millis:.0} ms")
    }
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// 12345.6 → "12,346".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A plain-text table: first column left-aligned, the others right-aligned.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|cell| (*cell).to_owned()).collect()] }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn print(&self) {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                self.rows.iter().filter_map(|row| row.get(column)).map(|cell| cell.chars().count()).max().unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(column, cell)| {
                    let width = widths[column];
                    if column == 0 {
                        format!("{cell:<width$}")
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect();
            println!("  {}", cells.join("  ").trim_end());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let percentiles = Percentiles::of(&samples);
        assert_eq!(percentiles.p50, Duration::from_millis(50));
        assert_eq!(percentiles.p99, Duration::from_millis(99));
        assert_eq!(percentiles.max, Duration::from_millis(100));
        assert_eq!(Percentiles::of(&[]).p99, Duration::ZERO);
    }
}
