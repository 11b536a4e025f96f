//! Embeds `migrations/sqlite/NNN_*.sql` into the crate, under the naming
//! rules of the PostgreSQL files (same numbers, same names), so that the
//! ledger's checksums are those of the files in the repository.

#[path = "../agentrace-store/build_support/embed_migrations.rs"]
mod embed_migrations;

fn main() {
    embed_migrations::embed("../../migrations/sqlite");
}
