//! Synthetic videos, written by `ffmpeg` from its `lavfi` sources, for fixtures and tests.
//!
//! Frame `n` is one flat colour that encodes `n`: red `(n % 16) * 16 + 8`, green
//! `((n / 16) % 16) * 16 + 8`, blue from the video's `tint`. H.264 at a constant quantiser of
//! 0 keeps such flat frames within a few levels, so [`frame_number_of`] reads the index back
//! from any decoded frame: a test can check which frames a sampler really decoded.

use std::ffi::OsString;
use std::path::Path;

use super::error::VideoError;
use super::ffmpeg::run_tool;

/// What to synthesise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthVideo {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Frame rate as a fraction (`30000/1001` is `(30000, 1001)`).
    pub fps: (u32, u32),
    /// Number of frames.
    pub frames: usize,
    /// Blue level of every frame, to tell videos apart.
    pub tint: u8,
}

impl SynthVideo {
    /// The frame rate as a number.
    pub fn fps_value(&self) -> f64 {
        self.fps.0 as f64 / self.fps.1.max(1) as f64
    }
}

/// Writes `spec` to `path`; the container follows the extension (`.mp4`, `.mkv`, ...), the codec
/// is H.264 (lossless) with a keyframe every 8 frames, written bit-exactly (same spec, same bytes).
pub fn write_synthetic_video(path: &Path, spec: &SynthVideo) -> Result<(), VideoError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| VideoError::io(parent, e))?;
    }
    let (num, den) = spec.fps;
    let duration = spec.frames as f64 * den as f64 / num.max(1) as f64 + 1.0;
    let source = format!(
        "nullsrc=s={}x{}:r={num}/{den}:d={duration:.3},format=gbrp,\
         geq=r='mod(N\\,16)*16+8':g='mod(floor(N/16)\\,16)*16+8':b={}",
        spec.width, spec.height, spec.tint
    );
    let args: Vec<OsString> = [
        "-v",
        "error",
        "-nostdin",
        "-y",
        "-f",
        "lavfi",
        "-i",
        &source,
        "-frames:v",
        &spec.frames.to_string(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "8",
        // No timestamps or random ids in the container: the same spec gives the same bytes.
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
    ]
    .iter()
    .map(OsString::from)
    .chain(std::iter::once(path.as_os_str().to_owned()))
    .collect();
    let out = run_tool("ffmpeg", &args)?;
    if !out.status.success() {
        return Err(VideoError::corrupt(
            path,
            &format!("ffmpeg could not write it: {}", String::from_utf8_lossy(&out.stderr)),
        ));
    }
    Ok(())
}

/// Writes `spec`'s frames as a frame folder (see [`super::folder`]): `dir/00001.jpg`, ... in
/// MVBench's TVQA naming, each frame the flat colour that [`write_synthetic_video`] gives it,
/// as baseline JPEG at quality 95 (flat colours survive it within a level or two).
pub fn write_synthetic_frame_folder(dir: &Path, spec: &SynthVideo) -> Result<(), VideoError> {
    std::fs::create_dir_all(dir).map_err(|e| VideoError::io(dir, e))?;
    for n in 0..spec.frames {
        let colour = image::Rgb([(n % 16 * 16 + 8) as u8, (n / 16 % 16 * 16 + 8) as u8, spec.tint]);
        let frame = image::RgbImage::from_pixel(spec.width, spec.height, colour);
        let path = dir.join(format!("{:05}.jpg", n + 1));
        let file = std::fs::File::create(&path).map_err(|e| VideoError::io(&path, e))?;
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 95);
        encoder
            .encode_image(&frame)
            .map_err(|e| VideoError::corrupt(&path, &format!("cannot write the frame: {e}")))?;
    }
    Ok(())
}

/// The frame number a decoded frame of a [`write_synthetic_video`] video encodes, read from the
/// colour at its centre (mod 256).
pub fn frame_number_of(png: &[u8]) -> Option<usize> {
    let image = image::load_from_memory(png).ok()?.to_rgb8();
    let (w, h) = image.dimensions();
    let pixel = image.get_pixel(w / 2, h / 2);
    let level = |v: u8| (v as usize).saturating_sub(2) / 16;
    Some(level(pixel[0]) + 16 * level(pixel[1]))
}
