//! The external tools video tasks need (`ffprobe`, `ffmpeg`), checked before a run or the
//! fixtures start.

use anyhow::Result;
use smolbench_datasets::video::{ffmpeg::tool_available, VideoError};

/// Fails with one line naming the tool and `make system-deps` unless `ffprobe` and `ffmpeg` run.
pub fn require_video_tools() -> Result<()> {
    for tool in ["ffprobe", "ffmpeg"] {
        if !tool_available(tool) {
            return Err(VideoError::ToolMissing { tool }.into());
        }
    }
    Ok(())
}
