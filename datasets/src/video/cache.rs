//! [`FrameSampler`]: sampled frames of a video, decoded once per video and setting and kept in a
//! cache directory.
//!
//! A cache entry is a folder named by a hash of the video's canonical path, size, modification
//! time, the sampling settings and the clip's window (and frame rate, for a frame folder); it holds `frames.json` (the probe, indices, timestamps) and
//! one PNG per frame. Entries are written to a temporary folder and renamed into place, so a run
//! killed midway never leaves a half-written entry that a later run would trust.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::VideoError;
use super::ffmpeg::{extract_frames, probe_video, VideoInfo};
use super::folder::{decode_folder_frames, probe_folder};
use super::sampling::{clip_of, frame_size, sample_frame_indices, SamplingSettings, TimeWindow};

/// Bumped whenever the cached files' meaning changes.
const CACHE_FORMAT: u32 = 3;

/// Frames decoded per `ffmpeg` process (each is one seeked input).
const FRAMES_PER_PROCESS: usize = 16;

/// What to sample: a video file, or a folder of frames at a known rate, whole or cut to a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clip<'a> {
    /// The video file, or the frame folder.
    pub path: &'a Path,
    /// Only this part of it (MVBench's `start`/`end`).
    pub window: Option<TimeWindow>,
    /// `path` is a folder of frames taken at this rate (see [`super::folder`]).
    pub folder_fps: Option<f64>,
}

impl<'a> Clip<'a> {
    /// The whole video file at `path`.
    pub fn whole(path: &'a Path) -> Self {
        Clip { path, window: None, folder_fps: None }
    }
}

/// One sampled frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledFrame {
    /// The frame's index in the stream (or the frame folder), counted from the video's start.
    pub index: usize,
    /// Seconds from the clip's start: `(index - first frame of the clip) / fps`.
    pub timestamp_s: f64,
    /// The frame as PNG, resized.
    pub png: Vec<u8>,
}

/// A video's sampled frames and what was known about it.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledVideo {
    /// The probe of the whole video.
    pub info: VideoInfo,
    /// The clip the frames were sampled from: the whole video, or its window.
    pub clip: VideoInfo,
    /// The clip's first frame in the video.
    pub first_frame: usize,
    /// The frames, in time order.
    pub frames: Vec<SampledFrame>,
    /// The size every frame was resized to (width, height).
    pub frame_size: (u32, u32),
    /// Whether the frames came from the cache.
    pub cached: bool,
}

impl SampledVideo {
    /// The clip's `total_frames / fps`, in seconds (the whole video's when not cut).
    pub fn duration_s(&self) -> f64 {
        self.clip.duration_s()
    }
}

/// `frames.json` of a cache entry.
#[derive(Debug, Serialize, Deserialize)]
struct EntryMeta {
    format: u32,
    video: String,
    settings: SamplingSettings,
    window: Option<TimeWindow>,
    folder_fps: Option<f64>,
    info: VideoInfo,
    first_frame: usize,
    clip: VideoInfo,
    indices: Vec<usize>,
    frame_size: (u32, u32),
}

