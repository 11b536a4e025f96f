//! The rules every backend's migration runner keeps, whatever its database:
//! files apply in version order (the three-digit prefix of the file name),
//! two files may not share a version, and a version the ledger records is
//! skipped when its checksum is the file's and refused otherwise: an applied
//! migration is never edited, a new one is added instead.
//!
//! The ledger itself, its locking and its transactions are the backends'
//! (`agentrace_store_postgres::migrations`, `agentrace_store_sqlite::migrations`),
//! which re-export these types as their own.

use sha2::{Digest, Sha256};

/// One SQL file of a backend's `migrations/<backend>` directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The file name's three-digit prefix, e.g. `"001"`.
    pub version: &'static str,
    /// The file name, e.g. `"001_create_traces_table.sql"`.
    pub name: &'static str,
    /// The file's contents, byte for byte.
    pub sql: &'static str,
}

impl Migration {
    /// sha256 of the file's bytes, lowercase hex, as `sha256sum` prints it.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }

    /// The report of this file applied with `checksum`, its
    /// [`checksum`](Self::checksum) computed once for the ledger row too.
    pub fn applied(&self, checksum: String) -> AppliedMigration {
        AppliedMigration { version: self.version.to_owned(), name: self.name.to_owned(), checksum }
    }
}

/// A migration this run applied (skipped ones are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: String,
    pub name: String,
    pub checksum: String,
}

/// A set of files, or a file and the ledger, that break the rules above.
/// Each backend's `MigrationError` carries it with these words unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrationConflict {
    #[error(
        "migration {name} was changed after it was applied (checksum {actual}, recorded {recorded}); \
         add a new migration instead of editing an applied one"
    )]
    Changed { name: String, actual: String, recorded: String },

    #[error("migrations {first} and {second} share version {version}; renumber one of them")]
    DuplicateVersion { version: String, first: String, second: String },
}

/// `migrations` sorted by version; refused when two share one, since the
/// ledger would then record the first and skip the second as applied.
pub fn in_version_order(migrations: &[Migration]) -> Result<Vec<Migration>, MigrationConflict> {
    let mut ordered = migrations.to_vec();
    ordered.sort_by_key(|migration| migration.version);
    if let Some(pair) = ordered.windows(2).find(|pair| pair[0].version == pair[1].version) {
        return Err(MigrationConflict::DuplicateVersion {
            version: pair[0].version.to_owned(),
            first: pair[0].name.to_owned(),
            second: pair[1].name.to_owned(),
        });
    }
    Ok(ordered)
}

/// Whether `migration`, whose contents hash to `checksum` and whose version
/// the ledger records with `recorded` (`None`: not recorded), is applied
/// already; a conflict naming the file if it was applied with other contents.
pub fn is_applied(migration: &Migration, checksum: &str, recorded: Option<&str>) -> Result<bool, MigrationConflict> {
    match recorded {
        None => Ok(false),
        Some(recorded) if recorded == checksum => Ok(true),
        Some(recorded) => Err(MigrationConflict::Changed {
            name: migration.name.to_owned(),
            actual: checksum.to_owned(),
            recorded: recorded.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THINGS: Migration = Migration { version: "001", name: "001_things.sql", sql: "CREATE TABLE things ();\n" };
    const PARTS: Migration = Migration { version: "002", name: "002_parts.sql", sql: "CREATE TABLE parts ();\n" };

    #[test]
    fn the_checksum_is_sha256sum_of_the_bytes() {
        let empty = Migration { sql: "", ..THINGS };
        assert_eq!(empty.checksum(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn files_are_ordered_by_version() {
        let ordered = in_version_order(&[PARTS, THINGS]).unwrap();
        assert_eq!(ordered, [THINGS, PARTS]);
    }

    #[test]
    fn two_files_with_one_version_are_refused_by_name() {
        let twin = Migration { name: "001_other.sql", ..THINGS };

        let error = in_version_order(&[PARTS, twin, THINGS]).unwrap_err();

        assert_eq!(
            error.to_string(),
            "migrations 001_other.sql and 001_things.sql share version 001; renumber one of them"
        );
    }

    #[test]
    fn a_recorded_checksum_decides_skip_or_refusal() {
        let checksum = THINGS.checksum();
        assert_eq!(is_applied(&THINGS, &checksum, None), Ok(false));
        assert_eq!(is_applied(&THINGS, &checksum, Some(&checksum)), Ok(true));

        let error = is_applied(&THINGS, &checksum, Some("abc")).unwrap_err();

        assert_eq!(
            error.to_string(),
            format!(
                "migration 001_things.sql was changed after it was applied (checksum {checksum}, recorded abc); \
                 add a new migration instead of editing an applied one"
            )
        );
    }
}
