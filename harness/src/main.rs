//! `bench`: evaluate and benchmark small vision-language models. This file only parses the
//! command line, sets up logging and maps the outcome to an exit code; `cli/` holds one module
//! per subcommand.

mod aggregates;
mod claims;
mod cli;
mod diff;
mod execute;
mod exit;
mod export;
mod fingerprint;
mod fixtures;
mod gate;
mod image_bench;
mod import;
mod judge;
mod local_model;
mod machine_load;
mod malloc_tuning;
mod merge;
mod perf;
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
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SMOLBENCH_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // The engine's per-step reports feed the batch counts, not the log.
        .add_directive("mistralrs_core::engine=warn".parse().expect("a valid directive"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour)
        .with_filter(filter);
    tracing_subscriber::registry().with(log).with(smolbench_runners::engine_steps::layer()).init();
}

fn main() -> ExitCode {
    malloc_tuning::keep_freed_memory();
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
