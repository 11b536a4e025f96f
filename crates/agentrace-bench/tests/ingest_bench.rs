//! The ingestion benchmark at smoke size, so that CI notices when it stops
//! working. It checks that every table is printed for both backends, never
//! the speed: figures from a debug build on a shared CI machine mean nothing.

use std::path::PathBuf;
use std::process::Command;

/// `agentrace serve`, built beside this crate's binaries. `cargo test
/// --workspace` builds it for the CLI's own tests; a test cannot build it
/// here, because cargo holds the build directory's lock while tests run.
fn agentrace_binary() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_ingest-bench"));
    let agentrace = bench.with_file_name(format!("agentrace{}", std::env::consts::EXE_SUFFIX));
    assert!(
        agentrace.is_file(),
        "{} is missing: run `cargo build -p agentrace-cli` first, or the whole workspace's tests",
        agentrace.display()
    );
    agentrace
}

#[test]
fn the_benchmark_runs_on_both_backends_and_prints_its_tables() {
    let output = Command::new(env!("CARGO_BIN_EXE_ingest-bench"))
        .arg("--smoke")
        .arg("--agentrace")
        .arg(agentrace_binary())
        .env_remove("DATABASE_URL")
        .output()
        .expect("ingest-bench starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ingest-bench failed ({}):\n{stdout}\n{stderr}", output.status);

    for backend in ["sqlite", "postgres"] {
        let section = stdout
            .split(&format!("== {backend} ==")[..])
            .nth(1)
            .unwrap_or_else(|| panic!("no {backend} section in:\n{stdout}"));
        let section = section.split("\n== ").next().unwrap_or_default();
        for expected in [
            "spans/s",
            "ack p99",
            "peak RSS",
            "where the time goes:",
            "acknowledgement to queryable",
            "idle RSS < 50 MB",
            "peak RSS < 256 MB",
        ] {
            assert!(section.contains(expected), "the {backend} section lacks {expected:?}:\n{section}");
        }
        for phase in ["batch", "one span per request", "burst"] {
            let rows = section.lines().filter(|line| line.trim_start().starts_with(phase)).count();
            assert_eq!(rows, 3, "the {backend} section should have a {phase:?} row in each of its three tables");
        }
    }
    let postgres = stdout.split("== postgres ==").nth(1).unwrap_or_default();
    assert!(postgres.contains("PostgreSQL COPY of the same"), "no COPY baseline:\n{postgres}");
    assert!(postgres.contains("native API ≥ 40% of COPY"), "no COPY target:\n{postgres}");
}
