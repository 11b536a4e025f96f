//! The `agentrace` binary: parses the command line and hands over to the
//! subcommand. This is the only crate that names both storage backends.

mod backend;
mod cli;
mod migrate;
mod read;
mod render;
mod serve;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

/// The server allocates a request's worth of small values (JSON trees,
/// strings, batch vectors) on one worker thread and often frees them on
/// another. glibc's allocator spent about a sixth of the server's CPU time
/// on that in the one-span-per-request benchmark; with jemalloc the batch
/// phase ran 10–20% faster on both stores and the bursts' peak RSS stayed
/// where it was. mimalloc was as fast but took the SQLite burst to
/// 243–289 MB, near the 256 MB a server is meant to stay under.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let matches = cli::Cli::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let origins = read_origins(&matches);
    match run(cli, origins) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Where a read command's `--server` and database settings came from: a
/// flag, the environment, or the default (see `read::source`).
fn read_origins(matches: &ArgMatches) -> read::source::Origins {
    let Some((_, command)) = matches.subcommand() else { return Default::default() };
    let source = |id: &str| command.try_contains_id(id).ok().and_then(|_| command.value_source(id));
    read::source::Origins { server: source("server"), database: source("database_url").or(source("sqlite_path")) }
}

fn run(cli: cli::Cli, origins: read::source::Origins) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(settings) => serve::run(settings).await,
            cli::Command::Migrate(settings) => migrate::run(settings).await,
            cli::Command::Traces(args) => read::traces(args, origins).await,
            cli::Command::Trace(args) => read::trace(args, origins).await,
            cli::Command::Sessions(args) => read::sessions(args, origins).await,
            cli::Command::Session(args) => read::session(args, origins).await,
            cli::Command::Stats(args) => read::stats(args, origins).await,
        }
    })
}
