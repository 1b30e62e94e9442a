//! Thumbnails of the images a run's samples were asked about.
//!
//! Records hold no image bytes, so the image is read back from the task's parquet files, named
//! in the run's `run.json` (`tasks[].data_dir` and `data_files`), at the record's `index`, from
//! the task's image columns (`columns.images`, then `columns.optional-images`). Thumbnails are
//! downscaled PNGs. Where the data is no longer there (a report made on another machine) the
//! sample gets no thumbnail and the reason instead.
//!
//! A video task's sample gets a strip of up to four of the frames it was shown (first, last and
//! two between), decoded again from the video its record names (`video.path`, `video.frames`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use smolbench_core::{SampleRecord, TaskRecord};
use smolbench_datasets::{video, Cell, SplitTable};

/// Longest edge of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 160;
/// The most rows one read spans (from the first index it covers to the last): one row group of
/// the Hugging Face files (100 rows), so memory stays bounded by one read however many samples
/// a run has, and a row group with several wanted rows is read once, not once per run of
/// consecutive rows.
const SPAN: usize = 128;

/// The image columns of a task definition, in the order they are tried.
fn image_columns(task: &TaskRecord) -> Vec<String> {
    let list = |key: &str| -> Vec<String> {
        task.config
            .pointer(&format!("/columns/{key}"))
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let mut cols = list("images");
    cols.extend(list("optional-images"));
    cols
}

/// Writes a thumbnail for each of `indices` (rows of the task's data) under `out_dir`, named
/// `<prefix>-<index>.png`. Returns, per index, the file name or why there is none.
pub fn write_thumbnails(
    task: &TaskRecord,
    indices: &[usize],
    out_dir: &Path,
    prefix: &str,
) -> BTreeMap<usize, Result<String, String>> {
    let mut out = BTreeMap::new();
    let columns = image_columns(task);
    if columns.is_empty() {
        for &i in indices {
            out.insert(i, Err("the task has no image column".to_string()));
        }
        return out;
    }
    let files: Vec<PathBuf> = task.data_files.iter().map(|f| Path::new(&task.data_dir).join(&f.path)).collect();
    let table = match files.iter().find(|f| !f.is_file()) {
        Some(missing) => Err(format!("data file {} is not on this machine", missing.display())),
        None => SplitTable::open(files).map_err(|e| e.to_string()),
    };
    let table = match table {
        Ok(t) => t,
        Err(reason) => {
            for &i in indices {
                out.insert(i, Err(reason.clone()));
            }
            return out;
        }
    };
    let available = table.columns();
    let columns: Vec<&str> = columns.iter().map(String::as_str).filter(|c| available.iter().any(|a| a == c)).collect();
    let mut sorted: Vec<usize> = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for chunk in chunks_within(&sorted, &table.row_group_ranges()) {
        let (start, end) = (chunk[0], chunk[chunk.len() - 1] + 1);
        match table.read_rows_at(&columns, start..end) {
            Ok(rows) => {
                let made = thumbnails_in_parallel(chunk, |i| match rows.get(i - start) {
                    Some(row) => thumbnail_of_row(row, &columns, out_dir, &format!("{prefix}-{i}.png")),
                    None => Err(format!("row {i} is past the end of the data")),
                });
                out.extend(made);
            }
            Err(e) => {
                for &i in chunk {
                    out.insert(i, Err(e.to_string()));
                }
            }
        }
    }
    out
}

/// Makes the thumbnails of `indices` with `make`, on as many threads as the machine has cores
/// (at most 8): decoding a scanned page is the slow part of a report.
fn thumbnails_in_parallel(
    indices: &[usize],
    make: impl Fn(usize) -> Result<String, String> + Sync,
) -> Vec<(usize, Result<String, String>)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let per_thread = indices.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = indices
            .chunks(per_thread)
            .map(|part| {
                let make = &make;
                scope.spawn(move || part.iter().map(|&i| (i, make(i))).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|_| vec![])).collect()
    })
}

/// Frames in a video thumbnail strip, at most.
const STRIP_FRAMES: usize = 4;

