//! The printed report: per backend, what was loaded and how busy the
//! machine was, then one row per read with its latency at both sizes, the
//! growth between them, the store's share, and the targets met or missed.

use std::path::Path;
use std::time::Duration;

use crate::dataset::{MODELS, SPANS_PER_TRACE, TRACES_PER_SESSION};
use crate::load::LoadFigures;
use crate::probes::{Latency, Percentile, Read};
use crate::server::BackendKind;
use crate::{MachineLoad, Sizes};

/// The most a figure may grow from the small data set to the full one.
const MAX_GROWTH: f64 = 2.0;

pub struct Measurement {
    pub read: Read,
    pub http: Latency,
    pub store: Latency,
}

pub struct StageReport {
    /// Spans and traces stored, the long trace included.
    pub spans: u64,
    pub traces: u64,
    pub load: LoadFigures,
    /// From the server's start until its statistics rollups covered
    /// everything loaded.
    pub rollup_catch_up: std::time::Duration,
    pub measurements: Vec<Measurement>,
    pub machine: MachineLoad,
}

pub struct BackendReport {
    pub backend: BackendKind,
    pub sizes: Sizes,
    /// The small data set, then the full one.
    pub stages: Vec<StageReport>,
}

pub fn print_preamble(binary: &Path, sizes: &Sizes) {
    println!(
        "query-bench: reads through `agentrace serve` ({}) and directly through the store; \
         {} timed reads of each kind, {} of statistics",
        binary.display(),
        sizes.samples,
        sizes.stats_samples
    );
    if cfg!(debug_assertions) || sizes.smoke {
        println!("(a debug build or --smoke size: the figures below say nothing about speed)");
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn millis(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn percentile_name(percentile: Percentile) -> &'static str {
    match percentile {
        Percentile::P50 => "p50",
        Percentile::P95 => "p95",
    }
}

impl BackendReport {
    /// Prints the backend's section; returns whether every target was met.
    pub fn print(&self) -> bool {
        let backend = self.backend.name();
        println!();
        println!("== {backend} ==");
        let (small, full) = (&self.stages[0], &self.stages[self.stages.len() - 1]);
        let numbered_traces = full.traces - 1;
        println!(
            "data: {} spans in {} traces ({} of {SPANS_PER_TRACE} spans and one of {}), {} sessions of \
             {TRACES_PER_SESSION} turns, 4 projects, up to 1,000 users, {} models; 40% of sessions in the \
             24 hours before the run, the rest over the 6 days before",
            thousands(full.spans),
            thousands(full.traces),
            thousands(numbered_traces),
            thousands(self.sizes.big_trace_spans as u64),
            thousands(numbered_traces / TRACES_PER_SESSION),
            MODELS.len(),
        );
        let maintenance = match self.backend {
            BackendKind::Postgres => "VACUUM (ANALYZE)",
            BackendKind::Sqlite => "ANALYZE",
        };
        for stage in &self.stages {
            let load = &stage.load;
            println!(
                "load: to {:>9} spans, {} written in {:.1} s ({} spans/s) through TraceStore::write in \
                 2,500-span batches, {maintenance} {:.1} s, statistics rollups caught up {:.1} s after the \
                 server started; reads measured with the machine {:.0}% busy, load average {:.2}",
                thousands(stage.spans),
                thousands(load.spans),
                load.write.as_secs_f64(),
                thousands((load.spans as f64 / load.write.as_secs_f64().max(1e-9)) as u64),
                load.analyze.as_secs_f64(),
                stage.rollup_catch_up.as_secs_f64(),
                stage.machine.busy * 100.0,
                stage.machine.load_average,
            );
        }
        println!();
        let (small_label, full_label) =
            (format!("{} spans", thousands(small.spans)), format!("{} spans", thousands(full.spans)));
        println!(
            "{:<40}  {small_label:^21}  {full_label:^32}  {:>6}  {:>10}  {:<15} verdict",
            "GET through the HTTP API", "growth", "store", "target"
        );
        println!(
            "{:<40}  {:>10} {:>10}  {:>10} {:>10} {:>10}  {:>6}  {:>10}  {:<15}",
            "", "p50", "p99", "p50", "p95", "p99", "", "p50", ""
        );
        let mut all_met = true;
        for (before, after) in small.measurements.iter().zip(&full.measurements) {
            let read = after.read;
            let growth_at = read.growth_percentile();
            let growth = after.http.at(growth_at).as_secs_f64() / before.http.at(growth_at).as_secs_f64().max(1e-9);
            let growth_met = growth <= MAX_GROWTH;
            // The issue sets its targets, the growth bound among them, on
            // PostgreSQL; SQLite's figures are shown for comparison.
            let held_to_targets = self.backend == BackendKind::Postgres;
            let target = read.target().filter(|_| held_to_targets);
            let target_met = target.is_none_or(|(percentile, limit)| after.http.at(percentile) < limit);
            let target_text = target.map_or_else(
                || "-".to_owned(),
                |(percentile, limit)| format!("{} < {} ms", percentile_name(percentile), limit.as_millis()),
            );
            let verdict = match (held_to_targets, target_met, growth_met) {
                (false, _, true) => "-".to_owned(),
                (false, _, false) => format!("({} grew more than {MAX_GROWTH}x)", percentile_name(growth_at)),
                (true, true, true) => "met".to_owned(),
                (true, false, true) => "MISSED (target)".to_owned(),
                (true, true, false) => {
                    format!("MISSED ({} grew more than {MAX_GROWTH}x)", percentile_name(growth_at))
                }
                (true, false, false) => {
                    format!("MISSED (target; {} grew more than {MAX_GROWTH}x)", percentile_name(growth_at))
                }
            };
            all_met &= !held_to_targets || (target_met && growth_met);
            println!(
                "{:<40}  {:>10} {:>10}  {:>10} {:>10} {:>10}  {:>5.1}x  {:>10}  {:<15} {}",
                read.label(self.sizes.big_trace_spans),
                millis(before.http.p50),
                millis(before.http.p99),
                millis(after.http.p50),
                millis(after.http.p95),
                millis(after.http.p99),
                growth,
                millis(after.store.p50),
                target_text,
                verdict,
            );
        }
        println!();
        println!(
            "growth: the targeted percentile (p95 for the {SPANS_PER_TRACE}-span trace, else p50) at {} over its value \
             at {}, at most {MAX_GROWTH}x; store: the same read made directly through the store trait at {}",
            full_label, small_label, full_label
        );
        let samples: Vec<usize> = full.measurements.iter().map(|measurement| measurement.http.samples).collect();
        println!(
            "samples per read: {} (statistics {}), parameters drawn at random from the loaded data",
            samples.iter().max().copied().unwrap_or(0),
            samples.iter().min().copied().unwrap_or(0)
        );
        all_met
    }
}
