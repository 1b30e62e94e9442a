//! How a report scales with the number of samples: writes synthetic DocVQA runs of N samples
//! (records as `bench run` writes them, a parquet data set of scanned-page-sized JPEGs in row
//! groups of 100 like the Hugging Face files), then reports each in a fresh process and prints
//! its wall time and peak resident memory (VmHWM).
//!
//! ```text
//! cargo run --example report_scale -- 600 5349
//! ```
//!
//! Options: `--keep DIR` writes the runs and sites under DIR instead of a temporary folder;
//! `--max-thumbnails N|all` (default: the report's default).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smolbench_core::{
    DeviceFingerprint, FileHash, FinishReason, Generation, MemoryReading, MemorySource, ModelRecord, RunManifest,
    SampleRecord, SampleStatus, TaskRecord,
};
use smolbench_reports::baselines::Baselines;
use smolbench_reports::rundir::load_run;
use smolbench_reports::site::{build_site, SiteOptions, DEFAULT_MAX_THUMBNAILS};

/// Distinct page images in the data set (rows cycle through them).
const PAGES: usize = 24;
/// Page size of a DocVQA scan (pixels).
const PAGE: (u32, u32) = (1700, 2200);
/// Rows per parquet row group, as the Hugging Face files are written.
const ROW_GROUP: usize = 100;

fn page_image(rng: &mut ChaCha8Rng) -> Result<Vec<u8>> {
    let mut img = image::RgbImage::from_pixel(PAGE.0, PAGE.1, image::Rgb([250, 250, 246]));
    // Lines of "text": dark dashes of random length, with scanner noise.
    let mut y = 120;
    while y < PAGE.1 - 120 {
        let mut x = 140;
        while x < PAGE.0 - 200 {
            let w = rng.random_range(20..120);
            // A few grey levels per dash, as a scan's anti-aliased glyphs: a page of a few
            // hundred KiB, like DocVQA's (3.7 GB for 5,349 pages is ~700 KiB each).
            let v = rng.random_range(10..80);
            for dx in 0..w {
                for dy in 0..14 {
                    let shade = v + ((dx * 7 + dy * 13) % 5) as u8 * 12;
                    img.put_pixel(x + dx, y + dy, image::Rgb([shade, shade, shade]));
                }
            }
            x += w + rng.random_range(8..24);
        }
        y += rng.random_range(30..60);
    }
    // Quality 40 keeps the data set small enough for a shared disk (decoding cost follows the
    // pixel count, not the file size).
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 40).encode_image(&img)?;
    Ok(jpeg)
}

fn write_data(dir: &Path, n: usize, pages: &[Vec<u8>]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("validation-00000-of-00001.parquet");
    let ids: Vec<String> = (0..n).map(|i| format!("{}", 50_000 + i)).collect();
    let bytes: Vec<&[u8]> = (0..n).map(|i| pages[i % pages.len()].as_slice()).collect();
    let paths: Vec<Option<&str>> = vec![None; n];
    let image = StructChunked::from_series(
        "image".into(),
        n,
        [Series::new("bytes".into(), bytes), Series::new("path".into(), paths)].iter(),
    )?
    .into_series();
    let mut df = DataFrame::new(n, vec![Series::new("questionId".into(), ids).into_column(), image.into_column()])?;
    ParquetWriter::new(std::fs::File::create(&path)?)
        .with_compression(ParquetCompression::Uncompressed)
        .with_row_group_size(Some(ROW_GROUP))
        .finish(&mut df)?;
    Ok(path)
}

