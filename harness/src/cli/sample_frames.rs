//! `bench sample-frames`: sample a video's frames as a SmolVLM2 video task does and print what
//! was picked and how fast it was decoded (frames per second, uncached and from the cache).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use smolbench_datasets::video::{FrameSampler, SamplingSettings};

/// Arguments of `bench sample-frames`.
#[derive(Debug, Args)]
pub struct SampleFramesArgs {
    /// Video files.
    #[arg(required = true, value_name = "VIDEO")]
    videos: Vec<PathBuf>,
    /// At most this many frames (SmolVLM2: 64).
    #[arg(long, default_value_t = 64)]
    max_frames: usize,
    /// Frames per second of video (SmolVLM2: 1).
    #[arg(long, default_value_t = 1.0)]
    fps: f64,
    /// Longest edge of a decoded frame in pixels (SmolVLM2: 512).
    #[arg(long, default_value_t = 512)]
    edge: u32,
    /// Decode each video this many times (uncached) to time it.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

/// Runs `bench sample-frames`.
pub fn run(args: SampleFramesArgs) -> Result<ExitCode> {
    let settings =
        SamplingSettings { max_frames: args.max_frames, fps: args.fps, skip_secs: 1.0, frame_edge: args.edge };
    let cache = tempfile_dir()?;
    let (mut frames, mut seconds, mut cached_frames, mut cached_seconds) = (0usize, 0.0f64, 0usize, 0.0f64);
    for video in &args.videos {
        for _ in 0..args.repeat.max(1) {
            let started = Instant::now();
            let sampled = FrameSampler::new(settings, None).sample(video)?;
            seconds += started.elapsed().as_secs_f64();
            frames += sampled.frames.len();
        }
        let cached = FrameSampler::new(settings, Some(cache.clone()));
        let first = cached.sample(video)?;
        let started = Instant::now();
        let again = cached.sample(video)?;
        cached_seconds += started.elapsed().as_secs_f64();
        cached_frames += again.frames.len();
        let stamps: Vec<String> = first.frames.iter().map(|f| format!("{}@{:.2}s", f.index, f.timestamp_s)).collect();
        println!(
            "{}: {} frames of {} at {:.3} fps ({:.2} s, {}x{} -> {}x{}): {}",
            video.display(),
            first.frames.len(),
            first.info.total_frames,
            first.info.fps,
            first.duration_s(),
            first.info.width,
            first.info.height,
            first.frame_size.0,
            first.frame_size.1,
            stamps.join(" ")
        );
    }
    let _ = std::fs::remove_dir_all(&cache);
    println!("decode: {frames} frames in {seconds:.3} s = {:.1} frames/s", frames as f64 / seconds.max(1e-9));
    println!(
        "cache:  {cached_frames} frames in {cached_seconds:.4} s = {:.0} frames/s",
        cached_frames as f64 / cached_seconds.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

/// A fresh folder for the timing's cache.
fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("smolbench-sample-frames-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
