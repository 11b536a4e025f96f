//! The `agentrace` binary: parses the command line and hands over to the
//! subcommand. This is the only crate that names both storage backends.

mod backend;
mod cli;
mod migrate;
mod serve;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(settings) => serve::run(settings).await,
            cli::Command::Migrate(settings) => migrate::run(settings).await,
        }
    })
}
