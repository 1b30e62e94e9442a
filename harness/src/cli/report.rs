//! `bench report RUN_DIR... --out DIR`: a static HTML report (pages and PNG charts) for one or
//! more runs, beside the published results of SmolVLM and larger baselines. Directories holding
//! a perf.json (`bench perf`) go to the performance page instead.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use smolbench_reports::baselines::Baselines;
use smolbench_reports::rundir::load_run;
use smolbench_reports::site::{build_site, SiteOptions};

/// Arguments of `bench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run directories (each holding run.json and samples.jsonl); several runs are grouped by
    /// model, device and profile. Sweep directories (perf.json) make the performance page.
    #[arg(required = true, value_name = "RUN_DIR")]
    runs: Vec<PathBuf>,
    /// The directory to write the site to (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The report's title.
    #[arg(long, default_value = "SmolBench report")]
    title: String,
    /// Do not read images back from the data sets for the per-sample pages.
    #[arg(long)]
    no_thumbnails: bool,
    /// Thumbnails per run and task, failures first (`all` for every sample).
    #[arg(long, value_name = "N|all", default_value = "1000", value_parser = parse_limit)]
    max_thumbnails: Limit,
}

/// `N` or `all`.
#[derive(Debug, Clone, Copy)]
struct Limit(Option<usize>);

fn parse_limit(value: &str) -> Result<Limit, String> {
    if value.eq_ignore_ascii_case("all") {
        return Ok(Limit(None));
    }
    value.parse().map(|n| Limit(Some(n))).map_err(|_| format!("`{value}` is neither a number nor `all`"))
}

/// Runs `bench report`.
pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let (sweep_dirs, run_dirs): (Vec<&PathBuf>, Vec<&PathBuf>) =
        args.runs.iter().partition(|d| crate::perf::is_sweep(d));
    // The performance page first: the overview links to it when it is there.
    let perf_page = args.out.join(smolbench_reports::perf::PERF_PAGE);
    if sweep_dirs.is_empty() {
        let _ = std::fs::remove_file(&perf_page);
    } else {
        let sweeps = sweep_dirs.iter().map(|d| crate::perf::read(d)).collect::<Result<Vec<_>>>()?;
        smolbench_reports::perf::write_perf_page(&sweeps, &Baselines::builtin(), &args.out)?;
        println!("wrote {} for {} sweep(s)", perf_page.display(), sweeps.len());
        if run_dirs.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let runs = run_dirs.iter().map(|dir| load_run(dir)).collect::<Result<Vec<_>>>()?;
    let options = SiteOptions {
        title: args.title.clone(),
        thumbnails: !args.no_thumbnails,
        max_thumbnails: args.max_thumbnails.0,
    };
    let site = build_site(&runs, &Baselines::builtin(), &args.out, &options)?;
    for warning in &site.warnings {
        tracing::warn!("{warning}");
    }
    println!(
        "wrote {} pages and {} images; open {}",
        site.pages.len(),
        site.images.len(),
        args.out.join("index.html").display()
    );
    Ok(ExitCode::SUCCESS)
}
