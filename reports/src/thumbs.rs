//! Thumbnails of the images a run's samples were asked about.
//!
//! Records hold no image bytes, so the image is read back from the task's parquet files, named
//! in the run's `run.json` (`tasks[].data_dir` and `data_files`), at the record's `index`, from
//! the task's image columns (`columns.images`, then `columns.optional-images`). Thumbnails are
//! downscaled PNGs. Where the data is no longer there (a report made on another machine) the
//! sample gets no thumbnail and the reason instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use smolbench_core::TaskRecord;
use smolbench_datasets::{Cell, SplitTable};

/// Longest edge of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 160;
/// Rows read from parquet at once.
const CHUNK: usize = 32;

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
    for chunk in contiguous_chunks(&sorted) {
        let (start, end) = (chunk[0], chunk[chunk.len() - 1] + 1);
        match table.read_rows_at(&columns, start..end) {
            Ok(rows) => {
                for &i in chunk {
                    let result = match rows.get(i - start) {
                        Some(row) => thumbnail_of_row(row, &columns, out_dir, &format!("{prefix}-{i}.png")),
                        None => Err(format!("row {i} is past the end of the data")),
                    };
                    out.insert(i, result);
                }
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

/// Splits sorted indices into runs of consecutive values of at most [`CHUNK`].
fn contiguous_chunks(sorted: &[usize]) -> Vec<&[usize]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.len() {
        if i == sorted.len() || sorted[i] != sorted[i - 1] + 1 || i - start >= CHUNK {
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

/// Decodes `bytes`, shrinks the image to [`THUMB_EDGE`] on its longest edge, writes it as PNG.
pub fn write_thumbnail(bytes: &[u8], path: &Path) -> Result<()> {
    let img = image::load_from_memory(bytes).context("the image could not be decoded")?;
    let thumb = img.thumbnail(THUMB_EDGE, THUMB_EDGE).to_rgb8();
    thumb.save_with_format(path, image::ImageFormat::Png).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_on_gaps_and_size() {
        let v: Vec<usize> = (0..40).chain([50, 51, 60]).collect();
        let chunks = contiguous_chunks(&v);
        assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![32, 8, 2, 1]);
        assert!(contiguous_chunks(&[]).is_empty());
    }
}
