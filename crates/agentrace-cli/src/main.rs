//! The `agentrace` binary: parses the command line and hands over to the
//! subcommand. This is the only crate that names both storage backends.

mod backend;
mod cli;
mod migrate;
mod read;
mod render;
mod serve;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

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
