//! The `agentrace serve` process under test, and what the benchmark reads
//! about it from outside: its memory and CPU from `/proc`, its batching from
//! `/metrics`. Measuring from outside keeps the server exactly the binary
//! users run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Server {
    child: Child,
    pid: u32,
    pub base_url: String,
}

impl Server {
    /// Starts `agentrace serve` on a free port and waits until it is ready.
    pub async fn start(binary: &Path, store_args: &[String], extra_args: &[String]) -> anyhow::Result<Server> {
        let mut child = Command::new(binary)
            .args(["serve", "--port", "0", "--log", "warn"])
            .args(store_args)
            .args(extra_args)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let mut lines = BufReader::new(child.stdout.take().context("server stdout")?).lines();
        let banner = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.split(" listening on ").nth(1).filter(|_| line.starts_with("agentrace ")) {
                    return Ok(url.trim().to_owned());
                }
            }
            bail!("the server exited before printing its address")
        };
        let base_url = tokio::time::timeout(Duration::from_secs(120), banner)
            .await
            .context("no `agentrace … listening on` line within 120 s")??;
        // Keep reading so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let server = Server { child, pid, base_url };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let url = format!("{}/readyz", self.base_url);
        for _ in 0..600 {
            if client.get(&url).send().await.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{url} did not answer 200 within 30 s")
    }

    /// Resident memory now, in bytes (`VmRSS`).
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.pid, "VmRSS:").map(|kib| kib * 1024)
    }

    /// Peak resident memory since start or since the last
    /// [`Server::reset_peak_rss`], in bytes (`VmHWM`).
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.pid, "VmHWM:").map(|kib| kib * 1024)
    }

    /// Restarts the peak-memory watermark, so each phase reports its own
    /// peak. Returns false where the kernel does not allow it, in which case
    /// the peak covers the server's whole life (a stricter figure).
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// CPU time the server has used so far (user + system).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        process_cpu_time(&format!("/proc/{}/stat", self.pid))
    }

    /// Scrapes `/metrics` for the writer's running totals.
    pub async fn writer_totals(&self) -> anyhow::Result<WriterTotals> {
        let text = reqwest::get(format!("{}/metrics", self.base_url)).await?.error_for_status()?.text().await?;
        let value = |name: &str| {
            text.lines()
                .filter_map(|line| line.strip_prefix(name))
                .filter_map(|rest| rest.strip_prefix(' '))
                .filter_map(|number| number.trim().parse::<f64>().ok())
                .next()
                .unwrap_or(0.0)
        };
        Ok(WriterTotals {
            batches: value("agentrace_batch_items_count"),
            items: value("agentrace_batch_items_sum"),
            commit_seconds: value("agentrace_commit_seconds_sum"),
        })
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("stopping the server")
    }
}

/// The batch writer's counters, from the server's Prometheus summaries.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterTotals {
    pub batches: f64,
    pub items: f64,
    /// Time spent inside `TraceStore::write`, summed over batches.
    pub commit_seconds: f64,
}

impl std::ops::Sub for WriterTotals {
    type Output = WriterTotals;
    fn sub(self, earlier: WriterTotals) -> WriterTotals {
        WriterTotals {
            batches: self.batches - earlier.batches,
            items: self.items - earlier.items,
            commit_seconds: self.commit_seconds - earlier.commit_seconds,
        }
    }
}

fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading the server's status")?;
    let line = status.lines().find(|line| line.starts_with(field)).with_context(|| format!("no {field} line"))?;
    line.split_whitespace().nth(1).context("empty line")?.parse().context("not a number")
}

/// `/proc/*/stat` reports CPU time in USER_HZ ticks, which Linux fixes at
/// 100 per second for user space whatever the kernel's own tick rate.
const TICKS_PER_SECOND: u64 = 100;

pub fn process_cpu_time(stat_path: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(stat_path).with_context(|| format!("reading {stat_path}"))?;
    // The command name (field 2) may hold spaces; fields count from after it.
    let after_name = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the whole line.
    Ok(Duration::from_millis((ticks(11) + ticks(12)) * 1_000 / TICKS_PER_SECOND))
}

/// Busy and total time of all CPUs, from `/proc/stat`, to show whether the
/// machine itself was the limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineCpu {
    busy_ticks: u64,
    total_ticks: u64,
}

impl MachineCpu {
    pub fn now() -> MachineCpu {
        let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return MachineCpu::default() };
        let Some(line) = stat.lines().next() else { return MachineCpu::default() };
        let ticks: Vec<u64> = line.split_whitespace().skip(1).filter_map(|field| field.parse().ok()).collect();
        let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
        let total: u64 = ticks.iter().take(8).sum();
        MachineCpu { busy_ticks: total - idle, total_ticks: total }
    }

    /// Share of all CPUs busy between `earlier` and `self`.
    pub fn busy_since(&self, earlier: &MachineCpu) -> f64 {
        let total = self.total_ticks.saturating_sub(earlier.total_ticks);
        if total == 0 {
            return 0.0;
        }
        self.busy_ticks.saturating_sub(earlier.busy_ticks) as f64 / total as f64
    }
}

/// The `agentrace` binary: `--agentrace`, else the one built beside this
/// benchmark (same profile, same target directory).
pub fn find_binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let me = std::env::current_exe().context("locating this executable")?;
    let directory = me.parent().context("executable without a directory")?;
    // Test binaries live one level down, in deps/.
    for candidate in [directory.join("agentrace"), directory.join("../agentrace")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "no agentrace binary beside {}: build it in the same profile (cargo build --release -p agentrace-cli) \
         or pass --agentrace PATH",
        me.display()
    )
}

/// The store a benchmark run starts the server on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}
