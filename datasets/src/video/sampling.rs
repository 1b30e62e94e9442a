//! Which frames SmolVLM2 looks at, and at what size.
//!
//! The rule is that of transformers' `SmolVLMVideoProcessor.sample_frames`
//! (`models/smolvlm/video_processing_smolvlm.py`), read there and re-implemented here:
//!
//! 1. the number of frames is `round(fps * duration)` (Python's `round`, halves to even), capped
//!    at `max_frames` and at least 1, where `duration = total_frames / video_fps`;
//! 2. when the video is long enough, `(duration - 2 * skip_secs) > max_frames * fps`, the first
//!    and last `skip_secs` seconds are left out: the range starts at `int(skip_secs * video_fps)`
//!    and ends at `int(total_frames - skip_secs * video_fps)`, clipped to the last frame;
//! 3. the indices are `np.linspace(start, end, n, dtype=int)` (truncated), de-duplicated and
//!    sorted (`np.unique`);
//! 4. a frame's timestamp is `index / video_fps` seconds (`VideoMetadata.timestamps`).
//!
//! A question about part of a recording (MVBench's rows with `start`/`end`) is asked of the clip
//! cut to that window, as the reference reads pre-cut segment files: [`clip_of`] gives the frames
//! whose time `index / fps` lies in `[start, end)`, and the rule above runs on that clip, its
//! timestamps counted from the clip's first frame.
//!
//! The SmolVLM2 checkpoints' `processor_config.json` set `video_sampling = {max_frames: 64,
//! fps: 1, video_size: {longest_edge: 512}}`. Frames are resized so the longest edge is
//! `video_size.longest_edge`, keeping the aspect ratio and rounding the other side up to an even
//! number (`get_resize_output_image_size` of the same file); the image processor then squares
//! them to the model's tile.

use serde::{Deserialize, Serialize};

use super::ffmpeg::VideoInfo;

/// How frames are sampled and sized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SamplingSettings {
    /// At most this many frames (`video_sampling.max_frames`).
    pub max_frames: usize,
    /// Frames per second of video to aim for (`video_sampling.fps`).
    pub fps: f64,
    /// Seconds skipped at each end of a long video (`skip_secs`, 1 in transformers).
    pub skip_secs: f64,
    /// The longest edge of a decoded frame in pixels (`video_sampling.video_size.longest_edge`,
    /// or the model's tile size).
    pub frame_edge: u32,
}

impl SamplingSettings {
    /// SmolVLM2's defaults: 64 frames, 1 fps, 1 s skipped at each end, 512 px frames.
    pub const SMOLVLM2: SamplingSettings =
        SamplingSettings { max_frames: 64, fps: 1.0, skip_secs: 1.0, frame_edge: 512 };
}

impl Default for SamplingSettings {
    fn default() -> Self {
        SamplingSettings::SMOLVLM2
    }
}

/// The frame indices SmolVLM2 samples from a video described by `info` (module docs), sorted and
/// distinct; empty only for a video without frames.
pub fn sample_frame_indices(info: &VideoInfo, settings: &SamplingSettings) -> Vec<usize> {
    let total = info.total_frames;
    if total == 0 {
        return Vec::new();
    }
    let duration = info.duration_s();
    let estimated = (settings.fps * duration).round_ties_even();
    let wanted = if estimated.is_finite() && estimated > 0.0 { estimated as usize } else { 0 };
    let wanted = wanted.min(settings.max_frames).max(1);

    let mut start = 0usize;
    let mut end = total - 1;
    if settings.skip_secs > 0.0 && (duration - 2.0 * settings.skip_secs) > settings.max_frames as f64 * settings.fps {
        start = (settings.skip_secs * info.fps) as usize;
        end = (total as f64 - settings.skip_secs * info.fps) as usize;
    }
    end = end.min(total - 1);
    if start >= end {
        (start, end) = (0, total - 1);
    }
    let mut indices = linspace_int(start, end, wanted);
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// A part of a video, in seconds from its start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Where the clip starts.
    pub start_s: f64,
    /// Where it ends (the frame at exactly this time is not in it).
    pub end_s: f64,
}

/// The frames of `info`'s video inside `window`: `(first frame, the clip's own info)`, the clip
/// holding the frames whose time `index / fps` is in `[start, end)`. `Err` says why the window
/// holds no frame.
pub fn clip_of(info: &VideoInfo, window: &TimeWindow) -> Result<(usize, VideoInfo), String> {
    let TimeWindow { start_s, end_s } = *window;
    if !(start_s.is_finite() && end_s.is_finite()) || start_s < 0.0 || end_s <= start_s {
        return Err(format!("the window [{start_s}, {end_s}] s is not a time span"));
    }
    // The first frame at or after a time; a hair of tolerance so that 2.0 s at 25 fps is frame 50.
    let frame_at = |t: f64| ((t * info.fps) - 1e-6).ceil().max(0.0) as usize;
    let first = frame_at(start_s).min(info.total_frames);
    let end = frame_at(end_s).min(info.total_frames);
    if end <= first {
        return Err(format!(
            "the window [{start_s}, {end_s}] s holds no frame of the video ({} frames at {:.3} fps, {:.2} s)",
            info.total_frames,
            info.fps,
            info.duration_s()
        ));
    }
    Ok((first, VideoInfo { total_frames: end - first, ..*info }))
}

