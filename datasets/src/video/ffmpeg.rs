//! The FFmpeg command-line tools: `ffprobe` reads a video stream's frame count, rate and size;
//! `ffmpeg` decodes chosen frames as PNG.
//!
//! Each frame is decoded by its own input of one `ffmpeg` process, seeked accurately to half a
//! frame before the frame's presentation time (`-ss` before `-i` decodes from the previous
//! keyframe and drops everything earlier), so only the frames around the sampled ones are
//! decoded, however long the video. The tools are found on `PATH`, or through
//! `SMOLBENCH_FFMPEG`/`SMOLBENCH_FFPROBE`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::{Deserialize, Serialize};

use super::error::VideoError;

/// What `ffprobe` says about a video's first video stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    /// Frames in the stream (`nb_frames`, else the packet count).
    pub total_frames: usize,
    /// The average frame rate (`avg_frame_rate`), as decord and PyAV report it.
    pub fps: f64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl VideoInfo {
    /// `total_frames / fps`, the duration transformers' decoders report.
    pub fn duration_s(&self) -> f64 {
        if self.fps > 0.0 {
            self.total_frames as f64 / self.fps
        } else {
            0.0
        }
    }
}

/// Which program runs for `tool`: `$SMOLBENCH_FFMPEG` / `$SMOLBENCH_FFPROBE`, else the name.
fn program(tool: &'static str) -> OsString {
    let var = if tool == "ffmpeg" { "SMOLBENCH_FFMPEG" } else { "SMOLBENCH_FFPROBE" };
    std::env::var_os(var).filter(|v| !v.is_empty()).unwrap_or_else(|| OsString::from(tool))
}

/// Runs `tool` with `args`; a tool that cannot be started is [`VideoError::ToolMissing`].
pub(crate) fn run_tool(tool: &'static str, args: &[OsString]) -> Result<Output, VideoError> {
    Command::new(program(tool)).args(args).stdin(Stdio::null()).output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => VideoError::ToolMissing { tool },
        _ => VideoError::io(PathBuf::from(tool), e),
    })
}

/// Whether `tool` (`ffmpeg` or `ffprobe`) can be run.
pub fn tool_available(tool: &'static str) -> bool {
    run_tool(tool, &["-version".into()]).is_ok_and(|o| o.status.success())
}

/// Fails with [`VideoError::Missing`] unless `path` is a file.
fn require_file(path: &Path) -> Result<(), VideoError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(VideoError::Missing { path: path.to_path_buf() })
    }
}

#[derive(Deserialize)]
struct ProbeOutput {
    #[serde(default)]
    streams: Vec<ProbeStream>,
}

#[derive(Deserialize)]
struct ProbeStream {
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    nb_frames: Option<String>,
    nb_read_packets: Option<String>,
}

/// `"30000/1001"` as a number; `None` for `0/0` and garbage.
fn parse_rate(rate: Option<&str>) -> Option<f64> {
    let rate = rate?;
    let value = match rate.split_once('/') {
        Some((n, d)) => n.trim().parse::<f64>().ok()? / d.trim().parse::<f64>().ok()?,
        None => rate.trim().parse().ok()?,
    };
    (value.is_finite() && value > 0.0).then_some(value)
}

/// Reads the first video stream's frame count, frame rate and size.
pub fn probe_video(path: &Path) -> Result<VideoInfo, VideoError> {
    require_file(path)?;
    let args: Vec<OsString> = vec![
        "-v".into(),
        "error".into(),
        "-select_streams".into(),
        "v:0".into(),
        "-count_packets".into(),
        "-show_entries".into(),
        "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,nb_read_packets".into(),
        "-of".into(),
        "json".into(),
        path.into(),
    ];
    let out = run_tool("ffprobe", &args)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(VideoError::corrupt(path, &format!("ffprobe: {stderr}")));
    }
    let parsed: ProbeOutput = serde_json::from_slice(&out.stdout)
        .map_err(|e| VideoError::corrupt(path, &format!("ffprobe printed unreadable JSON ({e})")))?;
    let stream = parsed.streams.first().ok_or_else(|| VideoError::corrupt(path, "the file has no video stream"))?;
    let count = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<usize>().ok()).filter(|n| *n > 0);
    let total_frames = count(&stream.nb_frames)
        .or_else(|| count(&stream.nb_read_packets))
        .ok_or_else(|| VideoError::corrupt(path, &format!("the video stream has no frames {stderr}")))?;
    let fps = parse_rate(stream.avg_frame_rate.as_deref())
        .or_else(|| parse_rate(stream.r_frame_rate.as_deref()))
        .ok_or_else(|| VideoError::corrupt(path, "the video stream has no frame rate"))?;
    let (width, height) = match (stream.width, stream.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(VideoError::corrupt(path, "the video stream has no frame size")),
    };
    Ok(VideoInfo { total_frames, fps, width, height })
}

/// Decodes frames `indices` of `path` (described by `info`) at their own size, as RGB, into
/// `out_dir/frame_NNNN.ppm` (NNNN the position in `indices`). Returns the files in order; the
/// caller resizes them (FFmpeg's scaler is not Pillow's).
pub fn extract_frames(
    path: &Path,
    info: &VideoInfo,
    indices: &[usize],
    out_dir: &Path,
) -> Result<Vec<PathBuf>, VideoError> {
    require_file(path)?;
    let mut args: Vec<OsString> = vec!["-v".into(), "error".into(), "-nostdin".into(), "-y".into()];
    for &index in indices {
        // Half a frame before the frame's time: the first frame at or after it is `index`.
        let seek = (index as f64 - 0.5) / info.fps;
        if index > 0 && seek > 0.0 {
            args.push("-ss".into());
            args.push(format!("{seek:.6}").into());
        }
        args.push("-i".into());
        args.push(path.into());
    }
    let mut files = Vec::with_capacity(indices.len());
    for position in 0..indices.len() {
        let file = out_dir.join(format!("frame_{position:04}.ppm"));
        args.extend([
            "-map".into(),
            format!("{position}:v:0").into(),
            "-frames:v".into(),
            "1".into(),
            "-pix_fmt".into(),
            "rgb24".into(),
            "-f".into(),
            "image2".into(),
            "-c:v".into(),
            "ppm".into(),
            file.clone().into(),
        ]);
        files.push(file);
    }
    let out = run_tool("ffmpeg", &args)?;
    if !out.status.success() {
        return Err(VideoError::corrupt(path, &format!("ffmpeg: {}", String::from_utf8_lossy(&out.stderr))));
    }
    if let Some(missing) = files.iter().position(|f| !f.is_file()) {
        return Err(VideoError::corrupt(
            path,
            &format!("ffmpeg produced no frame for index {} of {} frames", indices[missing], info.total_frames),
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_like_ffprobe_prints_them() {
        assert_eq!(parse_rate(Some("25/1")), Some(25.0));
        assert!((parse_rate(Some("30000/1001")).unwrap() - 29.97003).abs() < 1e-5);
        assert_eq!(parse_rate(Some("0/0")), None);
        assert_eq!(parse_rate(None), None);
    }

    #[test]
    fn a_missing_tool_names_itself_and_the_make_target() {
        let err = VideoError::ToolMissing { tool: "ffmpeg" }.to_string();
        assert!(err.contains("`ffmpeg` is not installed") && err.contains("make system-deps"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }
}
