//! `bench sample-frames`: sample a video's frames as a SmolVLM2 video task does and print what
//! was picked and how fast it was decoded (frames per second, uncached and from the cache).
//! `--start`/`--end` cut the video to a window first, as MVBench's windowed configs do; a folder
//! given with `--frames-fps` is read as frame images taken at that rate.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use smolbench_datasets::video::{Clip, FrameSampler, SamplingSettings, TimeWindow};

/// Arguments of `bench sample-frames`.
#[derive(Debug, Args)]
pub struct SampleFramesArgs {
    /// Video files (or frame folders, with --frames-fps).
    #[arg(required = true, value_name = "VIDEO")]
    videos: Vec<PathBuf>,
    /// Cut each video to the window starting here, in seconds (with --end).
    #[arg(long, requires = "end", value_name = "SECS")]
    start: Option<f64>,
    /// Cut each video to the window ending here, in seconds (with --start).
    #[arg(long, requires = "start", value_name = "SECS")]
    end: Option<f64>,
    /// The videos are folders of frame images taken at this rate (MVBench's TVQA: 3).
    #[arg(long, value_name = "FPS")]
    frames_fps: Option<f64>,
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
    let window = args.start.zip(args.end).map(|(start_s, end_s)| TimeWindow { start_s, end_s });
    let (mut frames, mut seconds, mut cached_frames, mut cached_seconds) = (0usize, 0.0f64, 0usize, 0.0f64);
    for video in &args.videos {
        let clip = Clip { path: video, window, folder_fps: args.frames_fps };
        for _ in 0..args.repeat.max(1) {
            let started = Instant::now();
            let sampled = FrameSampler::new(settings, None).sample_clip(&clip)?;
            seconds += started.elapsed().as_secs_f64();
            frames += sampled.frames.len();
        }
        let cached = FrameSampler::new(settings, Some(cache.clone()));
        let first = cached.sample_clip(&clip)?;
        let started = Instant::now();
        let again = cached.sample_clip(&clip)?;
        cached_seconds += started.elapsed().as_secs_f64();
        cached_frames += again.frames.len();
        let stamps: Vec<String> = first.frames.iter().map(|f| format!("{}@{:.2}s", f.index, f.timestamp_s)).collect();
        let cut = match window {
            Some(_) => format!(", frames {}..{} kept", first.first_frame, first.first_frame + first.clip.total_frames),
            None => String::new(),
        };
        println!(
            "{}: {} frames of {}{cut} at {:.3} fps ({:.2} s, {}x{} -> {}x{}): {}",
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
