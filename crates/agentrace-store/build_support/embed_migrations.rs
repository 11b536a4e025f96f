//! The build step of every backend with embedded migrations: writes
//! `$OUT_DIR/migrations.rs`, a `&[Migration]` of the directory's
//! `NNN_*.sql` files in version order, each `include_str!`-ed so the binary
//! carries their exact bytes (the ledger compares their checksums).
//!
//! Included, not a build-dependency: depending on `agentrace-store` would
//! compile it and its dependencies once more, for the build scripts, to share
//! these few lines. Each backend's `build.rs` includes this file with
//! `#[path = "../agentrace-store/build_support/embed_migrations.rs"]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Embeds the migration files of `directory`, relative to the calling
/// crate's manifest directory.
pub fn embed(directory: &str) {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let directory = manifest.join(directory);
    println!("cargo:rerun-if-changed={}", directory.display());
    let directory = directory.canonicalize().unwrap_or_else(|error| panic!("{}: {error}", directory.display()));

    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("read {}: {error}", directory.display()))
        .map(|entry| entry.expect("read a directory entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_string_lossy().into_owned();
            if !looks_like_migration(&name) {
                return None;
            }
            // Refused rather than skipped (run_migrations.sh refuses them
            // too): a file silently left out would be a migration nobody
            // applies.
            assert!(is_migration_file_name(&name), "{name}: a migration file name may only use A-Z a-z 0-9 _ - .");
            Some((name, path))
        })
        .collect();
    files.sort();

    let mut generated = String::from("&[\n");
    for (index, (name, path)) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", path.display());
        if let Some((previous, _)) = index.checked_sub(1).map(|previous| &files[previous]) {
            // Two branches that both took the next number: renumber one
            // before landing, or the later one would be skipped as applied.
            assert!(previous[..3] != name[..3], "migrations {previous} and {name} share version {}", &name[..3]);
        }
        writeln!(
            generated,
            "    Migration {{ version: {:?}, name: {:?}, sql: include_str!({:?}) }},",
            &name[..3],
            name,
            path_text(path)
        )
        .expect("write to a String");
    }
    generated.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("migrations.rs"), generated).expect("write the generated migration list");
}

fn looks_like_migration(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 4 && bytes[..3].iter().all(u8::is_ascii_digit) && bytes[3] == b'_' && name.ends_with(".sql")
}

/// `NNN_description.sql` with a plain-ASCII description, the same rule
/// `migrations/postgres/run_migrations.sh` applies, so both tools see the
/// same set of files; the SQLite files are held to it too.
fn is_migration_file_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > "000_.sql".len()
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b'_'
        && name.ends_with(".sql")
        && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'))
}

fn path_text(path: &Path) -> &str {
    path.to_str().unwrap_or_else(|| panic!("{} is not valid UTF-8", path.display()))
}
