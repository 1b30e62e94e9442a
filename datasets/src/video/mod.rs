//! Video input for the video benchmarks: frames sampled as SmolVLM2 samples them, decoded by the
//! FFmpeg command-line tools, cached on disk per video and setting.
//!
//! - [`sampling`]: which frames a SmolVLM2 processor picks from a video (up to 64 frames at 1 fps,
//!   uniform, skipping a second at each end of long videos) and their timestamps.
//! - [`ffmpeg`]: `ffprobe` for the stream's frame count, rate and size; `ffmpeg` to decode the
//!   chosen frames at their own size; SmolBench's Pillow-exact resampler then sizes them for the
//!   model, as still images are (`resize`).
//! - [`folder`]: videos stored as folders of numbered frame images at a known rate (MVBench's
//!   TVQA clips), read with the `image` crate instead of FFmpeg.
//! - [`FrameSampler`]: the two together with a frame cache, so a video (or a window of it) is
//!   decoded once per setting however many questions refer to it.
//! - [`synth`]: synthetic videos for fixtures and tests, each frame's colour encoding its index.
//! - [`subtitles`]: SubRip (`.srt`) files, for Video-MME's subtitle variant.
//!
//! Every failure is a [`VideoError`] whose one-line message names the file and what to do.

mod cache;
mod error;
pub mod ffmpeg;
pub mod folder;
mod resize;
pub mod sampling;
pub mod subtitles;
pub mod synth;

pub use cache::{Clip, FrameSampler, SampledFrame, SampledVideo};
pub use error::VideoError;
pub use ffmpeg::{probe_video, VideoInfo};
pub use sampling::{clip_of, frame_size, sample_frame_indices, SamplingSettings, TimeWindow};