/// Samples frames from videos with one setting, caching them under a folder (or not at all).
#[derive(Debug, Clone)]
pub struct FrameSampler {
    settings: SamplingSettings,
    cache_dir: Option<PathBuf>,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl FrameSampler {
    /// A sampler with `settings`, caching under `cache_dir` when given.
    pub fn new(settings: SamplingSettings, cache_dir: Option<PathBuf>) -> Self {
        FrameSampler { settings, cache_dir }
    }

    /// The settings.
    pub fn settings(&self) -> &SamplingSettings {
        &self.settings
    }

    /// The sampled frames of the whole video file `video`: [`FrameSampler::sample_clip`].
    pub fn sample(&self, video: &Path) -> Result<SampledVideo, VideoError> {
        self.sample_clip(&Clip::whole(video))
    }

    /// The sampled frames of `clip`: from the cache when present, else decoded (and cached).
    pub fn sample_clip(&self, clip: &Clip<'_>) -> Result<SampledVideo, VideoError> {
        let present = if clip.folder_fps.is_some() { clip.path.is_dir() } else { clip.path.is_file() };
        if !present {
            return Err(VideoError::Missing { path: clip.path.to_path_buf() });
        }
        let Some(cache_dir) = &self.cache_dir else {
            let temp = temp_dir(&std::env::temp_dir())?;
            let result = self.decode_into(clip, &temp);
            let _ = std::fs::remove_dir_all(&temp);
            return result.map(|(meta, frames)| assemble(meta, frames, false));
        };
        let entry = cache_dir.join(self.entry_key(clip)?);
        if let Some(hit) = read_entry(&entry) {
            return Ok(hit);
        }
        std::fs::create_dir_all(cache_dir).map_err(|e| VideoError::io(cache_dir, e))?;
        let temp = temp_dir(cache_dir)?;
        let (meta, frames) = match self.decode_into(clip, &temp) {
            Ok(decoded) => decoded,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&temp);
                return Err(e);
            }
        };
        // Another process may have written the same entry meanwhile: either copy is good.
        if std::fs::rename(&temp, &entry).is_err() {
            let _ = std::fs::remove_dir_all(&temp);
        }
        Ok(assemble(meta, frames, false))
    }

    /// The cache folder name for `clip` under these settings. A frame folder is known by its
    /// modification time and how many entries it has.
    fn entry_key(&self, clip: &Clip<'_>) -> Result<String, VideoError> {
        let video = clip.path;
        let canonical = std::fs::canonicalize(video).map_err(|e| VideoError::io(video, e))?;
        let meta = std::fs::metadata(&canonical).map_err(|e| VideoError::io(&canonical, e))?;
        let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        let size = if meta.is_dir() {
            std::fs::read_dir(&canonical).map_err(|e| VideoError::io(&canonical, e))?.count() as u64
        } else {
            meta.len()
        };
        let mut hasher = Sha256::new();
        hasher.update(CACHE_FORMAT.to_le_bytes());
        hasher.update(canonical.to_string_lossy().as_bytes());
        hasher.update(size.to_le_bytes());
        hasher.update(mtime.to_le_bytes());
        hasher.update(serde_json::to_vec(&self.settings).unwrap_or_default());
        hasher.update(serde_json::to_vec(&(clip.window, clip.folder_fps)).unwrap_or_default());
        let stem = video.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let stem: String =
            stem.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(40).collect();
        Ok(format!("{stem}-{}", hex::encode(&hasher.finalize()[..10])))
    }

    /// Probes, samples and decodes `clip` into `dir`, writing `frames.json` last.
    fn decode_into(&self, clip: &Clip<'_>, dir: &Path) -> Result<(EntryMeta, Vec<Vec<u8>>), VideoError> {
        let video = clip.path;
        let folder = clip.folder_fps.map(|fps| probe_folder(video, fps)).transpose()?;
        let info = match &folder {
            Some(folder) => folder.info,
            None => probe_video(video)?,
        };
        let (first_frame, clip_info) = match &clip.window {
            Some(window) => clip_of(&info, window).map_err(|reason| VideoError::corrupt(video, &reason))?,
            None => (0, info),
        };
        let indices: Vec<usize> =
            sample_frame_indices(&clip_info, &self.settings).into_iter().map(|i| i + first_frame).collect();
        let size = frame_size(info.width, info.height, self.settings.frame_edge);
        let meta = EntryMeta {
            format: CACHE_FORMAT,
            video: video.display().to_string(),
            settings: self.settings,
            window: clip.window,
            folder_fps: clip.folder_fps,
            info,
            first_frame,
            clip: clip_info,
            indices,
            frame_size: size,
        };
        let frames = match &folder {
            Some(folder) => {
                let frames = decode_folder_frames(folder, &meta.indices, size)?;
                for (i, png) in frames.iter().enumerate() {
                    let target = dir.join(format!("frame_{i:04}.png"));
                    std::fs::write(&target, png).map_err(|e| VideoError::io(&target, e))?;
                }
                frames
            }
            None => self.extract_into(video, &info, &meta.indices, size, dir)?,
        };
        let meta_path = dir.join("frames.json");
        let text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        std::fs::write(&meta_path, text).map_err(|e| VideoError::io(&meta_path, e))?;
        Ok((meta, frames))
    }

    /// Decodes frames `indices` of the video file with FFmpeg and writes them, resized, as
    /// `dir/frame_NNNN.png`.
    fn extract_into(
        &self,
        video: &Path,
        info: &VideoInfo,
        indices: &[usize],
        size: (u32, u32),
        dir: &Path,
    ) -> Result<Vec<Vec<u8>>, VideoError> {
        let mut files = Vec::with_capacity(indices.len());
        for (chunk_no, chunk) in indices.chunks(FRAMES_PER_PROCESS).enumerate() {
            let chunk_dir = dir.join(format!("part{chunk_no}"));
            std::fs::create_dir_all(&chunk_dir).map_err(|e| VideoError::io(&chunk_dir, e))?;
            for (offset, file) in extract_frames(video, info, chunk, &chunk_dir)?.into_iter().enumerate() {
                let frame = image::open(&file)
                    .map_err(|e| VideoError::corrupt(video, &format!("cannot read the decoded frame: {e}")))?
                    .into_rgb8();
                let png = super::resize::resized_png(&frame, size, video)?;
                let target = dir.join(format!("frame_{:04}.png", chunk_no * FRAMES_PER_PROCESS + offset));
                std::fs::write(&target, &png).map_err(|e| VideoError::io(&target, e))?;
                let _ = std::fs::remove_file(&file);
                files.push(png);
            }
            let _ = std::fs::remove_dir(&chunk_dir);
        }
        Ok(files)
    }
}

