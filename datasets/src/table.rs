//! A table spread over the data files of one split: parquet shards (row counts and schema from
//! the footers, rows read lazily, shard by shard) or JSON data files (read whole, see
//! [`crate::json`]), both as [`Cell`]s.

use std::collections::BTreeSet;
use std::fs::File;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::cell::{Cell, ImageCell, Row};
use crate::error::DatasetError;
use crate::json::{is_json_file, JsonRows};
use crate::layout::find_split_files;

/// What a shard's rows come from.
enum Contents {
    /// A parquet file's footer; rows are read when asked for.
    Parquet(FileMetadataRef),
    /// A JSON data file, parsed.
    Json(JsonRows),
}

/// One data file: its path, contents, row count and column names.
struct Shard {
    path: PathBuf,
    contents: Contents,
    rows: usize,
    columns: Vec<String>,
}

/// The rows of one split, stored in one or more data files read in the order given.
pub struct SplitTable {
    shards: Vec<Shard>,
    files: Vec<PathBuf>,
}

impl std::fmt::Debug for SplitTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitTable").field("files", &self.files).field("rows", &self.num_rows()).finish()
    }
}

impl SplitTable {
    /// Opens every file: a parquet file's footer (row count, schema) is read, its rows not yet; a
    /// `.json`/`.jsonl` file is parsed whole.
    ///
    /// Fails with [`DatasetError::CorruptParquet`] (or [`DatasetError::CorruptJson`]) naming the
    /// first file that cannot be read (truncated download, wrong format), or
    /// [`DatasetError::Io`] if it cannot be opened.
    pub fn open(files: Vec<PathBuf>) -> Result<Self, DatasetError> {
        let mut shards = Vec::with_capacity(files.len());
        for path in &files {
            if is_json_file(path) {
                let json = JsonRows::read(path)?;
                shards.push(Shard {
                    path: path.clone(),
                    rows: json.rows.len(),
                    columns: json.columns.clone(),
                    contents: Contents::Json(json),
                });
                continue;
            }
            let file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
            let mut reader = ParquetReader::new(file);
            let (metadata, schema) = guarded(path, || {
                let metadata = reader.get_metadata()?.clone();
                let schema = reader.schema()?;
                Ok((metadata, schema))
            })?;
            shards.push(Shard {
                path: path.clone(),
                rows: metadata.num_rows,
                contents: Contents::Parquet(metadata),
                columns: schema.iter_names().map(|n| n.to_string()).collect(),
            });
        }
        Ok(SplitTable { shards, files })
    }

    /// [`find_split_files`] then [`SplitTable::open`].
    pub fn open_split(dataset_root: &Path, config: Option<&str>, split: &str) -> Result<Self, DatasetError> {
        Self::open(find_split_files(dataset_root, config, split)?)
    }

    /// Total rows over all files.
    pub fn num_rows(&self) -> usize {
        self.shards.iter().map(|s| s.rows).sum()
    }

    /// The column names of the first file, in file order (empty for a table with no files).
    pub fn columns(&self) -> Vec<String> {
        self.shards.first().map(|s| s.columns.clone()).unwrap_or_default()
    }

    /// The data files, in reading order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The global row ranges of the files' row groups, in order: reading rows within one range
    /// touches one row group only. A JSON file counts as one group.
    pub fn row_group_ranges(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        for shard in &self.shards {
            match &shard.contents {
                Contents::Parquet(metadata) => {
                    for rg in &metadata.row_groups {
                        out.push(start..start + rg.num_rows());
                        start += rg.num_rows();
                    }
                }
                Contents::Json(_) => {
                    out.push(start..start + shard.rows);
                    start += shard.rows;
                }
            }
        }
        out
    }

    /// The first `limit` rows (all rows with `None`), with only `columns` (every column when
    /// `columns` is empty). Shards past the limit are not opened.
    pub fn read_rows(&self, columns: &[&str], limit: Option<usize>) -> Result<Vec<Row>, DatasetError> {
        let total = self.num_rows();
        self.read_rows_at(columns, 0..limit.map_or(total, |l| l.min(total)))
    }

    /// Rows `range` (global row numbers over all shards; clipped to the table), with only
    /// `columns` (every column when empty). Only the shards that hold those rows are read.
    pub fn read_rows_at(&self, columns: &[&str], range: Range<usize>) -> Result<Vec<Row>, DatasetError> {
        let mut rows = Vec::new();
        let mut start = 0;
        for shard in &self.shards {
            let end = start + shard.rows;
            if start >= range.end {
                break;
            }
            if end > range.start {
                let lo = range.start.max(start) - start;
                let hi = range.end.min(end) - start;
                rows.extend(shard.read(columns, lo, hi - lo)?);
            }
            start = end;
        }
        Ok(rows)
    }
}

