//! `bench`: evaluate and benchmark small vision-language models. This file only parses the
//! command line, sets up logging and maps the outcome to an exit code; `cli/` holds one module
//! per subcommand.

mod aggregates;
mod claims;
mod cli;
mod execute;
mod export;
mod fingerprint;
mod fixtures;
mod gate;
mod image_bench;
mod judge;
mod merge;
mod perf;
mod plan;
mod serve;
mod shard;
mod store;

use std::process::ExitCode;

use clap::Parser;

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,smolbench=info,bench=info",
        1 => "info",
        _ => "debug",
    };
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SMOLBENCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // The engine's per-step reports feed the batch counts, not the log.
        .add_directive("mistralrs_core::engine=warn".parse().expect("a valid directive"));
    let log = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_filter(filter);
    tracing_subscriber::registry().with(log).with(smolbench_runners::engine_steps::layer()).init();
}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    init_logging(args.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::dispatch(args.command)) {
        Ok(code) => code,
        Err(e) => {
            // One line: the context chain joined by ": ".
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
