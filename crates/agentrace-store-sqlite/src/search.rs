//! Free-text search on SQLite: a trigram index kept in a database file of
//! its own, by a thread of its own.
//!
//! Indexing a trace's text (about 1 KB) takes a few hundred microseconds,
//! 40% of the writer's time when it ran inside each write. SQLite has one
//! writer per database file, not per process: the index in another file
//! gets another writer, on another core, and ingest no longer waits for it.
//!
//! - Triggers on `agent.traces` (migration 010) append the rowid of every
//!   trace whose input, output or error changed, or which was deleted, to
//!   `agent.trace_search_queue`, inside the write itself (a row insert).
//! - The indexer ([`Indexer`]) reads the queue past the position the index
//!   file records (`search_state.indexed_through`), re-indexes those traces
//!   from their current text and moves the position, in one transaction of
//!   the index file. A new index file (the first start after the
//!   migration, or after the file was deleted) is first filled from every
//!   trace, in rowid order (`search_state.rebuild_next_rowid`).
//! - A search ([`candidates_sql`]) takes the traces the index finds, those
//!   still queued and those a rebuild has not reached, and checks the text
//!   of each: a trace is found as soon as its write is acknowledged, and an
//!   index entry that lags behind its trace's text cannot mislead.
//! - Queue rows the index has passed are deleted a while later
//!   ([`PRUNE_AFTER`]), never under a search still reading an older index.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use crate::connection;

/// The schema name the index file is attached under.
pub const SCHEMA: &str = "search";

/// Queue rows, or traces of a rebuild, indexed per transaction.
const CHUNK: usize = 2_000;

/// How often the indexer looks at the queue when no write told it to.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// How long after the index passed a queue row the row is deleted: longer
/// than any search's read transaction, which may still read the index as
/// it was before and count on the queue for the rest.
pub const PRUNE_AFTER: Duration = Duration::from_secs(60);

/// The index file beside the database at `path`: `<path>-search`, like
/// SQLite's own `-wal` and `-shm`.
pub fn index_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-search");
    PathBuf::from(name)
}

/// Attaches the index file of the database at `path` to `connection` as
/// [`SCHEMA`] (creating an empty file if there is none).
pub fn attach(connection: &Connection, path: &Path) -> rusqlite::Result<()> {
    let index = index_path(path);
    connection.execute("ATTACH DATABASE ?1 AS search", [index.to_string_lossy().as_ref()])?;
    connection.pragma_update(Some(SCHEMA), "journal_mode", "WAL")?;
    // The index's position in the queue must not roll back behind rows
    // already pruned from it: FULL, as for the database itself.
    connection.pragma_update(Some(SCHEMA), "synchronous", "FULL")
}

/// Creates the index's tables in the attached index file unless they
/// exist. A new index starts at the end of the queue, with every trace
/// still to index (a rebuild from rowid 0).
fn create_index(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "BEGIN;
         CREATE VIRTUAL TABLE IF NOT EXISTS search.traces_search USING fts5 (
             input, output, error,
             content = '', contentless_delete = 1, tokenize = 'trigram', detail = none
         );
         CREATE TABLE IF NOT EXISTS search.search_state (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             indexed_through INTEGER NOT NULL,
             rebuild_next_rowid INTEGER
         ) STRICT;
         INSERT OR IGNORE INTO search.search_state (id, indexed_through, rebuild_next_rowid)
         SELECT 1, coalesce((SELECT max(seq) FROM agent.trace_search_queue), 0), 0;
         COMMIT;",
    )
}

/// The queue rows the index has not passed yet.
const QUEUED_PAST_THE_INDEX: &str =
    "SELECT trace_rowid FROM agent.trace_search_queue WHERE seq > (SELECT indexed_through FROM search.search_state)";

/// The first trace rowid a rebuild has not reached (beyond every rowid when
/// no rebuild runs).
const NOT_REBUILT_FROM: &str = "coalesce((SELECT rebuild_next_rowid FROM search.search_state), 9223372036854775807)";

/// The condition that `t.rowid` is worth checking for the text of a search:
/// found by the index for `trigram_query` (a bound parameter), queued, or
/// not yet reached by a rebuild. The caller checks the text.
pub fn candidates_sql(trigram_query: &str) -> String {
    format!(
        "(t.rowid IN (SELECT rowid FROM search.traces_search WHERE traces_search MATCH {trigram_query}) \
         OR t.rowid IN ({QUEUED_PAST_THE_INDEX}) OR t.rowid >= {NOT_REBUILT_FROM})"
    )
}

/// Queue rows the index has not passed yet, and traces a rebuild has not
/// reached: what a search reads directly instead of through the index.
pub fn backlog(connection: &Connection) -> rusqlite::Result<u64> {
    connection.query_row(
        &format!(
            "SELECT (SELECT count(*) FROM ({QUEUED_PAST_THE_INDEX})) \
                  + (SELECT count(*) FROM agent.traces WHERE rowid >= {NOT_REBUILT_FROM})"
        ),
        [],
        |row| row.get::<_, i64>(0).map(|count| count as u64),
    )
}

/// Tells the indexer that writes happened; dropping it stops the indexer.
pub struct Indexer {
    nudge: SyncSender<()>,
}

