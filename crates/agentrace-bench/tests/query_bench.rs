//! The read-path benchmark at smoke size, so that CI notices when it stops
//! working: every read answers correctly through the real server and the
//! store on both backends (the benchmark checks each answer's rows and
//! fails otherwise), and every row, figure and verdict is printed. It never
//! checks the speed: figures from a debug build on a shared CI machine mean
//! nothing.

use std::path::PathBuf;
use std::process::Command;

const READS: [&str; 11] = [
    "trace list, first page",
    "filtered: session_id",
    "filtered: model",
    "filtered: q = order number",
    "filtered: q = product word",
    "filtered: q = \"refund\"",
    "trace of 200 spans",
    "trace of 50 spans",
    "session (10 turns)",
    "stats, 24 h, group_by=hour",
    "stats, 24 h, group_by=model",
];

#[test]
fn the_query_benchmark_runs_on_both_backends_and_prints_every_read() {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_query-bench"));
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
        .expect("query-bench starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Exit code 2 means a latency target was missed, which a debug build may.
    assert!(matches!(output.status.code(), Some(0 | 2)), "query-bench failed ({}):\n{stdout}\n{stderr}", output.status);

    for backend in ["postgres", "sqlite"] {
        let section = stdout
            .split(&format!("== {backend} ==")[..])
            .nth(1)
            .unwrap_or_else(|| panic!("no {backend} section in:\n{stdout}"));
        let section = section.split("\n== ").next().unwrap_or_default();
        assert!(
            section.contains("2,200 spans in 41 traces"),
            "{backend}: the smoke data set is not described:\n{section}"
        );
        assert_eq!(section.matches("load: ").count(), 2, "{backend}: two loading steps:\n{section}");
        assert!(
            section.contains("1,200 spans") && section.contains("2,200 spans"),
            "{backend}: both sizes:\n{section}"
        );
        for read in READS {
            let rows: Vec<&str> = section.lines().filter(|line| line.contains(read)).collect();
            assert_eq!(rows.len(), 1, "{backend}: one row for {read:?} in:\n{section}");
            // p50 and p99 at the small size, p50 / p95 / p99 at the full
            // size, and the store's p50; then the target, if any.
            let figures = rows[0].split(" p50 <").next().and_then(|row| row.split(" p95 <").next()).unwrap_or_default();
            assert_eq!(figures.matches(" ms").count(), 6, "{backend}: six figures for {read:?} in {:?}", rows[0]);
            // SQLite has no targets: its growth is shown, never judged.
            let verdict = match backend {
                "postgres" => rows[0].contains("met") || rows[0].contains("MISSED"),
                _ => rows[0].trim_end().ends_with('-') || rows[0].contains("grew more than"),
            };
            assert!(verdict, "{backend}: no verdict in {:?}", rows[0]);
        }
    }
    let postgres = stdout.split("== postgres ==").nth(1).unwrap_or_default();
    for target in ["p50 < 20 ms", "p95 < 5 ms", "p50 < 200 ms"] {
        assert!(postgres.contains(target), "no {target:?} target on PostgreSQL:\n{postgres}");
    }
}