/// A fresh, empty folder under `parent`.
fn temp_dir(parent: &Path) -> Result<PathBuf, VideoError> {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir = parent.join(format!(".tmp-frames-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| VideoError::io(&dir, e))?;
    Ok(dir)
}

/// A complete cache entry, or `None` (absent, unreadable, incomplete or of another format).
fn read_entry(entry: &Path) -> Option<SampledVideo> {
    let meta: EntryMeta = serde_json::from_slice(&std::fs::read(entry.join("frames.json")).ok()?).ok()?;
    if meta.format != CACHE_FORMAT {
        return None;
    }
    let frames = (0..meta.indices.len())
        .map(|i| std::fs::read(entry.join(format!("frame_{i:04}.png"))).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(assemble(meta, frames, true))
}

fn assemble(meta: EntryMeta, pngs: Vec<Vec<u8>>, cached: bool) -> SampledVideo {
    let fps = meta.info.fps;
    let first = meta.first_frame;
    let frames = meta
        .indices
        .iter()
        .zip(pngs)
        .map(|(&index, png)| SampledFrame { index, timestamp_s: (index - first) as f64 / fps, png })
        .collect();
    SampledVideo { info: meta.info, clip: meta.clip, first_frame: first, frames, frame_size: meta.frame_size, cached }
}

#[cfg(test)]
mod tests {
    use super::super::synth::{frame_number_of, write_synthetic_video, SynthVideo};
    use super::*;

    fn video(dir: &Path, name: &str, fps: (u32, u32), frames: usize) -> PathBuf {
        let path = dir.join(name);
        let spec = SynthVideo { width: 96, height: 64, fps, frames, tint: 200 };
        write_synthetic_video(&path, &spec).unwrap();
        path
    }

    #[test]
    fn sampled_frames_are_the_frames_the_rule_picks_at_their_times() {
        let dir = tempfile::tempdir().unwrap();
        let settings = SamplingSettings { frame_edge: 64, ..SamplingSettings::SMOLVLM2 };
        let sampler = FrameSampler::new(settings, Some(dir.path().join("cache")));
        // (file, fps, frames, expected indices)
        let cases = [
            ("a.mp4", (4, 1), 20, vec![0, 4, 9, 14, 19]),
            ("b.mp4", (25, 1), 90, vec![0, 29, 59, 89]),
            ("c.mkv", (30000, 1001), 100, vec![0, 49, 99]),
            ("d.mp4", (10, 1), 12, vec![0]),
        ];
        for (name, fps, frames, expected) in cases {
            let path = video(dir.path(), name, fps, frames);
            let sampled = sampler.sample(&path).unwrap();
            assert_eq!(sampled.info.total_frames, frames, "{name}");
            assert!((sampled.info.fps - fps.0 as f64 / fps.1 as f64).abs() < 1e-9, "{name}");
            let indices: Vec<usize> = sampled.frames.iter().map(|f| f.index).collect();
            assert_eq!(indices, expected, "{name}");
            for frame in &sampled.frames {
                assert!((frame.timestamp_s - frame.index as f64 / sampled.info.fps).abs() < 1e-12);
                assert_eq!(frame_number_of(&frame.png), Some(frame.index % 256), "{name} frame {}", frame.index);
                let png = image::load_from_memory(&frame.png).unwrap();
                assert_eq!((png.width(), png.height()), (64, 42), "{name}");
            }
            assert!(!sampled.cached);
            let again = sampler.sample(&path).unwrap();
            assert!(again.cached, "{name}: the second sampling reads the cache");
            assert_eq!(again.frames, sampled.frames);
        }
    }

    #[test]
    fn long_videos_take_64_frames_without_the_first_and_last_second() {
        let dir = tempfile::tempdir().unwrap();
        let settings = SamplingSettings { frame_edge: 32, ..SamplingSettings::SMOLVLM2 };
        let path = video(dir.path(), "long.mp4", (2, 1), 140);
        let sampled = FrameSampler::new(settings, None).sample(&path).unwrap();
        assert_eq!(sampled.frames.len(), 64);
        assert_eq!(sampled.frames[0].index, 2);
        assert_eq!(sampled.frames[63].index, 138);
        assert_eq!(sampled.frames[63].timestamp_s, 69.0);
        for frame in &sampled.frames {
            assert_eq!(frame_number_of(&frame.png), Some(frame.index % 256), "frame {}", frame.index);
        }
    }

    #[test]
    fn a_window_samples_its_clip_with_times_from_the_clip_start() {
        let dir = tempfile::tempdir().unwrap();
        let settings = SamplingSettings { frame_edge: 32, ..SamplingSettings::SMOLVLM2 };
        let sampler = FrameSampler::new(settings, Some(dir.path().join("cache")));
        // 12 s at 10 fps; [3, 8.5) s is frames 30..=84, 5.5 s, so round(5.5) = 6 frames at
        // linspace(0, 54, 6) = 0, 10, 21, 32, 43, 54 into the clip.
        let path = video(dir.path(), "whole.mp4", (10, 1), 120);
        let window = Some(TimeWindow { start_s: 3.0, end_s: 8.5 });
        let clip = Clip { path: &path, window, folder_fps: None };
        let sampled = sampler.sample_clip(&clip).unwrap();
        assert_eq!((sampled.first_frame, sampled.clip.total_frames), (30, 55));
        assert!((sampled.duration_s() - 5.5).abs() < 1e-12);
        let indices: Vec<usize> = sampled.frames.iter().map(|f| f.index).collect();
        assert_eq!(indices, [30, 40, 51, 62, 73, 84]);
        let times: Vec<f64> = sampled.frames.iter().map(|f| f.timestamp_s).collect();
        assert_eq!(times, [0.0, 1.0, 2.1, 3.2, 4.3, 5.4]);
        for frame in &sampled.frames {
            assert_eq!(frame_number_of(&frame.png), Some(frame.index), "frame {}", frame.index);
        }
        // The window is part of the cache key: the whole video is another entry.
        assert!(sampler.sample_clip(&clip).unwrap().cached);
        let whole = sampler.sample(&path).unwrap();
        assert!(!whole.cached);
        assert_eq!(whole.frames.len(), 12);
        // A window past the video's end fails naming the file.
        let late = Clip { window: Some(TimeWindow { start_s: 20.0, end_s: 25.0 }), ..clip };
        let err = sampler.sample_clip(&late).unwrap_err().to_string();
        assert!(err.contains("whole.mp4") && err.contains("holds no frame of the video"), "{err}");
    }

    #[test]
    fn a_frame_folder_samples_like_a_video_at_its_rate() {
        let dir = tempfile::tempdir().unwrap();
        let settings = SamplingSettings { frame_edge: 32, ..SamplingSettings::SMOLVLM2 };
        let sampler = FrameSampler::new(settings, Some(dir.path().join("cache")));
        let folder = dir.path().join("clip_14");
        let spec = SynthVideo { width: 96, height: 64, fps: (3, 1), frames: 30, tint: 40 };
        super::super::synth::write_synthetic_frame_folder(&folder, &spec).unwrap();
        // 10 s at 3 fps: 10 frames; the window [2, 6) s is frames 6..18, 4 frames.
        let whole = sampler.sample_clip(&Clip { path: &folder, window: None, folder_fps: Some(3.0) }).unwrap();
        assert_eq!(whole.info, VideoInfo { total_frames: 30, fps: 3.0, width: 96, height: 64 });
        let indices: Vec<usize> = whole.frames.iter().map(|f| f.index).collect();
        assert_eq!(indices, [0, 3, 6, 9, 12, 16, 19, 22, 25, 29]);
        let window = Some(TimeWindow { start_s: 2.0, end_s: 6.0 });
        let cut = sampler.sample_clip(&Clip { path: &folder, window, folder_fps: Some(3.0) }).unwrap();
        let indices: Vec<usize> = cut.frames.iter().map(|f| f.index).collect();
        assert_eq!(indices, [6, 9, 13, 17]);
        assert_eq!(cut.frames[1].timestamp_s, 1.0);
        for frame in whole.frames.iter().chain(&cut.frames) {
            assert_eq!(frame_number_of(&frame.png), Some(frame.index), "frame {}", frame.index);
            let png = image::load_from_memory(&frame.png).unwrap();
            assert_eq!((png.width(), png.height()), (32, 22));
        }
        assert!(sampler.sample_clip(&Clip { path: &folder, window, folder_fps: Some(3.0) }).unwrap().cached);
    }

    #[test]
    fn missing_and_corrupt_videos_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let sampler = FrameSampler::new(SamplingSettings::SMOLVLM2, Some(dir.path().join("cache")));
        let missing = dir.path().join("nope.mp4");
        let err = sampler.sample(&missing).unwrap_err().to_string();
        assert!(err.contains("does not exist") && err.contains(missing.to_str().unwrap()), "{err}");
        let corrupt = dir.path().join("bad.mp4");
        std::fs::write(&corrupt, b"definitely not a video").unwrap();
        let err = sampler.sample(&corrupt).unwrap_err().to_string();
        assert!(err.starts_with("cannot decode video") && err.contains(corrupt.to_str().unwrap()), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        // A truncated file fails too, and leaves no cache entry behind.
        let good = video(dir.path(), "good.mp4", (4, 1), 20);
        let bytes = std::fs::read(&good).unwrap();
        let cut = dir.path().join("cut.mp4");
        std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
        assert!(sampler.sample(&cut).is_err());
        let entries: Vec<_> = std::fs::read_dir(dir.path().join("cache")).unwrap().collect();
        assert!(entries.is_empty(), "{entries:?}");
    }
}
