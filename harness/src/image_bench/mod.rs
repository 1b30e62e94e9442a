//! `bench bench-preprocess`: SmolBench's image preprocessing against Pillow doing the same
//! resizes, in one process run after the other on the same machine.
//!
//! For each image and processor geometry it times, median of `repeats`:
//!
//! - SmolBench's processor (decode, RGB conversion, resizes, tiles) on one thread and on all of
//!   rayon's threads, and its normalisation into `f32` tiles apart;
//! - Pillow doing the same steps (open, RGB conversion, first resize, resize to tile multiples,
//!   tile crops, global view) in a Python it sets up itself: a virtual environment under
//!   `$SMOLBENCH_HOME/venvs/pillow` with the Pillow the reference tiles were made with. Where that
//!   cannot be had (no network, no `venv`), the Pillow column says why and is left empty.

pub mod e2e;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use smolbench_pixels::Filter;
use smolbench_runners::model::split::{longest_edge_size, tile_multiples_size};
use smolbench_runners::processor::{settings_from_json, ImageProcessor};

/// The Pillow release the transformers reference tiles were made with.
pub const PILLOW_VERSION: &str = "13.0.0";
const PILLOW_SCRIPT: &str = include_str!("pillow_timing.py");

/// A processor geometry to time.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// Shown in the table.
    pub name: String,
    /// `preprocessor_config.json` settings.
    pub config: Value,
}

impl Geometry {
    /// SmolVLM-256M/500M's geometry as the reference checkpoints have it (512-pixel tiles,
    /// longest edge 2048, LANCZOS, splitting on), and SmolVLM-2.2B's (384, 1536).
    pub fn smolvlm_presets() -> Vec<Geometry> {
        let preset = |name: &str, edge: u32, tile: u32| Geometry {
            name: name.to_string(),
            config: json!({
                "do_convert_rgb": true, "do_resize": true, "do_image_splitting": true, "do_rescale": true,
                "do_normalize": true, "do_pad": true, "resample": 1, "rescale_factor": 1.0 / 255.0,
                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                "size": {"longest_edge": edge}, "max_image_size": {"longest_edge": tile},
            }),
        };
        vec![preset("256m/500m (512 px tiles)", 2048, 512), preset("2.2b (384 px tiles)", 1536, 384)]
    }

    /// The geometry of a checkpoint directory (`preprocessor_config.json`, or the
    /// `image_processor` section of transformers 5's `processor_config.json`).
    pub fn of_checkpoint(dir: &Path) -> Result<Geometry> {
        let read = |name: &str| -> Result<Option<Value>> {
            let path = dir.join(name);
            if !path.is_file() {
                return Ok(None);
            }
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(Some(serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))?))
        };
        let config = match read("preprocessor_config.json")? {
            Some(config) => config,
            None => match read("processor_config.json")?.and_then(|p| p.get("image_processor").cloned()) {
                Some(section) => section,
                None => bail!("{}: no preprocessor_config.json or processor_config.json with an image_processor section; pass a model directory", dir.display()),
            },
        };
        Ok(Geometry { name: dir.file_name().unwrap_or_default().to_string_lossy().into_owned(), config })
    }
}

