//! The OTLP benchmark at smoke size, so that CI notices when it stops
//! working. It checks that every figure and target is printed for both
//! backends, never the speed: a debug build on a shared machine says nothing.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_otlp_benchmark_runs_on_both_backends_and_prints_its_figures() {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_otlp-bench"));
    let agentrace = bench.with_file_name(format!("agentrace{}", std::env::consts::EXE_SUFFIX));
    assert!(
        agentrace.is_file(),
        "{} is missing: run `cargo build -p agentrace-cli` first, or the whole workspace's tests",
        agentrace.display()
    );
    let output = Command::new(&bench)
        .arg("--smoke")
        .arg("--agentrace")
        .arg(&agentrace)
        .env_remove("DATABASE_URL")
        .output()
        .expect("otlp-bench starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "otlp-bench failed ({}):\n{stdout}\n{stderr}", output.status);
    for backend in ["sqlite", "postgres"] {
        let section = stdout
            .split(&format!("== {backend} ==")[..])
            .nth(1)
            .unwrap_or_else(|| panic!("no {backend} section in:\n{stdout}"));
        let section = section.split("\n== ").next().unwrap_or_default();
        for expected in [
            "OTLP/HTTP protobuf",
            "native JSON API",
            "bytes per span stored",
            "request p99 < 250 ms",
            "peak RSS < 256 MB",
            "stored bytes ≤ 2x OTLP bytes",
        ] {
            assert!(section.contains(expected), "the {backend} section lacks {expected:?}:\n{section}");
        }
    }
    let postgres = stdout.split("== postgres ==").nth(1).unwrap_or_default();
    assert!(postgres.contains("PostgreSQL COPY"), "no COPY baseline:\n{postgres}");
    assert!(postgres.contains("OTLP ≥ 50% of COPY"), "no COPY target:\n{postgres}");
}
