//! `bench gate --baseline RUN --candidate RUN`: the CI regression gate. Given two performance
//! sweeps (perf.json) instead of runs, it compares those ([`crate::perf::compare`]).
//!
//! Exit codes: 0 no regression (inconclusive checks included), 1 regression, 2 unusable input
//! (runs that cannot be compared, an unreadable run directory or gate file). The Markdown summary goes to stdout (and to
//! `--markdown FILE`), JUnit XML to `--junit FILE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_reports::rundir::load_run;

use crate::exit;
use crate::gate::{compare, junit, junit_unusable, markdown, markdown_unusable, CompareOptions, GateConfig, Unusable};

/// Arguments of `bench gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The reference run directory.
    #[arg(long, value_name = "RUN_DIR")]
    baseline: PathBuf,
    /// The run directory to judge.
    #[arg(long, value_name = "RUN_DIR")]
    candidate: PathBuf,
    /// The gate file with thresholds [default: the built-in copy of harness/gate.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Also write the Markdown summary to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write JUnit XML (one test case per check) to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Runs with different task sets: compare the tasks both hold and list the others, instead
    /// of refusing (exit 2).
    #[arg(long)]
    shared_tasks: bool,
}

fn write(path: Option<&Path>, text: &str) -> Result<()> {
    if let Some(path) = path {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Two performance sweeps (perf.json, from `bench perf`): see [`crate::perf::compare`].
fn perf_gate(args: &GateArgs) -> Result<ExitCode> {
    use crate::perf::compare::{compare, markdown, PerfTolerances};
    let read = |path: &Path, which: &str| crate::perf::read(path).map_err(|e| Unusable(format!("{which}: {e:#}")));
    let compared = read(&args.baseline, "baseline").and_then(|base| {
        let cand = read(&args.candidate, "candidate")?;
        compare(&base, &cand, PerfTolerances::default()).map_err(Unusable)
    });
    let cmp = match compared {
        Ok(c) => c,
        Err(reason) => return unusable(args, reason),
    };
    let md = markdown(&cmp);
    print!("{md}");
    write(args.markdown.as_deref(), &md)?;
    Ok(if cmp.regressed() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn unusable(args: &GateArgs, reason: Unusable) -> Result<ExitCode> {
    eprintln!("error: unusable gate input: {}", reason.0);
    let md = markdown_unusable(&reason);
    print!("{md}");
    write(args.markdown.as_deref(), &md)?;
    write(args.junit.as_deref(), &junit_unusable(&reason))?;
    Ok(exit::code(exit::UNUSABLE_INPUT))
}

/// Runs `bench gate`.
pub fn run(args: GateArgs) -> Result<ExitCode> {
    if crate::perf::is_sweep(&args.baseline) || crate::perf::is_sweep(&args.candidate) {
        return perf_gate(&args);
    }
    let config = match &args.config {
        None => GateConfig::builtin(),
        Some(path) => {
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read gate file {}: {e}", path.display()))
                .and_then(|text| GateConfig::parse(&text, &path.display().to_string()));
            match parsed {
                Ok(c) => c,
                Err(reason) => return unusable(&args, Unusable(reason)),
            }
        }
    };
    let base = match load_run(&args.baseline) {
        Ok(r) => r,
        Err(e) => return unusable(&args, Unusable(format!("baseline: {e:#}"))),
    };
    let cand = match load_run(&args.candidate) {
        Ok(r) => r,
        Err(e) => return unusable(&args, Unusable(format!("candidate: {e:#}"))),
    };
    let options = CompareOptions { shared_tasks: args.shared_tasks };
    let report = match compare(&base, &cand, &config, options) {
        Ok(r) => r,
        Err(reason) => return unusable(&args, reason),
    };
    let md = markdown(&report);
    print!("{md}");
    write(args.markdown.as_deref(), &md)?;
    write(args.junit.as_deref(), &junit(&report))?;
    Ok(exit::code(if report.regressed() { exit::REGRESSION } else { exit::OK }))
}