/// One image under one geometry.
#[derive(Debug, Clone)]
pub struct Row {
    /// The image file.
    pub image: PathBuf,
    /// Its size.
    pub size: (u32, u32),
    /// The geometry's name.
    pub geometry: String,
    /// Tiles produced.
    pub tiles: usize,
    /// SmolBench: decode + RGB + resizes + tiles, one thread (median ms).
    pub ours_one_thread_ms: f64,
    /// The same on every thread rayon has.
    pub ours_all_threads_ms: f64,
    /// Normalisation of the tiles into `f32` (median ms), apart.
    pub normalise_ms: f64,
    /// Pillow: open + RGB + the same resizes and crops (median ms), where measured.
    pub pillow_ms: Option<f64>,
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn time_ours(bytes: &[u8], processor: &ImageProcessor, repeats: usize) -> Result<(f64, f64, usize)> {
    let mut process = Vec::new();
    let mut normalise = Vec::new();
    let mut tiles = 0;
    for _ in 0..repeats {
        let start = Instant::now();
        let decoded = image::load_from_memory(bytes)?;
        let processed = processor.process(&decoded);
        process.push(start.elapsed().as_secs_f64() * 1e3);
        tiles = processed.tiles.len();
        let start = Instant::now();
        std::hint::black_box(processor.pixels(processed));
        normalise.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok((median(process), median(normalise), tiles))
}

/// The resize targets for the Pillow side: first resize, tile multiples (same as the first when
/// splitting is off).
fn resize_steps(config: &Value, (w, h): (u32, u32)) -> Value {
    let settings = settings_from_json(config);
    let edge = settings.size.as_ref().and_then(|s| s.get("longest_edge").copied());
    let first = if settings.do_resize { edge.map_or((w, h), |e| longest_edge_size(w, h, e)) } else { (w, h) };
    let multiples = tile_multiples_size(first.0, first.1, settings.max_image_size);
    json!([[first.0, first.1], [multiples.0, multiples.1]])
}

/// Times every image under every geometry. `python` is the interpreter with Pillow, or why there
/// is none.
pub fn measure(
    images: &[PathBuf],
    geometries: &[Geometry],
    repeats: usize,
    python: &Result<PathBuf, String>,
) -> Result<Vec<Row>> {
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut rows = Vec::new();
    let mut sizes = serde_json::Map::new();
    for path in images {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let size = image::load_from_memory(&bytes)
            .with_context(|| format!("{} is not an image this build decodes", path.display()))?
            .to_rgb8()
            .dimensions();
        for geometry in geometries {
            let processor = ImageProcessor::new(&settings_from_json(&geometry.config))
                .with_context(|| format!("geometry {}", geometry.name))?;
            let (one, normalise_ms, tiles) = one_thread.install(|| time_ours(&bytes, &processor, repeats))?;
            let (all, _, _) = time_ours(&bytes, &processor, repeats)?;
            sizes.insert(format!("{}|{}", path.display(), geometry.name), resize_steps(&geometry.config, size));
            rows.push(Row {
                image: path.clone(),
                size,
                geometry: geometry.name.clone(),
                tiles,
                ours_one_thread_ms: one,
                ours_all_threads_ms: all,
                normalise_ms,
                pillow_ms: None,
            });
        }
    }
    if let Ok(python) = python {
        let job = json!({
            "repeats": repeats,
            "images": images.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "geometries": geometries.iter().map(|g| {
                let s = settings_from_json(&g.config);
                json!({"name": g.name, "tile": s.max_image_size, "splitting": s.do_image_splitting,
                       "resample": s.resample.unwrap_or(Filter::Bicubic as usize)})
            }).collect::<Vec<_>>(),
            "sizes": sizes,
        });
        let timings = run_pillow(python, &job)?;
        for row in &mut rows {
            let key = format!("{}|{}", row.image.display(), row.geometry);
            row.pillow_ms = timings["median_ms"][&key].as_f64();
        }
    }
    Ok(rows)
}

fn run_pillow(python: &Path, job: &Value) -> Result<Value> {
    let mut child = Command::new(python)
        .args(["-c", PILLOW_SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", python.display()))?;
    child.stdin.take().expect("piped").write_all(job.to_string().as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "the Pillow timing script failed: {}",
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// A Python with Pillow [`PILLOW_VERSION`]: the virtual environment under `venv_dir`, made (and
/// Pillow installed from the package index) when missing. The error says why there is none.
pub fn pillow_python(venv_dir: &Path) -> Result<PathBuf, String> {
    let python = venv_dir.join("bin/python3");
    let has_pillow = |python: &Path| {
        Command::new(python)
            .args(["-c", &format!("import PIL, sys; sys.exit(PIL.__version__ != '{PILLOW_VERSION}')")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.is_file() && has_pillow(&python) {
        return Ok(python);
    }
    eprintln!("setting up Pillow {PILLOW_VERSION} in {} (once)", venv_dir.display());
    let made = Command::new("python3").args(["-m", "venv"]).arg(venv_dir).status();
    if !made.is_ok_and(|s| s.success()) {
        return Err("python3 -m venv failed (is python3-venv installed?)".into());
    }
    let installed =
        Command::new(&python).args(["-m", "pip", "install", "--quiet", &format!("pillow=={PILLOW_VERSION}")]).status();
    if !installed.is_ok_and(|s| s.success()) || !has_pillow(&python) {
        return Err(format!("pip could not install pillow=={PILLOW_VERSION} (no package index reachable?)"));
    }
    Ok(python)
}

/// The table `bench bench-preprocess` prints.
pub fn render(rows: &[Row], pillow: &Result<PathBuf, String>) -> String {
    let mut out = String::new();
    let pillow_note = match pillow {
        Ok(python) => format!("Pillow {PILLOW_VERSION} via {}", python.display()),
        Err(why) => format!("Pillow skipped: {why}"),
    };
    out.push_str(&format!("Image preprocessing, median ms per image (decode, RGB, resizes, tiles); {pillow_note}\n"));
    out.push_str(&format!(
        "{:<22} {:>11} {:<26} {:>5} {:>10} {:>10} {:>10} {:>10} {:>12}\n",
        "image", "size", "geometry", "tiles", "ours 1thr", "ours all", "normalise", "Pillow", "ours/Pillow"
    ));
    for r in rows {
        let name = r.image.file_name().unwrap_or_default().to_string_lossy();
        let (pillow, ratio) = match r.pillow_ms {
            Some(p) => (format!("{p:.2}"), format!("{:.2}x", r.ours_one_thread_ms / p)),
            None => ("-".into(), "-".into()),
        };
        out.push_str(&format!(
            "{:<22} {:>11} {:<26} {:>5} {:>10.2} {:>10.2} {:>10.2} {:>10} {:>12}\n",
            name,
            format!("{}x{}", r.size.0, r.size.1),
            r.geometry,
            r.tiles,
            r.ours_one_thread_ms,
            r.ours_all_threads_ms,
            r.normalise_ms,
            pillow,
            ratio
        ));
    }
    out
}