impl Indexer {
    /// Opens the index file of the database at `path`, creates its tables
    /// if they are missing, and starts the indexer thread on that
    /// connection.
    pub fn start(path: &Path) -> Result<Indexer, IndexerError> {
        let connection = connection::open(path)?;
        attach(&connection, path)?;
        create_index(&connection)?;
        let (nudge, nudged) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("agentrace-sqlite-search".into())
            .spawn(move || run(connection, &nudged))
            .map_err(IndexerError::Thread)?;
        Ok(Indexer { nudge })
    }

    /// Wakes the indexer (a write changed traces); never blocks. A full
    /// channel already holds a wake-up, and a stopped indexer needs none.
    pub fn nudge(&self) {
        let _ = self.nudge.try_send(());
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error(transparent)]
    Database(#[from] rusqlite::Error),
    #[error("cannot start the search indexer thread: {0}")]
    Thread(std::io::Error),
}

fn run(mut connection: Connection, nudged: &Receiver<()>) {
    // (when, indexed_through) after each pass, oldest first: what may be
    // pruned once PRUNE_AFTER has passed.
    let mut passed: VecDeque<(Instant, i64)> = VecDeque::new();
    loop {
        match nudged.recv_timeout(POLL_INTERVAL) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        loop {
            // A long rebuild stops with the store, between transactions.
            if let Err(TryRecvError::Disconnected) = nudged.try_recv() {
                return;
            }
            match index_chunk(&mut connection) {
                Ok(Pass { indexed, indexed_through, more }) => {
                    tracing::trace!(indexed, indexed_through, "search index updated");
                    if passed.back().is_none_or(|&(_, through)| through < indexed_through) {
                        passed.push_back((Instant::now(), indexed_through));
                    }
                    if !more {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "search indexing failed; trying again shortly");
                    break;
                }
            }
        }
        let mut prunable = None;
        while passed.front().is_some_and(|&(when, _)| when.elapsed() >= PRUNE_AFTER) {
            prunable = passed.pop_front().map(|(_, through)| through);
        }
        if let Some(through) = prunable {
            if let Err(error) = connection.execute("DELETE FROM agent.trace_search_queue WHERE seq <= ?1", [through]) {
                tracing::warn!(%error, "pruning the search queue failed; trying again later");
                passed.push_front((Instant::now() - PRUNE_AFTER, through));
            }
        }
    }
}

struct Pass {
    /// Traces re-indexed (queued and rebuilt).
    indexed: usize,
    indexed_through: i64,
    /// Whether the queue or the rebuild has more for another pass.
    more: bool,
}

/// Indexes up to [`CHUNK`] queue rows, then (while a rebuild runs and the
/// queue is drained) up to [`CHUNK`] traces of the rebuild, in one
/// transaction of the index file.
fn index_chunk(connection: &mut Connection) -> rusqlite::Result<Pass> {
    // DEFERRED: the first write takes the index file's lock alone; an
    // IMMEDIATE transaction would take the database's too, and hold up ingest.
    let transaction = connection.transaction()?;
    let (indexed_through, rebuild_next): (i64, Option<i64>) =
        transaction.query_row("SELECT indexed_through, rebuild_next_rowid FROM search.search_state", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    let queued: Vec<(i64, i64)> = transaction
        .prepare_cached("SELECT seq, trace_rowid FROM agent.trace_search_queue WHERE seq > ?1 ORDER BY seq LIMIT ?2")?
        .query_map(params![indexed_through, CHUNK as i64], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut rowids: Vec<i64> = queued.iter().map(|&(_, rowid)| rowid).collect();
    let through = queued.last().map_or(indexed_through, |&(seq, _)| seq);
    let mut next_rebuild = rebuild_next;
    if let (true, Some(from)) = (queued.len() < CHUNK, rebuild_next) {
        let rebuilt: Vec<i64> = transaction
            .prepare_cached("SELECT rowid FROM agent.traces WHERE rowid >= ?1 ORDER BY rowid LIMIT ?2")?
            .query_map(params![from, (CHUNK - queued.len()) as i64], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        next_rebuild = if rebuilt.len() < CHUNK - queued.len() { None } else { rebuilt.last().map(|last| last + 1) };
        rowids.extend(rebuilt);
    }
    rowids.sort_unstable();
    rowids.dedup();
    let more = queued.len() == CHUNK || next_rebuild.is_some();
    let indexed = rowids.len();
    {
        let mut remove = transaction.prepare_cached("DELETE FROM search.traces_search WHERE rowid = ?1")?;
        let mut text = transaction.prepare_cached("SELECT input, output, error FROM agent.traces WHERE rowid = ?1")?;
        let mut insert = transaction
            .prepare_cached("INSERT INTO search.traces_search (rowid, input, output, error) VALUES (?1, ?2, ?3, ?4)")?;
        for rowid in rowids {
            remove.execute([rowid])?;
            let current: Option<(Option<String>, Option<String>, Option<String>)> =
                text.query_row([rowid], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))).optional()?;
            if let Some((input, output, error)) = current {
                if input.is_some() || output.is_some() || error.is_some() {
                    insert.execute(params![rowid, input, output, error])?;
                }
            }
        }
    }
    transaction.execute(
        "UPDATE search.search_state SET indexed_through = ?1, rebuild_next_rowid = ?2",
        params![through, next_rebuild],
    )?;
    transaction.commit()?;
    Ok(Pass { indexed, indexed_through: through, more })
}
