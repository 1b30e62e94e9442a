//! `[video]` of a `task.toml`: where a row's video file lives, how frames are sampled from it,
//! and (Video-MME) where its subtitles are.
//!
//! ```toml
//! [video]
//! path = "data/{videoID}"              # relative to the data set's folder; `{column}` placeholders;
//!                                      # a list is tried in order, the first present wins
//! extensions = [".mp4", ".MP4", ".mkv"] # tried in order after each path
//! max-frames = 64                      # SmolVLM2's video_sampling defaults
//! fps = 1.0
//! subtitles = "subtitle/{videoID}.srt" # optional: fills `{subtitles}` in the prompt
//! subtitle-frames = 32
//! frames-fps = 3.0                     # optional: a path that is a folder holds frames at this rate
//!
//! [video.window]                       # optional: where none of `path` is present, read the whole
//! path = "video/star/Charades_v1_480/{video}" # recording and cut it to the row's window
//! start = "start"                      # columns holding the window's bounds, in seconds
//! end = "end"
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

/// One path template or several, tried in order (`path = "..."` or `path = ["...", "..."]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathTemplates {
    /// A single template.
    One(String),
    /// Templates tried in order.
    Many(Vec<String>),
}

impl PathTemplates {
    /// The templates, in order.
    pub fn templates(&self) -> &[String] {
        match self {
            PathTemplates::One(one) => std::slice::from_ref(one),
            PathTemplates::Many(many) => many,
        }
    }

    fn validate(&self, key: &str) -> Result<(), String> {
        if self.templates().is_empty() {
            return Err(format!("key `{key}` needs at least one path"));
        }
        for text in self.templates() {
            Template::parse(text).map_err(|e| format!("key `{key}`: {e}"))?;
        }
        Ok(())
    }
}

/// `[video.window]`: the whole recording a row asks about part of, and the columns that say
/// which part (MVBench's `start`/`end`, in seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WindowDef {
    /// The whole recording (file or frame folder), with placeholders; tried after `video.path`.
    pub path: PathTemplates,
    /// The column holding the window's start, in seconds.
    pub start: String,
    /// The column holding the window's end, in seconds.
    pub end: String,
}

/// `[video]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VideoDef {
    /// The video file (or frame folder), relative to the data set's folder, with `{column}`
    /// placeholders; several are tried in order.
    pub path: PathTemplates,
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
    /// A path that is a folder holds numbered frame images taken at this rate (MVBench's TVQA
    /// clips: 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_fps: Option<f64>,
    /// Where none of `path` is present: the whole recording, cut to the row's window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowDef>,
    /// Zip archives of the repository holding the videos (and subtitles), as patterns with `*`
    /// inside a name (Video-MME's `videos_chunked_*.zip`): `bench fetch` downloads them and
    /// unpacks them into the data set's folder, as lmms-eval does. Without archives, `bench
    /// fetch` downloads the files the rows name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archives: Vec<String>,
}

impl VideoDef {
    /// Checks the templates and ranges; errors start with the key inside `[video]`.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.path.validate("video.path")?;
        if let Some(window) = &self.window {
            window.path.validate("video.window.path")?;
        }
        if self.frames_fps.is_some_and(|fps| !(fps.is_finite() && fps > 0.0)) {
            return Err("key `video.frames-fps` must be a positive number".into());
        }
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

    /// Whether `path` (relative to the repository root, `/`-separated) is one of `archives`.
    pub fn is_archive(&self, path: &str) -> bool {
        self.archives.iter().any(|pattern| wildcard_match(pattern, path))
    }

    /// Every column the path templates and the window read.
    pub(crate) fn column_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        let window_paths = self.window.iter().flat_map(|w| w.path.templates());
        for text in self.path.templates().iter().chain(window_paths).chain(&self.subtitles) {
            if let Ok(t) = Template::parse(text) {
                out.extend(t.placeholders().into_iter().map(str::to_string));
            }
        }
        if let Some(window) = &self.window {
            out.extend([window.start.clone(), window.end.clone()]);
        }
        out
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters other than `/`.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else { return false };
            (0..=tail.len())
                .take_while(|&i| !tail[..i].contains('/'))
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| wildcard_match(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn archive_patterns_match_within_one_folder() {
        assert!(wildcard_match("videos_chunked_*.zip", "videos_chunked_01.zip"));
        assert!(wildcard_match("subtitle.zip", "subtitle.zip"));
        assert!(wildcard_match("video/*.zip", "video/clevrer.zip"));
        assert!(!wildcard_match("video/*.zip", "video/x/clevrer.zip"));
        assert!(!wildcard_match("videos_chunked_*.zip", "videos_chunked_01.zip.part"));
        assert!(!wildcard_match("subtitle.zip", "old/subtitle.zip"));
    }
}