impl Shard {
    /// `len` rows from row `offset` of this file.
    fn read(&self, columns: &[&str], offset: usize, len: usize) -> Result<Vec<Row>, DatasetError> {
        let mut seen = BTreeSet::new();
        let wanted: Vec<String> = if columns.is_empty() {
            self.columns.clone()
        } else {
            columns.iter().filter(|c| seen.insert(**c)).map(|c| c.to_string()).collect()
        };
        if let Some(missing) = wanted.iter().find(|c| !self.columns.contains(c)) {
            return Err(DatasetError::MissingColumn {
                path: self.path.clone(),
                column: missing.clone(),
                available: self.columns.clone(),
            });
        }
        let metadata = match &self.contents {
            Contents::Json(json) => return Ok(json.slice(&wanted, offset, len)),
            Contents::Parquet(metadata) => metadata,
        };
        let file = File::open(&self.path).map_err(|e| DatasetError::io(&self.path, e))?;
        let mut reader = ParquetReader::new(file).with_columns(Some(wanted.clone())).with_slice(Some((offset, len)));
        reader.set_metadata(metadata.clone());
        let df = guarded(&self.path, || reader.finish())?;

        let mut rows = vec![Row::new(); df.height()];
        for name in &wanted {
            let cells = guarded(&self.path, || {
                let column = df.column(name)?;
                series_to_cells(column.as_materialized_series())
                    .map_err(|e| e.wrap_msg(|m| format!("column `{name}`: {m}")))
            })?;
            for (row, cell) in rows.iter_mut().zip(cells) {
                row.insert(name.clone(), cell);
            }
        }
        Ok(rows)
    }
}

/// Runs a polars call, turning its errors and panics into [`DatasetError::CorruptParquet`].
fn guarded<T>(path: &Path, f: impl FnOnce() -> PolarsResult<T>) -> Result<T, DatasetError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(DatasetError::corrupt(path, e)),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(DatasetError::corrupt(path, format!("parquet reader failed: {msg}")))
        }
    }
}

/// Converts a whole column to cells, one per row.
pub(crate) fn series_to_cells(s: &Series) -> PolarsResult<Vec<Cell>> {
    let opt = |v: Option<Cell>| v.unwrap_or(Cell::Null);
    Ok(match s.dtype() {
        DataType::Null => vec![Cell::Null; s.len()],
        DataType::Boolean => s.bool()?.iter().map(|v| opt(v.map(Cell::Bool))).collect(),
        DataType::String => s.str()?.iter().map(|v| opt(v.map(|t| Cell::Text(t.to_owned())))).collect(),
        DataType::Binary => s.binary()?.iter().map(|v| opt(v.map(|b| Cell::Bytes(b.to_vec())))).collect(),
        DataType::BinaryOffset => series_to_cells(&s.cast(&DataType::Binary)?)?,
        dt if dt.is_integer() => {
            s.strict_cast(&DataType::Int64)?.i64()?.iter().map(|v| opt(v.map(Cell::Int))).collect()
        }
        dt if dt.is_float() => s.cast(&DataType::Float64)?.f64()?.iter().map(|v| opt(v.map(Cell::Float))).collect(),
        DataType::List(_) => s
            .list()?
            .amortized_iter()
            .map(|v| match v {
                Some(inner) => series_to_cells(inner.as_ref()).map(Cell::List),
                None => Ok(Cell::Null),
            })
            .collect::<PolarsResult<_>>()?,
        DataType::Struct(_) => struct_to_cells(s)?,
        // Dates, decimals, categoricals...: their text form.
        _ => series_to_cells(&s.cast(&DataType::String)?)?,
    })
}

/// A struct column: `{bytes: binary, path: string}` is an image, anything else a [`Cell::Struct`].
fn struct_to_cells(s: &Series) -> PolarsResult<Vec<Cell>> {
    let fields = s.struct_()?.fields_as_series();
    let outer_null: Vec<bool> = s.is_null().iter().map(|v| v != Some(false)).collect();
    let dtype_of = |name: &str| fields.iter().find(|f| f.name().as_str() == name).map(|f| f.dtype().clone());
    let is_image = fields.len() == 2
        && matches!(dtype_of("bytes"), Some(DataType::Binary | DataType::BinaryOffset | DataType::Null))
        && matches!(dtype_of("path"), Some(DataType::String | DataType::Null));
    let names: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
    let mut columns =
        fields.iter().map(|f| series_to_cells(f).map(Vec::into_iter)).collect::<PolarsResult<Vec<_>>>()?;

    let mut out = Vec::with_capacity(s.len());
    for null in outer_null {
        let mut values = names
            .iter()
            .zip(columns.iter_mut())
            .map(|(n, c)| (n.clone(), c.next().unwrap_or(Cell::Null)))
            .collect::<Row>();
        if null {
            out.push(Cell::Null);
        } else if is_image {
            let bytes = values.remove("bytes").unwrap_or(Cell::Null);
            let path = values.remove("path").unwrap_or(Cell::Null);
            out.push(match (bytes, path) {
                (Cell::Null, Cell::Null) => Cell::Null,
                (bytes, path) => Cell::Image(ImageCell {
                    bytes: match bytes {
                        Cell::Bytes(b) => b,
                        _ => Vec::new(),
                    },
                    path: match path {
                        Cell::Text(p) => Some(p),
                        _ => None,
                    },
                }),
            });
        } else {
            out.push(Cell::Struct(values));
        }
    }
    Ok(out)
}