/// Writes a strip of frames for each record of a video task that names its video, under
/// `out_dir` as `<prefix>-<index>.png`; records sharing a video and frames share the decoding.
pub fn write_video_thumbnails(
    task: &TaskRecord,
    records: &[&SampleRecord],
    out_dir: &Path,
    prefix: &str,
) -> BTreeMap<usize, Result<String, String>> {
    let mut strips: BTreeMap<(String, Vec<usize>), Result<Vec<u8>, String>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for record in records {
        let Some(video) = &record.video else {
            out.insert(record.index, Err("no video was read for this sample".to_string()));
            continue;
        };
        // The first and last frames shown, and evenly spaced ones between.
        let n = video.frames.len();
        let m = STRIP_FRAMES.min(n);
        let picks: Vec<usize> = (0..m).map(|k| video.frames[k * n.saturating_sub(1) / (m - 1).max(1)]).collect();
        let path = Path::new(&task.data_dir).join(&video.path);
        let strip = strips
            .entry((video.path.clone(), picks.clone()))
            .or_insert_with(|| frame_strip(&path, video.fps, &picks).map_err(|e| format!("{e:#}")));
        let name = format!("{prefix}-{}.png", record.index);
        let target = out_dir.join(&name);
        let result = match strip {
            Ok(png) => {
                std::fs::write(&target, png).map(|_| name).map_err(|e| format!("writing {}: {e}", target.display()))
            }
            Err(reason) => Err(reason.clone()),
        };
        out.insert(record.index, result);
    }
    out
}

/// Frames `picks` of the video (or frame folder at `fps`) side by side, each [`THUMB_EDGE`] / 2
/// pixels high, as PNG.
fn frame_strip(path: &Path, fps: f64, picks: &[usize]) -> Result<Vec<u8>> {
    let edge = THUMB_EDGE / 2;
    let pngs = if path.is_dir() {
        let folder = video::folder::probe_folder(path, fps)?;
        let size = video::frame_size(folder.info.width, folder.info.height, edge);
        video::folder::decode_folder_frames(&folder, picks, size)?
    } else {
        let info = video::probe_video(path)?;
        let temp = tempfile::tempdir().context("a temporary folder for frames")?;
        let files = video::ffmpeg::extract_frames(path, &info, picks, temp.path())?;
        files
            .iter()
            .map(|f| std::fs::read(f).with_context(|| format!("reading {}", f.display())))
            .collect::<Result<_>>()?
    };
    let frames: Vec<image::RgbImage> = pngs
        .iter()
        .map(|png| Ok(image::load_from_memory(png).context("a decoded frame")?.thumbnail(edge * 2, edge).to_rgb8()))
        .collect::<Result<_>>()?;
    let width: u32 = frames.iter().map(|f| f.width() + 2).sum::<u32>().saturating_sub(2);
    let height = frames.iter().map(|f| f.height()).max().unwrap_or(1);
    let mut strip = image::RgbImage::from_pixel(width.max(1), height, image::Rgb([255, 255, 255]));
    let mut x = 0;
    for frame in &frames {
        image::imageops::replace(&mut strip, frame, i64::from(x), 0);
        x += frame.width() + 2;
    }
    let mut png = Vec::new();
    strip.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).context("encoding the strip")?;
    Ok(png)
}

/// Splits sorted indices into reads: each spans at most [`SPAN`] rows and never crosses a row
/// group boundary (`groups`, in order). A read decodes the row group's pages once (parquet
/// readers decode a column chunk whole, however few of its rows are asked for), so indices
/// scattered over a group (a report's failures first) share one read; the rows between them
/// are decoded but not kept past the read.
fn chunks_within<'a>(sorted: &'a [usize], groups: &[std::ops::Range<usize>]) -> Vec<&'a [usize]> {
    let group_of = |i: usize| groups.partition_point(|g| g.end <= i);
    let mut chunks = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.len() {
        if i == sorted.len() || sorted[i] - sorted[start] >= SPAN || group_of(sorted[i]) != group_of(sorted[i - 1]) {
            if start < i {
                chunks.push(&sorted[start..i]);
            }
            start = i;
        }
    }
    chunks
}

fn thumbnail_of_row(
    row: &smolbench_datasets::Row,
    columns: &[&str],
    out_dir: &Path,
    name: &str,
) -> Result<String, String> {
    let image = columns
        .iter()
        .filter_map(|c| row.get(*c))
        .find_map(|cell| match cell {
            Cell::Image(img) if !img.bytes.is_empty() => Some(img),
            _ => None,
        })
        .ok_or_else(|| "the sample has no image".to_string())?;
    write_thumbnail(&image.bytes, &out_dir.join(name)).map_err(|e| format!("{e:#}"))?;
    Ok(name.to_string())
}

/// The size of a thumbnail of a `width` x `height` image: [`THUMB_EDGE`] on its longest edge,
/// the aspect ratio kept, never larger than the image.
fn thumb_size(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height).max(1);
    if longest <= THUMB_EDGE {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(THUMB_EDGE) + u64::from(longest) / 2) / u64::from(longest)).max(1) as u32
    };
    (scale(width), scale(height))
}

