//! `bench bench-e2e`: end-to-end time per sample of the in-process engine on a checkpoint and
//! images, beside transformers answering the same prompts on the same machine.
//!
//! SmolBench's side loads the checkpoint as a run does (prepared copy, patched mistral.rs, the
//! Pillow-exact processor) and answers each image with the given prompt and token budget after
//! one warm-up, reporting the medians of end-to-end, time to first token and preprocessing.
//! transformers' side (optional, `--transformers-python`: an interpreter with `torch` and
//! `transformers`) times `AutoProcessor` plus greedy `generate` in float32, after one warm-up, in
//! a child process started after SmolBench's side has finished, so the two never share the CPU.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use smolbench_core::{EncodedImage, GenerationRequest};
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::prepare_model_dir;
use smolbench_runners::MistralRsRunner;

const TRANSFORMERS_SCRIPT: &str = include_str!("transformers_e2e.py");

/// What to time.
#[derive(Debug, Clone)]
pub struct E2eJob {
    /// A model directory (transformers layout).
    pub checkpoint: PathBuf,
    /// Where the prepared copy goes.
    pub prepared_root: PathBuf,
    /// Image files, one sample each.
    pub images: Vec<PathBuf>,
    /// The user turn's text.
    pub prompt: String,
    /// Greedy tokens per answer.
    pub max_new_tokens: usize,
    /// Timed answers per image (after one warm-up).
    pub repeats: usize,
}

/// Medians for one image.
#[derive(Debug, Clone, Default)]
pub struct E2eRow {
    /// The image file.
    pub image: PathBuf,
    /// SmolBench: end to end, first token, preprocessing (ms), generated tokens.
    pub ours: (f64, f64, f64, usize),
    /// transformers: end to end, preprocessing (ms), generated tokens, where measured.
    pub theirs: Option<(f64, f64, usize)>,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times SmolBench's in-process engine.
pub async fn measure_ours(job: &E2eJob) -> Result<Vec<E2eRow>> {
    let prepared = prepare_model_dir(&job.checkpoint, &job.prepared_root)
        .with_context(|| format!("preparing {}", job.checkpoint.display()))?;
    let runner = MistralRsRunner::load(&prepared, ComputeDevice::Cpu).await?;
    let mut rows = Vec::new();
    for path in &job.images {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let request = GenerationRequest {
            prompt: job.prompt.clone(),
            images: vec![EncodedImage { bytes }],
            max_new_tokens: job.max_new_tokens,
            ..Default::default()
        };
        let (mut e2e, mut ttft, mut pre, mut tokens) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for attempt in 0..=job.repeats {
            let g = runner.generate(&request).await.with_context(|| format!("answering {}", path.display()))?;
            if attempt > 0 {
                e2e.push(g.e2e_ms);
                ttft.push(g.ttft_ms);
                pre.push(g.preprocess_ms.unwrap_or(0.0));
            }
            tokens = g.completion_tokens;
        }
        rows.push(E2eRow { image: path.clone(), ours: (median(e2e), median(ttft), median(pre), tokens), theirs: None });
    }
    Ok(rows)
}

/// Adds transformers' medians from `python` to `rows`.
pub fn measure_transformers(python: &Path, job: &E2eJob, threads: usize, rows: &mut [E2eRow]) -> Result<String> {
    let input = json!({
        "checkpoint": job.checkpoint,
        "images": job.images,
        "prompt": job.prompt,
        "max_new_tokens": job.max_new_tokens,
        "repeats": job.repeats,
        "threads": threads,
    });
    let mut child = Command::new(python)
        .args(["-c", TRANSFORMERS_SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", python.display()))?;
    child.stdin.take().expect("piped").write_all(input.to_string().as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("the transformers script failed: {}", stderr.lines().last().unwrap_or(""));
    }
    let result: Value = serde_json::from_slice(&output.stdout).context("the transformers script's output")?;
    for row in rows.iter_mut() {
        let r = &result["images"][row.image.display().to_string()];
        if let (Some(e2e), Some(pre), Some(tokens)) =
            (r["e2e_ms"].as_f64(), r["preprocess_ms"].as_f64(), r["new_tokens"].as_u64())
        {
            row.theirs = Some((e2e, pre, tokens as usize));
        }
    }
    Ok(format!("torch {}", result["torch"].as_str().unwrap_or("?")))
}

/// The table `bench bench-e2e` prints.
pub fn render(rows: &[E2eRow], theirs: &str) -> String {
    let mut out = format!("End to end per sample, median ms (SmolBench in-process vs {theirs})\n");
    out.push_str(&format!(
        "{:<22} {:>9} {:>9} {:>11} {:>7} {:>12} {:>13} {:>7} {:>8}\n",
        "image", "ours e2e", "ours ttft", "ours prepr", "tokens", "theirs e2e", "theirs prepr", "tokens", "ratio"
    ));
    for r in rows {
        let name = r.image.file_name().unwrap_or_default().to_string_lossy();
        let (e2e, ttft, pre, tokens) = r.ours;
        let (te2e, tpre, ttok, ratio) = match r.theirs {
            Some((e, p, t)) => (format!("{e:.1}"), format!("{p:.1}"), t.to_string(), format!("{:.2}x", e2e / e)),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        out.push_str(&format!(
            "{name:<22} {e2e:>9.1} {ttft:>9.1} {pre:>11.1} {tokens:>7} {te2e:>12} {tpre:>13} {ttok:>7} {ratio:>8}\n"
        ));
    }
    out
}
