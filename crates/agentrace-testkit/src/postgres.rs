//! A real PostgreSQL for tests: one throwaway cluster, a fresh database per
//! test.
//!
//! # Lifecycle
//!
//! The first call to [`fresh_database`] in a test process joins the cluster of
//! its build directory (`target/`), starting it if none is running: `initdb`
//! and `pg_ctl` from the installed server binaries ([`bin_dir`]), a free TCP
//! port on 127.0.0.1, a private unix-socket directory, trust authentication
//! for the superuser `postgres`. When the tests run as root, the cluster and
//! server belong to the `postgres` OS user, since initdb refuses root.
//!
//! The cluster is shared across processes, not started per process, because
//! `cargo nextest` runs every test in a process of its own: an initdb per test
//! (about two seconds on a two-core machine) would dominate the run. A file
//! lock serialises starting and joining, so parallel test processes find one
//! cluster; each test still gets a database of its own, dropped with its
//! [`TestDatabase`], so tests do not see each other's rows.
//!
//! Nothing needs cleaning by hand. Every process using the cluster holds a
//! shared file lock until it exits; a detached watchdog (a small `sh` loop,
//! using `flock(1)` from util-linux) stops the server with
//! `pg_ctl stop -m immediate` and deletes its data once no process has held
//! that lock for 30 seconds (`AGENTRACE_TESTKIT_PG_IDLE_SECS`), long enough to
//! bridge the gaps between test binaries. Only three empty lock files and the
//! watchdog's script and log stay behind, in
//! `$TMPDIR/agentrace-testkit-pg-<uid>-<key>/`.
//!
//! The server keeps `fsync` and `synchronous_commit` on, so a test may trust
//! that a commit is durable; `shared_buffers` is 128MB and `max_connections`
//! 200. Tests must not stop or restart the shared server: others are using it.
//!
//! Environment: `AGENTRACE_PG_BIN` picks the server binaries,
//! `AGENTRACE_TESTKIT_PG_DIR` the cluster directory, and
//! `AGENTRACE_TESTKIT_PG_IDLE_SECS` the watchdog's patience.

mod cluster;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use tokio_postgres::{Client, NoTls};

pub use cluster::bin_dir;

/// A database of its own for one test, dropped (best effort) with this value.
///
/// When the test is panicking the database is kept and its URL printed, so
/// that a failure can be inspected with `psql` until the cluster stops.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    maintenance_url: String,
}

/// Creates a new, empty database in the shared test cluster, starting the
/// cluster first if needed. See the module docs for the cluster's lifecycle.
pub async fn fresh_database() -> Result<TestDatabase> {
    let cluster = tokio::task::spawn_blocking(cluster::shared).await.context("start the test PostgreSQL cluster")??;
    let name = unique_database_name();
    let maintenance_url = cluster.url("postgres");
    let maintenance = connect(&maintenance_url).await?;
    maintenance
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .with_context(|| format!("create test database {name}"))?;
    Ok(TestDatabase { url: cluster.url(&name), name, maintenance_url })
}

impl TestDatabase {
    /// `postgres://postgres@127.0.0.1:PORT/NAME`; no password (trust auth).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client of this database whose connection runs on the current Tokio
    /// runtime.
    pub async fn connect(&self) -> Result<Client> {
        connect(&self.url).await
    }

    /// Returns once at least `count` sessions of this database are waiting
    /// for a lock (a row or table another session holds), so that a test
    /// knows its writes are blocked inside their transactions rather than
    /// not started yet. Fails after 30 seconds.
    pub async fn wait_for_lock_waiters(&self, count: usize) -> Result<()> {
        let client = self.connect().await?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let row = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND wait_event_type = 'Lock'",
                    &[],
                )
                .await?;
            let waiting = row.get::<_, i64>(0) as usize;
            if waiting >= count {
                return Ok(());
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "{waiting} sessions waiting for locks after 30 s, expected {count}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("agentrace-testkit: keeping the failed test's database: {}", self.url);
            return;
        }
        let name = self.name.clone();
        let maintenance_url = self.maintenance_url.clone();
        // Drop may run inside an async test's runtime, where blocking on a
        // future is not allowed; a thread with its own runtime can.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let maintenance = connect(&maintenance_url).await.ok()?;
                // FORCE: a pool the test left open must not keep it alive.
                maintenance.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.ok()
            })
        });
        let _ = dropper.join();
    }
}

async fn connect(url: &str) -> Result<Client> {
    let (client, connection) =
        tokio_postgres::connect(url, NoTls).await.with_context(|| format!("connect to {url}"))?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; an error after that
        // is a test's business, reported by the client's own calls.
        let _ = connection.await;
    });
    Ok(client)
}

/// Unique across the processes sharing the cluster (pid), the tests of one
/// process (counter), and pid reuse over time (clock).
fn unique_database_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let sequence = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.subsec_nanos()).unwrap_or_default();
    format!("agentrace_test_{}_{sequence}_{nanos:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_call_gives_an_empty_database_of_its_own() {
        let first = fresh_database().await.unwrap();
        let second = fresh_database().await.unwrap();
        assert_ne!(first.name(), second.name());
        assert!(first.url().ends_with(&format!("/{}", first.name())));

        let client = first.connect().await.unwrap();
        client.batch_execute("CREATE TABLE only_here (id int); INSERT INTO only_here VALUES (1)").await.unwrap();
        let other = second.connect().await.unwrap();
        let visible: i64 =
            other.query_one("SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'", &[]).await.unwrap().get(0);
        assert_eq!(visible, 0);
    }

    #[tokio::test]
    async fn the_server_is_durable_and_roomy() {
        let database = fresh_database().await.unwrap();
        let client = database.connect().await.unwrap();
        for (setting, expected) in
            [("fsync", "on"), ("synchronous_commit", "on"), ("shared_buffers", "128MB"), ("max_connections", "200")]
        {
            let row = client.query_one(&format!("SHOW {setting}"), &[]).await.unwrap();
            assert_eq!(row.get::<_, String>(0), expected, "{setting}");
        }
    }

    #[tokio::test]
    async fn dropping_removes_the_database() {
        let database = fresh_database().await.unwrap();
        let name = database.name().to_owned();
        let keeper = fresh_database().await.unwrap();
        let client = keeper.connect().await.unwrap();
        // An open connection must not keep the database alive.
        let _open = database.connect().await.unwrap();
        drop(database);
        let remaining: i64 =
            client.query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name]).await.unwrap().get(0);
        assert_eq!(remaining, 0);
    }

    #[test]
    fn many_threads_share_one_cluster() {
        let urls: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
                            let database = fresh_database().await.unwrap();
                            database.url().to_owned()
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let port_of = |url: &str| url.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
        assert!(urls.iter().all(|url| port_of(url) == port_of(&urls[0])));
    }
}