/// Decodes `bytes`, shrinks the image to [`THUMB_EDGE`] on its longest edge, writes it as PNG.
///
/// Shrinking is a box filter in two steps, both in `smolbench-pixels` (always built
/// optimised): a whole-factor block average down to just above the thumbnail's size (one pass
/// of integer sums over the page), then an exact box resize of that small image. The `image`
/// crate's generic thumbnail took two thirds of a 5,349-sample report's time, and a direct
/// resize of the whole page half of it.
pub fn write_thumbnail(bytes: &[u8], path: &Path) -> Result<()> {
    let img = image::load_from_memory(bytes).context("the image could not be decoded")?.into_rgb8();
    let (w, h) = thumb_size(img.width(), img.height());
    let factor = (img.width() / w).min(img.height() / h).max(1);
    let reduced = smolbench_pixels::reduce_rgb8(&img, factor);
    drop(img);
    let thumb = if reduced.dimensions() == (w, h) {
        reduced
    } else {
        smolbench_pixels::resize_rgb8(&reduced, w, h, smolbench_pixels::Filter::Box)
    };
    thumb.save_with_format(path, image::ImageFormat::Png).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_each_row_group_once_within_a_bounded_span() {
        // Scattered indices in one row group of 100: one read, gaps and all.
        let v: Vec<usize> = (0..40).chain([50, 51, 60, 99]).collect();
        let one_group: Vec<std::ops::Range<usize>> = std::iter::once(0..100).collect();
        let chunks = chunks_within(&v, &one_group);
        assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![44]);
        assert!(chunks_within(&[], &one_group).is_empty());
        // Row groups of 10 rows: no chunk crosses a boundary.
        let groups: Vec<std::ops::Range<usize>> = (0..10).map(|g| g * 10..g * 10 + 10).collect();
        let chunks = chunks_within(&v, &groups);
        assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![10, 10, 10, 10, 2, 1, 1]);
        assert_eq!(chunks[1], &(10..20).collect::<Vec<_>>()[..]);
        // One huge row group: reads span at most SPAN rows, so memory stays bounded.
        let huge: Vec<std::ops::Range<usize>> = std::iter::once(0..100_000).collect();
        let every_third: Vec<usize> = (0..1000).map(|i| i * 3).collect();
        let chunks = chunks_within(&every_third, &huge);
        assert!(
            chunks.iter().all(|c| c[c.len() - 1] - c[0] < SPAN),
            "{:?}",
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
        );
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 1000);
        // 0, 3, ..., 126: 43 indices per read.
        assert_eq!(chunks[0].len(), 43);
        assert_eq!(chunks.len(), 1000usize.div_ceil(43));
    }

    #[test]
    fn thumbnails_keep_the_aspect_ratio_and_average_the_pixels_they_cover() {
        assert_eq!(thumb_size(1700, 2200), (124, 160));
        assert_eq!(thumb_size(2200, 1700), (160, 124));
        assert_eq!(thumb_size(100, 50), (100, 50));
        assert_eq!(thumb_size(10_000, 1), (160, 1));
        // A page of 1600x1600: left half black, right half white, as PNG.
        let mut page = image::RgbImage::from_pixel(1600, 1600, image::Rgb([255, 255, 255]));
        for y in 0..1600 {
            for x in 0..800 {
                page.put_pixel(x, y, image::Rgb([0, 0, 0]));
            }
        }
        let mut png = Vec::new();
        page.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        write_thumbnail(&png, &path).unwrap();
        let thumb = image::open(&path).unwrap().to_rgb8();
        assert_eq!(thumb.dimensions(), (160, 160));
        assert_eq!(thumb.get_pixel(10, 80).0, [0, 0, 0]);
        assert_eq!(thumb.get_pixel(150, 80).0, [255, 255, 255]);
        // Each thumbnail pixel covers 10x10 page pixels: the edge falls between two columns.
        assert_eq!(thumb.get_pixel(79, 80).0, [0, 0, 0]);
        assert_eq!(thumb.get_pixel(80, 80).0, [255, 255, 255]);
        assert!(write_thumbnail(b"not an image", &path).is_err());
    }

    #[test]
    fn thumbnails_in_parallel_keeps_every_index_once() {
        let indices: Vec<usize> = (0..37).collect();
        let mut made =
            thumbnails_in_parallel(&indices, |i| if i % 5 == 0 { Err(format!("{i}")) } else { Ok(format!("{i}.png")) });
        made.sort_by_key(|(i, _)| *i);
        assert_eq!(made.iter().map(|(i, _)| *i).collect::<Vec<_>>(), indices);
        assert_eq!(made[5].1, Err("5".to_string()));
        assert_eq!(made[6].1, Ok("6.png".to_string()));
    }
}
