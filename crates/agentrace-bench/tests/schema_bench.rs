//! The schema benchmark at smoke size (10,000 spans, so both measurements
//! are of the same size), so that CI notices when it stops working. It
//! checks the report's shape, never the figures: timings from a debug build
//! on a shared CI machine mean nothing.

use std::process::Command;

#[test]
fn the_schema_benchmark_runs_on_both_stores_and_prints_its_table() {
    let output = Command::new(env!("CARGO_BIN_EXE_schema-bench"))
        .args(["--spans", "10000", "--samples", "20"])
        .env_remove("AGENTRACE_BENCH_DATABASE_URL")
        .output()
        .expect("schema-bench starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Exit code 2 means a latency target was missed, which a debug build may.
    assert!(
        matches!(output.status.code(), Some(0 | 2)),
        "schema-bench failed ({}):\n{stdout}\n{stderr}",
        output.status
    );

    for store in ["postgres", "sqlite"] {
        let section = stdout
            .split(&format!("== {store} ==")[..])
            .nth(1)
            .unwrap_or_else(|| panic!("no {store} section in:\n{stdout}"));
        let section = section.split("\n== ").next().unwrap_or_default();
        for query in ["trace_tree WHERE trace_id", "trace_stats WHERE session_id"] {
            let rows: Vec<&str> = section.lines().filter(|line| line.contains(query)).collect();
            assert_eq!(rows.len(), 2, "{store}: {query} should be measured at 10k and at --spans:\n{section}");
            assert!(rows.iter().all(|row| row.matches(" ms").count() == 2), "{store}: p50 and p95 in:\n{section}");
        }
        for check in ["tree p95 <", "tree p95 at 10000 spans within 2x", "session stats p95 at 10000 spans within 2x"] {
            assert!(section.contains(check), "{store}: no {check:?} check in:\n{section}");
        }
    }
}
