//! `bench`: evaluate and benchmark small vision-language models. This file only parses the
//! command line, sets up logging and maps the outcome to an exit code; `cli/` holds one module
//! per subcommand.

mod aggregates;
mod claims;
mod cli;
mod diff;
mod execute;
mod exit;
mod fingerprint;
mod fixtures;
mod gate;
mod image_bench;
mod import;
mod local_model;
mod merge;
mod plan;
mod rescore;
mod serve;
mod session;
mod shard;
mod store;
mod video_tools;

use std::process::ExitCode;

use clap::Parser;

/// Logs go to stderr, filtered by `SMOLBENCH_LOG`, else `RUST_LOG`, else `-v`; colour only on a
/// terminal (and never with `NO_COLOR` set), so piped logs (Slurm, CI) hold no escape codes.
fn init_logging(verbose: u8) {
    use std::io::IsTerminal as _;
    let default = match verbose {
        0 => "warn,smolbench=info,bench=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SMOLBENCH_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour)
        .init();
}

fn main() -> ExitCode {
    let argv = match cli::config::expand_run_config(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            return exit::code(exit::FAILURE);
        }
    };
    let args = cli::Cli::parse_from(argv);
    init_logging(args.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::code(exit::FAILURE);
        }
    };
    match runtime.block_on(cli::dispatch(args.command)) {
        Ok(code) => code,
        Err(e) => {
            // One line: the context chain joined by ": ".
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            exit::code(exit::FAILURE)
        }
    }
}
