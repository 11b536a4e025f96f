//! Opening a connection the way every part of agentrace expects it: the file
//! attached as `agent`, WAL journaling, and a busy timeout so that readers and
//! the single writer never surface "database is locked" to callers.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// The schema name the database file is attached under.
pub const SCHEMA: &str = "agent";

/// The page size of a database file agentrace creates.
pub const PAGE_SIZE: i64 = 8192;

/// Opens `path` (created when missing) attached as `agent`.
///
/// The main database of the connection is an empty in-memory one; every
/// agentrace object lives in the attached file. The SQL functions the
/// queries use are registered on it.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_in_memory()?;
    connection.busy_timeout(Duration::from_secs(30))?;
    let path_text = path.to_string_lossy();
    connection.execute("ATTACH DATABASE ?1 AS agent", [path_text.as_ref()])?;
    // WAL lets readers run beside the writer; NORMAL synchronous is still
    // durable at each commit under WAL only when paired with a checkpoint
    // policy, so we keep FULL: an acknowledged write must survive power loss.
    // Set before WAL mode, so it applies to a file created here (a file's
    // page size is fixed once it has one). Spans are rows of 1-2 KB: on the
    // default 4 KB pages a commit of 2,300 of them wrote and checksummed
    // twice as many pages, 126-130 ms against 117-119 ms on 8 KB pages
    // (ingest-bench batch phase: 14,000-14,700 against 15,600-15,900
    // spans/s). 16 KB pages were as fast but raised the server's peak
    // memory in a 100,000-span burst from 222 to 264 MB.
    connection.pragma_update(Some(SCHEMA), "page_size", PAGE_SIZE)?;
    connection.pragma_update(Some(SCHEMA), "journal_mode", "WAL")?;
    connection.pragma_update(Some(SCHEMA), "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    crate::query::register_functions(&connection)?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_the_page_size_and_an_existing_one_keeps_its_own() {
        let directory = tempfile::tempdir().unwrap();
        let page_size = |path: &Path| -> i64 {
            open(path).unwrap().query_row("PRAGMA agent.page_size", [], |row| row.get(0)).unwrap()
        };
        let created = directory.path().join("new.db");
        open(&created).unwrap().execute_batch("CREATE TABLE agent.t (x)").unwrap();
        assert_eq!(page_size(&created), PAGE_SIZE);

        let older = directory.path().join("older.db");
        let plain = Connection::open(&older).unwrap();
        plain.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x);").unwrap();
        drop(plain);
        assert_eq!(page_size(&older), 4096, "a file's page size is its own once it has tables");
    }
}