/// `np.linspace(start, end, n, dtype=int)`: `start + i * step` with `step = (end - start) / (n -
/// 1)` in double precision, truncated, the last value exactly `end`.
fn linspace_int(start: usize, end: usize, n: usize) -> Vec<usize> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (end as f64 - start as f64) / (n - 1) as f64;
            let mut out: Vec<usize> = (0..n).map(|i| (i as f64 * step + start as f64) as usize).collect();
            out[n - 1] = end;
            out
        }
    }
}

/// The size (width, height) a `width` x `height` frame is resized to so that its longest edge is
/// `edge`: the other side keeps the aspect ratio, truncated, then rounded up to even.
pub fn frame_size(width: u32, height: u32, edge: u32) -> (u32, u32) {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let aspect = w / h;
    let (out_w, out_h) = if w >= h {
        let mut out_h = (edge as f64 / aspect) as u32;
        if !out_h.is_multiple_of(2) {
            out_h += 1;
        }
        (edge, out_h)
    } else {
        let mut out_w = (edge as f64 * aspect) as u32;
        if !out_w.is_multiple_of(2) {
            out_w += 1;
        }
        (out_w, edge)
    };
    (out_w.max(1), out_h.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(total_frames: usize, fps: f64) -> VideoInfo {
        VideoInfo { total_frames, fps, width: 64, height: 48 }
    }

    #[test]
    fn short_videos_take_one_frame_per_second_over_the_whole_span() {
        let s = SamplingSettings::SMOLVLM2;
        // 5 s at 4 fps: round(5) = 5 frames over 0..=19.
        assert_eq!(sample_frame_indices(&info(20, 4.0), &s), vec![0, 4, 9, 14, 19]);
        // 2.5 s rounds to 2 (halves to even), 3.5 s to 4.
        assert_eq!(sample_frame_indices(&info(10, 4.0), &s), vec![0, 9]);
        assert_eq!(sample_frame_indices(&info(14, 4.0), &s), vec![0, 4, 8, 13]);
        // Under half a second still gives one frame, the first.
        assert_eq!(sample_frame_indices(&info(3, 25.0), &s), vec![0]);
        assert!(sample_frame_indices(&info(0, 25.0), &s).is_empty());
    }

    #[test]
    fn long_videos_are_capped_and_skip_a_second_at_each_end() {
        let s = SamplingSettings::SMOLVLM2;
        // 100 s at 30 fps: 64 frames between frame 30 and frame 2970.
        let idx = sample_frame_indices(&info(3000, 30.0), &s);
        assert_eq!(idx.len(), 64);
        assert_eq!((idx[0], idx[63]), (30, 2970));
        // np.linspace(30, 2970, 64): step 46.666..., so the second index is int(76.67) = 76.
        assert_eq!(idx[1], 76);
        // 65 s is not long enough to skip: 64 frames over the whole video.
        let idx = sample_frame_indices(&info(65 * 10, 10.0), &s);
        assert_eq!((idx.len(), idx[0], idx[63]), (64, 0, 649));
    }

    #[test]
    fn duplicates_collapse_when_frames_are_scarce() {
        // 8 s at 0.5 fps = 4 frames; round(8) = 8 wanted, linspace(0, 3, 8) has repeats.
        let s = SamplingSettings::SMOLVLM2;
        assert_eq!(sample_frame_indices(&info(4, 0.5), &s), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_window_is_the_frames_in_start_to_end() {
        // 20 s at 25 fps, [2, 5.5) s: frames 50..=137 (137 is at 5.48 s), a 3.52 s clip.
        let (first, clip) = clip_of(&info(500, 25.0), &TimeWindow { start_s: 2.0, end_s: 5.5 }).unwrap();
        assert_eq!((first, clip.total_frames, clip.fps), (50, 88, 25.0));
        // NTSC: 1.0 s is between frames 29 (0.968 s) and 30 (1.001 s).
        let (first, clip) = clip_of(&info(300, 30000.0 / 1001.0), &TimeWindow { start_s: 1.0, end_s: 2.0 }).unwrap();
        assert_eq!((first, clip.total_frames), (30, 30));
        // A window past the end is cut to the video; one wholly past it is an error.
        let (first, clip) = clip_of(&info(100, 10.0), &TimeWindow { start_s: 8.0, end_s: 30.0 }).unwrap();
        assert_eq!((first, clip.total_frames), (80, 20));
        let err = clip_of(&info(100, 10.0), &TimeWindow { start_s: 12.0, end_s: 30.0 }).unwrap_err();
        assert!(err.contains("holds no frame of the video (100 frames at 10.000 fps, 10.00 s)"), "{err}");
        assert!(clip_of(&info(100, 10.0), &TimeWindow { start_s: 3.0, end_s: 3.0 }).is_err());
        assert!(clip_of(&info(100, 10.0), &TimeWindow { start_s: f64::NAN, end_s: 3.0 }).is_err());
    }

    #[test]
    fn frames_keep_their_aspect_with_even_sides() {
        assert_eq!(frame_size(1920, 1080, 512), (512, 288));
        assert_eq!(frame_size(640, 480, 512), (512, 384));
        assert_eq!(frame_size(480, 640, 512), (384, 512));
        // 100 / (64/45) = 70.3 -> 70; 64 / (1.5) -> 42.67 -> 42.
        assert_eq!(frame_size(64, 45, 100), (100, 70));
        assert_eq!(frame_size(96, 64, 64), (64, 42));
        // Odd results round up.
        assert_eq!(frame_size(100, 30, 64), (64, 20));
    }
}
