//! Opening a connection the way every part of agentrace expects it: the file
//! attached as `agent`, WAL journaling, and a busy timeout so that readers and
//! the single writer never surface "database is locked" to callers.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// The schema name the database file is attached under.
pub const SCHEMA: &str = "agent";

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
    connection.pragma_update(Some(SCHEMA), "journal_mode", "WAL")?;
    connection.pragma_update(Some(SCHEMA), "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    crate::query::register_functions(&connection)?;
    Ok(connection)
}
