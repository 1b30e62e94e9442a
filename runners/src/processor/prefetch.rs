//! Preprocessing off the engine's critical path.
//!
//! A request's images are decoded and run through the [`ImageProcessor`] on a blocking worker
//! ([`prepare_images`]), either ahead of time (the sample loop asks for the next sample while the
//! engine answers the current one) or when the request is sent. The finished tiles wait in a
//! small process-wide table keyed by the engine's own content hash of each decoded image and the
//! processor settings; the patched engine's Idefics3 hook ([`install_hook`]) takes them from
//! there for the prompt step, after reading only their layout (rows and columns) for the pass
//! that expands the prompt when the request is added. An image the table does not hold (a
//! request that bypassed the runner) is processed on the spot by the same code, so the engine
//! never resizes with its own filters.

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use image::DynamicImage;
use mistralrs::core::idefics3_image_hook::{self, PreparedImage, ProcessorSettings, Purpose};
use smolbench_core::EncodedImage;

use super::{layout, ImageProcessor};
use crate::error::RunnerError;

/// Prepared images waiting for the engine. A request takes its own as the engine starts it, so
/// only images prepared for requests that never reached the engine linger; the oldest go first.
const WAITING_CAPACITY: usize = 64;

struct Waiting {
    hash: u64,
    settings: ProcessorSettings,
    image: PreparedImage,
}

fn waiting() -> &'static Mutex<VecDeque<Waiting>> {
    static WAITING: OnceLock<Mutex<VecDeque<Waiting>>> = OnceLock::new();
    WAITING.get_or_init(|| Mutex::new(VecDeque::new()))
}

/// The content hash the engine computes for a decoded image (mistral.rs hashes the pixel bytes
/// with the standard library's default hasher).
pub fn engine_image_hash(image: &DynamicImage) -> u64 {
    let mut hasher = DefaultHasher::new();
    image.as_bytes().hash(&mut hasher);
    hasher.finish()
}

/// A request's images, decoded and preprocessed.
#[derive(Debug)]
pub struct PreparedImages {
    /// The decoded images, which go to the engine with the request.
    pub decoded: Vec<DynamicImage>,
    /// The engine's content hash of each decoded image.
    pub hashes: Vec<u64>,
    /// Their tiles, in the same order.
    pub prepared: Vec<PreparedImage>,
    /// Wall-clock milliseconds of decoding and preprocessing.
    pub preprocess_ms: f64,
}

impl PreparedImages {
    /// Hands the tiles to the engine's hook, keyed by each decoded image's hash; returns the
    /// decoded images for the request.
    pub fn hand_over(self, settings: &ProcessorSettings) -> Vec<DynamicImage> {
        let mut queue = waiting().lock().unwrap_or_else(|e| e.into_inner());
        for (hash, image) in self.hashes.into_iter().zip(self.prepared) {
            if queue.len() >= WAITING_CAPACITY {
                queue.pop_front();
            }
            queue.push_back(Waiting { hash, settings: settings.clone(), image });
        }
        self.decoded
    }
}

/// Decodes and preprocesses a request's images (CPU work: call it on a blocking thread).
pub fn prepare_images(images: &[EncodedImage], processor: &ImageProcessor) -> Result<PreparedImages, RunnerError> {
    let start = Instant::now();
    let decoded = images
        .iter()
        .enumerate()
        .map(|(index, img)| {
            image::load_from_memory(&img.bytes).map_err(|e| RunnerError::Image { index, reason: e.to_string() })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let prepared = decoded.iter().map(|img| processor.pixels(processor.process(img))).collect();
    let hashes = decoded.iter().map(engine_image_hash).collect();
    let preprocess_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(PreparedImages { decoded, hashes, prepared, preprocess_ms })
}

/// The layout of the tiles waiting for an image (no pixels), leaving them where they are.
fn layout_of_waiting(hash: u64, settings: &ProcessorSettings) -> Option<PreparedImage> {
    let queue = waiting().lock().unwrap_or_else(|e| e.into_inner());
    let found = queue.iter().find(|w| w.hash == hash && &w.settings == settings)?;
    let image = &found.image;
    Some(PreparedImage { pixels: Vec::new(), ..*image })
}

fn take_waiting(hash: u64, settings: &ProcessorSettings) -> Option<PreparedImage> {
    let mut queue = waiting().lock().unwrap_or_else(|e| e.into_inner());
    let at = queue.iter().position(|w| w.hash == hash && &w.settings == settings)?;
    queue.remove(at).map(|w| w.image)
}

/// Counts of images the hook took ready-made and images it had to process itself.
#[derive(Debug, Default)]
pub struct HookCounters {
    /// Tiles were waiting (prepared ahead).
    pub ready: std::sync::atomic::AtomicUsize,
    /// Processed inside the engine's prompt step (nothing was waiting).
    pub on_the_spot: std::sync::atomic::AtomicUsize,
}

/// The hook's counters, for tests and benchmarks.
pub fn hook_counters() -> &'static HookCounters {
    static COUNTERS: OnceLock<HookCounters> = OnceLock::new();
    COUNTERS.get_or_init(HookCounters::default)
}

/// The engine's hook. For the prompt's layout (while a request is added) it reads the tiles
/// waiting for the image without taking them, so they are still there for the encoder.
fn hook(
    images: &[DynamicImage],
    hashes: &[u64],
    settings: &ProcessorSettings,
    purpose: Purpose,
) -> Option<Result<Vec<PreparedImage>, String>> {
    use std::sync::atomic::Ordering::Relaxed;
    let processor = match ImageProcessor::new(settings) {
        Ok(p) => p,
        Err(e) => return Some(Err(e.to_string())),
    };
    let counters = hook_counters();
    let prepared = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let hash = hashes.get(i).copied().unwrap_or_else(|| engine_image_hash(image));
            match purpose {
                Purpose::Layout => {
                    layout_of_waiting(hash, settings).unwrap_or_else(|| layout(&processor.process(image)))
                }
                Purpose::Encoder => match take_waiting(hash, settings) {
                    Some(ready) => {
                        counters.ready.fetch_add(1, Relaxed);
                        ready
                    }
                    None => {
                        counters.on_the_spot.fetch_add(1, Relaxed);
                        processor.pixels(processor.process(image))
                    }
                },
            }
        })
        .collect();
    Some(Ok(prepared))
}

/// Installs SmolBench's processor in the engine (once per process).
pub fn install_hook() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| idefics3_image_hook::set(Some(Arc::new(hook))));
}
