//! Data files in JSON: what `datasets.load_dataset` reads where a repository's card declares
//! JSON `data_files` for a config (MVBench's `json/<config>.json`).
//!
//! A file is either one array of objects (`.json`) or one object per line (JSON Lines, `.jsonl`,
//! and a `.json` file whose first non-blank character is not `[`). Each object is a row; its
//! keys are the columns. The column list is the keys of every row, in first-seen order, as the
//! `datasets` JSON builder infers one schema for the whole file; a row without a key reads null.

use std::path::Path;

use serde_json::{Map, Value};

use crate::cell::{Cell, Row};
use crate::error::DatasetError;

/// The rows of one JSON data file, read whole (these files are small: MVBench's largest is
/// about 100 KB).
pub(crate) struct JsonRows {
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<Map<String, Value>>,
}

/// Whether `path` names a JSON data file (`.json` or `.jsonl`).
pub(crate) fn is_json_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("json") || e == "jsonl")
}

impl JsonRows {
    /// Parses `path`; fails with [`DatasetError::CorruptJson`] naming the file and, for JSON
    /// Lines, the line.
    pub(crate) fn read(path: &Path) -> Result<JsonRows, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|e| DatasetError::io(path, e))?;
        let corrupt = |reason: String| DatasetError::CorruptJson { path: path.to_path_buf(), reason };
        let values: Vec<Value> = if text.trim_start().starts_with('[') {
            match serde_json::from_str::<Value>(&text).map_err(|e| corrupt(e.to_string()))? {
                Value::Array(items) => items,
                _ => return Err(corrupt("expected an array of objects".into())),
            }
        } else {
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(n, line)| serde_json::from_str(line).map_err(|e| corrupt(format!("line {}: {e}", n + 1))))
                .collect::<Result<_, _>>()?
        };
        let mut columns: Vec<String> = Vec::new();
        let mut rows = Vec::with_capacity(values.len());
        for (n, value) in values.into_iter().enumerate() {
            let Value::Object(object) = value else {
                return Err(corrupt(format!("row {n} is {}, not an object", kind(&value))));
            };
            for key in object.keys() {
                if !columns.contains(key) {
                    columns.push(key.clone());
                }
            }
            rows.push(object);
        }
        Ok(JsonRows { columns, rows })
    }

    /// Rows `offset..offset + len` with only `columns` (all when empty).
    pub(crate) fn slice(&self, columns: &[String], offset: usize, len: usize) -> Vec<Row> {
        let end = (offset + len).min(self.rows.len());
        self.rows[offset.min(end)..end]
            .iter()
            .map(|object| {
                columns.iter().map(|c| (c.clone(), object.get(c).map_or(Cell::Null, to_cell))).collect::<Row>()
            })
            .collect()
    }
}

/// A JSON value as a cell: strings, numbers, booleans and null as such, arrays as lists,
/// objects as structs.
fn to_cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Cell::Text(s.clone()),
        Value::Array(items) => Cell::List(items.iter().map(to_cell).collect()),
        Value::Object(fields) => Cell::Struct(fields.iter().map(|(k, v)| (k.clone(), to_cell(v))).collect()),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn arrays_and_json_lines_read_as_rows_with_every_key_as_a_column() {
        let dir = tempfile::tempdir().unwrap();
        let array = write(
            dir.path(),
            "a.json",
            r#"[{"video": "x.mp4", "candidates": ["a", "b"], "start": 1.5, "end": 4},
                {"video": "y.mp4", "candidates": ["c"], "extra": null}]"#,
        );
        let rows = JsonRows::read(&array).unwrap();
        assert_eq!(rows.columns, ["video", "candidates", "start", "end", "extra"]);
        let all = rows.slice(&rows.columns, 0, 10);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0]["candidates"], Cell::List(vec![Cell::Text("a".into()), Cell::Text("b".into())]));
        assert_eq!((all[0]["start"].clone(), all[0]["end"].clone()), (Cell::Float(1.5), Cell::Int(4)));
        assert_eq!(all[1]["start"], Cell::Null, "a key a row lacks reads null");
        assert_eq!(rows.slice(&["video".into()], 1, 5)[0]["video"], Cell::Text("y.mp4".into()));

        let lines = write(dir.path(), "b.jsonl", "{\"q\": \"one\"}\n\n{\"q\": \"two\"}\n");
        let rows = JsonRows::read(&lines).unwrap();
        assert_eq!(rows.slice(&rows.columns, 0, 9).len(), 2);
    }

    #[test]
    fn damaged_files_name_the_file_and_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let cut = write(dir.path(), "cut.json", r#"[{"video": "x.mp4", "quest"#);
        let err = JsonRows::read(&cut).err().unwrap().to_string();
        assert!(err.starts_with("cannot read JSON data file") && err.contains("cut.json"), "{err}");
        let lines = write(dir.path(), "l.jsonl", "{\"q\": 1}\n{oops}\n");
        let err = JsonRows::read(&lines).err().unwrap().to_string();
        assert!(err.contains("line 2"), "{err}");
        let scalar = write(dir.path(), "s.json", "[1, 2]");
        let err = JsonRows::read(&scalar).err().unwrap().to_string();
        assert!(err.contains("row 0 is a number, not an object"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }
}
