//! `[video]` of a `task.toml`: where a row's video file lives, how frames are sampled from it,
//! and (Video-MME) where its subtitles are.
//!
//! ```toml
//! [video]
//! path = "data/{videoID}"              # relative to the data set's folder; `{column}` placeholders
//! extensions = [".mp4", ".MP4", ".mkv"] # tried in order after `path`
//! max-frames = 64                      # SmolVLM2's video_sampling defaults
//! fps = 1.0
//! subtitles = "subtitle/{videoID}.srt" # optional: fills `{subtitles}` in the prompt
//! subtitle-frames = 32
//! ```

use serde::{Deserialize, Serialize};

use crate::template::Template;

/// The placeholder a prompt uses for the subtitle text when `video.subtitles` is set.
pub const SUBTITLES_PLACEHOLDER: &str = "subtitles";

fn default_max_frames() -> usize {
    64
}

fn default_fps() -> f64 {
    1.0
}

fn default_subtitle_frames() -> usize {
    32
}

/// `[video]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VideoDef {
    /// The video file, relative to the data set's folder, with `{column}` placeholders.
    pub path: String,
    /// Extensions tried in order after `path` (lmms-eval's Video-MME: `.mp4`, `.MP4`, `.mkv`);
    /// empty means `path` is the whole file name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// At most this many frames (SmolVLM2: 64).
    #[serde(default = "default_max_frames")]
    pub max_frames: usize,
    /// Frames per second of video (SmolVLM2: 1).
    #[serde(default = "default_fps")]
    pub fps: f64,
    /// The subtitle file (SubRip), relative to the data set's folder, with placeholders; its
    /// lines at sampled frames fill `{subtitles}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitles: Option<String>,
    /// Frames sampled to choose subtitle lines (lmms-eval's Video-MME `frame_num`: 32).
    #[serde(default = "default_subtitle_frames")]
    pub subtitle_frames: usize,
}

impl VideoDef {
    /// Checks the templates and ranges; errors start with the key inside `[video]`.
    pub(crate) fn validate(&self) -> Result<(), String> {
        Template::parse(&self.path).map_err(|e| format!("key `video.path`: {e}"))?;
        if let Some(subtitles) = &self.subtitles {
            Template::parse(subtitles).map_err(|e| format!("key `video.subtitles`: {e}"))?;
        }
        if self.max_frames == 0 {
            return Err("key `video.max-frames` must be at least 1".into());
        }
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err("key `video.fps` must be a positive number".into());
        }
        if self.subtitle_frames == 0 {
            return Err("key `video.subtitle-frames` must be at least 1".into());
        }
        Ok(())
    }

    /// Every column the path templates read.
    pub(crate) fn column_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        for text in std::iter::once(&self.path).chain(&self.subtitles) {
            if let Ok(t) = Template::parse(text) {
                out.extend(t.placeholders().into_iter().map(str::to_string));
            }
        }
        out
    }
}
