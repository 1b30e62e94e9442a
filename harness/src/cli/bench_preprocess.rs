//! `bench bench-preprocess`: arguments for timing SmolBench's image preprocessing beside Pillow
//! ([`crate::image_bench`] does the work).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use smolbench_core::smolbench_home;

use crate::image_bench::{measure, pillow_python, render, Geometry};

/// Arguments of `bench bench-preprocess`.
#[derive(Debug, Args)]
pub struct BenchPreprocessArgs {
    /// Image files, or folders whose PNG and JPEG files are timed.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Model directories whose processor settings to time [default: SmolVLM's two geometries:
    /// 512-pixel tiles with longest edge 2048, and 384 with 1536].
    #[arg(long = "checkpoint")]
    checkpoints: Vec<PathBuf>,
    /// Timed runs per image and geometry (the median is shown).
    #[arg(long, default_value_t = 15)]
    repeats: usize,
    /// Skip the Pillow column (no Python set-up).
    #[arg(long)]
    no_pillow: bool,
}

fn image_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
                })
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            bail!("{}: no such image file or folder", path.display());
        }
    }
    if files.is_empty() {
        bail!("no PNG or JPEG files in {:?}", paths);
    }
    Ok(files)
}

/// Runs `bench bench-preprocess`.
pub fn run(args: BenchPreprocessArgs) -> Result<ExitCode> {
    let images = image_files(&args.images)?;
    let geometries = if args.checkpoints.is_empty() {
        Geometry::smolvlm_presets()
    } else {
        args.checkpoints.iter().map(|dir| Geometry::of_checkpoint(dir)).collect::<Result<_>>()?
    };
    let python = if args.no_pillow {
        Err("--no-pillow".to_string())
    } else {
        pillow_python(&smolbench_home().join("venvs/pillow"))
    };
    let rows = measure(&images, &geometries, args.repeats.max(1), &python)?;
    print!("{}", render(&rows, &python));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `bench bench-e2e`.
#[derive(Debug, Args)]
pub struct BenchE2eArgs {
    /// A model directory (transformers layout).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Image files, or folders whose PNG and JPEG files are used; one sample each.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// The user turn's text [default: DocVQA's lmms-eval prompt].
    #[arg(long, default_value = "Describe the image.\nAnswer the question using a single word or phrase.")]
    prompt: String,
    /// Greedy tokens per answer.
    #[arg(long, default_value_t = 32)]
    max_new_tokens: usize,
    /// Timed answers per image, after one warm-up.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// A Python with torch and transformers, to time transformers on the same prompts.
    #[arg(long)]
    transformers_python: Option<PathBuf>,
    /// torch's CPU threads [default: the machine's cores].
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs `bench bench-e2e`.
pub async fn run_e2e(args: BenchE2eArgs) -> Result<ExitCode> {
    use crate::image_bench::e2e::{measure_ours, measure_transformers, render, E2eJob};
    let prepared_root = tempfile::tempdir()?;
    let job = E2eJob {
        checkpoint: args.checkpoint,
        prepared_root: prepared_root.path().to_path_buf(),
        images: image_files(&args.images)?,
        prompt: args.prompt,
        max_new_tokens: args.max_new_tokens,
        repeats: args.repeats.max(1),
    };
    let mut rows = measure_ours(&job).await?;
    let theirs = match &args.transformers_python {
        Some(python) => {
            let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            measure_transformers(python, &job, threads, &mut rows)?
        }
        None => "transformers (not run: no --transformers-python)".to_string(),
    };
    print!("{}", render(&rows, &theirs));
    Ok(ExitCode::SUCCESS)
}
