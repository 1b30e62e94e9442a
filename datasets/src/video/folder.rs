//! Videos stored as a folder of frame images taken at a known rate, as MVBench stores its TVQA
//! clips (`tvqa/frames_fps3_hq/<clip>/00001.jpg`, 3 frames per second).
//!
//! The frames are the folder's `.jpg`, `.jpeg` and `.png` files in the order of the number in
//! their names (`00001.jpg`, `2.jpg`, `10.jpg`), names without a number after those, by name.
//! Frame `i` of that order is at `i / fps` seconds. The size is that of the first frame. Chosen
//! frames are decoded with the `image` crate, resized as video frames are (Pillow-exact LANCZOS)
//! and encoded as PNG, so the rest of the pipeline cannot tell a folder from a video file.

use std::path::{Path, PathBuf};

use super::error::VideoError;
use super::ffmpeg::VideoInfo;

/// A frame folder: its frames in time order and what they add up to.
#[derive(Debug, Clone)]
pub struct FrameFolder {
    /// The frame files, in time order.
    pub files: Vec<PathBuf>,
    /// The frame count, rate (given) and the first frame's size.
    pub info: VideoInfo,
}

/// Whether `name` is a frame image the folder reader takes.
fn is_frame_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !lower.starts_with('.') && [".jpg", ".jpeg", ".png"].iter().any(|ext| lower.ends_with(ext))
}

/// The sort key of a frame file: the number in its stem first (files without one last).
fn frame_order(path: &Path) -> (u64, String) {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let digits: String = stem.chars().filter(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u64::MAX), stem)
}

/// Lists the frames of `dir`, taken at `fps` frames per second.
pub fn probe_folder(dir: &Path, fps: f64) -> Result<FrameFolder, VideoError> {
    if !dir.is_dir() {
        return Err(VideoError::Missing { path: dir.to_path_buf() });
    }
    let entries = std::fs::read_dir(dir).map_err(|e| VideoError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| VideoError::io(dir, e))?;
        if entry.file_name().to_str().is_some_and(is_frame_image) && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort_by_cached_key(|p| frame_order(p));
    let first =
        files.first().ok_or_else(|| VideoError::corrupt(dir, "the frame folder holds no .jpg or .png frames"))?;
    let (width, height) = image::image_dimensions(first)
        .map_err(|e| VideoError::corrupt(first, &format!("cannot read the frame image: {e}")))?;
    Ok(FrameFolder { info: VideoInfo { total_frames: files.len(), fps, width, height }, files: files.clone() })
}

/// Frames `indices` of `folder`, each resized to `size` and encoded as PNG, in order.
pub fn decode_folder_frames(
    folder: &FrameFolder,
    indices: &[usize],
    size: (u32, u32),
) -> Result<Vec<Vec<u8>>, VideoError> {
    indices
        .iter()
        .map(|&i| {
            let file = folder.files.get(i).ok_or_else(|| {
                VideoError::corrupt(
                    folder.files[0].parent().unwrap_or(Path::new("")),
                    &format!("no frame {i} in a folder of {}", folder.files.len()),
                )
            })?;
            let frame = image::open(file)
                .map_err(|e| VideoError::corrupt(file, &format!("cannot decode the frame image: {e}")))?
                .into_rgb8();
            super::resize::resized_png(&frame, size, file)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_frame(dir: &Path, name: &str, shade: u8) {
        let img = image::RgbImage::from_pixel(40, 30, image::Rgb([shade, 0, 0]));
        img.save(dir.join(name)).unwrap();
    }

    #[test]
    fn frames_are_ordered_by_their_number_and_sized_by_the_first() {
        let dir = tempfile::tempdir().unwrap();
        for (name, shade) in [("10.jpg", 100), ("2.jpg", 20), ("00001.png", 10)] {
            write_frame(dir.path(), name, shade);
        }
        std::fs::write(dir.path().join("notes.txt"), "not a frame").unwrap();
        let folder = probe_folder(dir.path(), 3.0).unwrap();
        let names: Vec<String> =
            folder.files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["00001.png", "2.jpg", "10.jpg"]);
        assert_eq!(folder.info, VideoInfo { total_frames: 3, fps: 3.0, width: 40, height: 30 });
        let pngs = decode_folder_frames(&folder, &[0, 2], (20, 16)).unwrap();
        let last = image::load_from_memory(&pngs[1]).unwrap().into_rgb8();
        assert_eq!(last.dimensions(), (20, 16));
        assert!((i32::from(last.get_pixel(10, 8)[0]) - 100).abs() <= 3, "{:?}", last.get_pixel(10, 8));
    }

    #[test]
    fn empty_missing_and_broken_folders_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = probe_folder(&dir.path().join("absent"), 3.0).unwrap_err().to_string();
        assert!(err.contains("does not exist") && err.contains("absent"), "{err}");
        let err = probe_folder(dir.path(), 3.0).unwrap_err().to_string();
        assert!(err.contains("holds no .jpg or .png frames"), "{err}");
        std::fs::write(dir.path().join("00001.jpg"), b"not a jpeg").unwrap();
        let err = probe_folder(dir.path(), 3.0).unwrap_err().to_string();
        assert!(err.contains("00001.jpg") && err.contains("cannot read the frame image"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }
}