fn write_run(dir: &Path, data_dir: &Path, data_file: &Path, n: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let task = TaskRecord {
        name: "docvqa".into(),
        version: 1,
        config: serde_json::json!({
            "dataset": {"split": "validation"},
            "prompt": {"default": "vlmevalkit-smolvlm"},
            "columns": {"id": "questionId", "images": ["image"]},
        }),
        data_dir: data_dir.display().to_string(),
        data_revision: Some("synthetic".into()),
        data_files: vec![FileHash {
            path: data_file.file_name().unwrap().to_string_lossy().into(),
            bytes: std::fs::metadata(data_file)?.len(),
            sha256: String::new(),
        }],
        available_samples: n,
        selected_samples: n,
        prompt_profile: "vlmevalkit-smolvlm".into(),
        metric_profile: "vlmevalkit".into(),
        data_lock: "synthetic".into(),
    };
    let manifest = RunManifest {
        format_version: smolbench_core::STORE_FORMAT_VERSION,
        run_id: format!("scale-{n}"),
        command: vec!["bench".into(), "run".into()],
        started_at: "2026-01-01T00:00:00Z".into(),
        suite: "custom".into(),
        model: ModelRecord {
            requested: "256m".into(),
            repo_id: Some("HuggingFaceTB/SmolVLM-256M-Instruct".into()),
            source_dir: String::new(),
            prepared_dir: String::new(),
            prepare_changes: vec![],
            files: vec![],
            engine: "mistralrs 0.8.1".into(),
            dtype: "bf16".into(),
            tokens_per_image: 64,
            image_splitting: true,
            longest_edge: Some(1920),
            tile_size: 512,
            encoder_cache: false,
            engine_patch: None,
        },
        tasks: vec![task],
        skipped_tasks: vec![],
        smolbench_version: "0.1.0".into(),
        git_commit: None,
        device: DeviceFingerprint {
            compute: "cuda:0".into(),
            cpu_model: "CPU".into(),
            cpu_cores: 16,
            ram_total_bytes: 1 << 37,
            gpus: vec![],
            os: "linux".into(),
            hostname: "synthetic".into(),
        },
        data_source: "synthetic".into(),
        limit: None,
        endpoints: vec![],
        scoring: "rules".into(),
        judge: None,
    };
    std::fs::write(dir.join("run.json"), serde_json::to_string_pretty(&manifest)?)?;
    let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
    let mut lines = String::new();
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let correct = rng.random_bool(0.6);
        let record = SampleRecord {
            task: "docvqa".into(),
            sample_id: format!("{}", 50_000 + i),
            index: i,
            status: SampleStatus::Ok,
            prompt: format!("Give a short and terse answer to the following question. Do not paraphrase or reformat the text you see in the image. Question: what is the total on page {i}?\nAnswer the question using a single word or phrase."),
            n_images: 1,
            references: vec![format!("{}", i * 7), format!("${}.00", i * 7)],
            breakdown: [("question_types".to_string(), ["form", "table", "layout"][i % 3].to_string())].into(),
            prediction: Some(if correct { format!("{}", i * 7) } else { "unknown".into() }),
            extracted: Some(if correct { format!("{}", i * 7) } else { "unknown".into() }),
            metric: "anls".into(),
            score: Some(if correct { 1.0 } else { rng.random_range(0.0..0.5) }),
            generation: Some(Generation {
                text: String::new(),
                finish_reason: FinishReason::Stop,
                prompt_tokens: 1200,
                image_tokens: 1100,
                image_marker_tokens: 68,
                completion_tokens: 4,
                ttft_ms: rng.random_range(80.0..140.0),
                e2e_ms: rng.random_range(100.0..200.0),
                decode_tokens_per_s: Some(rng.random_range(80.0..120.0)),
                usage_source: "engine".into(),
                budget_capped_to: None,
                image_tiles: 17,
                encoder_cache_hits: None,
                preprocess_ms: Some(12.0),
                cpu: None,
                machine: None,
            }),
            memory: Some(MemoryReading { peak_bytes: 1_100_000_000, source: MemorySource::GpuNvml }),
            ..Default::default()
        };
        lines.push_str(&serde_json::to_string(&record)?);
        lines.push('\n');
        records.push(record);
    }
    std::fs::write(dir.join("samples.jsonl"), lines)?;
    let summary = smolbench_reports::summarise_run(&manifest.run_id, &records);
    std::fs::write(dir.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    Ok(())
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The child: reports one run and prints its figures.
fn report(run: &Path, out: &Path, max_thumbnails: Option<usize>) -> Result<()> {
    let start = Instant::now();
    let loaded = load_run(run)?;
    let options = SiteOptions { max_thumbnails, ..SiteOptions::default() };
    let site = build_site(&[loaded], &Baselines::builtin(), out, &options)?;
    println!(
        "{:.1} s, peak RSS {:.0} MiB, {} pages, {} images",
        start.elapsed().as_secs_f64(),
        peak_rss_mb(),
        site.pages.len(),
        site.images.len()
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let max_thumbnails = match option("--max-thumbnails").as_deref() {
        Some("all") => None,
        Some(n) => Some(anyhow::Context::context(n.parse::<usize>(), "--max-thumbnails N|all")?),
        None => Some(DEFAULT_MAX_THUMBNAILS),
    };
    if args.first().map(String::as_str) == Some("--report") {
        return report(Path::new(&args[1]), Path::new(&args[2]), max_thumbnails);
    }
    let temp = tempfile::tempdir()?;
    let root = option("--keep").map(PathBuf::from).unwrap_or_else(|| temp.path().to_path_buf());
    let sizes: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() { vec![600, 5349] } else { sizes };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let pages: Vec<Vec<u8>> = (0..PAGES).map(|_| page_image(&mut rng)).collect::<Result<_>>()?;
    let mean_kb = pages.iter().map(Vec::len).sum::<usize>() as f64 / pages.len() as f64 / 1024.0;
    println!("page images: {PAGES} distinct {}x{} JPEGs, {mean_kb:.0} KiB on average", PAGE.0, PAGE.1);
    for n in sizes {
        let data_dir = root.join(format!("data-{n}"));
        let data_file = write_data(&data_dir, n, &pages)?;
        let run = root.join(format!("run-{n}"));
        write_run(&run, &data_dir, &data_file, n)?;
        let size_mb = std::fs::metadata(&data_file)?.len() as f64 / (1024.0 * 1024.0);
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["--report", &run.display().to_string(), &root.join(format!("site-{n}")).display().to_string()])
            .args(["--max-thumbnails", &max_thumbnails.map_or("all".into(), |n| n.to_string())])
            .output()?;
        anyhow::ensure!(out.status.success(), "report of {n} samples failed: {}", String::from_utf8_lossy(&out.stderr));
        print!("{n} samples ({size_mb:.0} MiB parquet): {}", String::from_utf8_lossy(&out.stdout));
    }
    Ok(())
}
