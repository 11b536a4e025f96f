//! Embeds `migrations/postgres/NNN_*.sql` into the crate, so that the binary
//! carries the exact bytes `run_migrations.sh` applies (their checksums are
//! compared across the two tools).

#[path = "../agentrace-store/build_support/embed_migrations.rs"]
mod embed_migrations;

fn main() {
    embed_migrations::embed("../../migrations/postgres");
}
