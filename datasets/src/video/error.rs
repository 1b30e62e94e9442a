//! Errors of video decoding: one line each, naming the file or the missing tool.

use std::path::PathBuf;

/// What can go wrong while probing, decoding or caching a video.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// An FFmpeg tool is not installed (or not on `PATH`).
    #[error("`{tool}` is not installed (needed to decode videos); run `make system-deps` or `apt-get install ffmpeg`")]
    ToolMissing {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
    },
    /// The video file does not exist.
    #[error("video file {} does not exist; check the data set's video folder", .path.display())]
    Missing {
        /// The file that was expected.
        path: PathBuf,
    },
    /// FFmpeg could not read the file (truncated, not a video, no video stream).
    #[error("cannot decode video {}: {reason}; the file is damaged or not a video, fetch it again", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What FFmpeg said, on one line.
        reason: String,
    },
    /// An I/O error on a named path (the cache, a temporary folder).
    #[error("I/O error on {}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl VideoError {
    /// A [`VideoError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VideoError::Io { path: path.into(), source }
    }

    /// A [`VideoError::Corrupt`], with FFmpeg's message folded into one line.
    pub fn corrupt(path: impl Into<PathBuf>, reason: &str) -> Self {
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        let reason = if reason.is_empty() { "no video stream could be read".to_string() } else { reason };
        VideoError::Corrupt { path: path.into(), reason }
    }
}
