//! Helpers shared by the fixture tests: finding and reading a written fixture the way a task
//! would, and checking every cell against the column types the real data set has.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use smolbench_datasets::{find_split_files, Cell, Row, SplitTable};

/// The type a column has in the real data set, as it reads back.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// utf8, never null.
    Text,
    /// utf8 or null.
    OptText,
    /// Any integer type, never null.
    Int,
    /// float64 or null.
    OptFloat,
    /// list<utf8>, never null.
    TextList,
    /// list<utf8> or null.
    OptTextList,
    /// An `Image()` struct with PNG bytes that decode.
    Image,
    /// An `Image()` struct or null.
    OptImage,
    /// A struct with these fields.
    Struct(&'static [(&'static str, Kind)]),
}

/// Whether `cell` has type `kind`; images must decode.
pub fn cell_matches(cell: &Cell, kind: Kind) -> bool {
    match (kind, cell) {
        (Kind::OptText | Kind::OptFloat | Kind::OptTextList | Kind::OptImage, Cell::Null) => true,
        (Kind::Text | Kind::OptText, Cell::Text(_)) => true,
        (Kind::Int, Cell::Int(_)) => true,
        (Kind::OptFloat, Cell::Float(_)) => true,
        (Kind::TextList | Kind::OptTextList, Cell::List(items)) => items.iter().all(|i| matches!(i, Cell::Text(_))),
        (Kind::Image | Kind::OptImage, Cell::Image(img)) => {
            img.path.is_none() && image::load_from_memory(&img.bytes).is_ok()
        }
        (Kind::Struct(fields), Cell::Struct(values)) => {
            values.len() == fields.len()
                && fields.iter().all(|(name, kind)| values.get(*name).is_some_and(|v| cell_matches(v, *kind)))
        }
        _ => false,
    }
}

/// Whether every string inside `cell` is ASCII.
pub fn all_ascii(cell: &Cell) -> bool {
    match cell {
        Cell::Text(s) => s.is_ascii(),
        Cell::List(items) => items.iter().all(all_ascii),
        Cell::Struct(values) => values.values().all(all_ascii),
        _ => true,
    }
}

/// `files` relative to `root`, as strings with `/`.
pub fn relative(root: &Path, files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/")).collect()
}

/// Finds the split under `root` with `config` and `split` as a task would, opens it, checks the
/// column names and order and every cell's type and ASCII-ness against `schema`, and returns
/// the rows.
pub fn read_checked(root: &Path, config: &str, split: &str, schema: &[(&str, Kind)], n_rows: usize) -> Vec<Row> {
    let files = find_split_files(root, Some(config), split).unwrap();
    let table = SplitTable::open(files).unwrap();
    assert_eq!(table.num_rows(), n_rows);
    let names: Vec<&str> = schema.iter().map(|(n, _)| *n).collect();
    assert_eq!(table.columns(), names);
    let rows = table.read_rows(&[], None).unwrap();
    assert_eq!(rows.len(), n_rows);
    for (i, row) in rows.iter().enumerate() {
        for (name, kind) in schema {
            let cell = &row[*name];
            assert!(cell_matches(cell, *kind), "row {i} column {name}: expected {kind:?}, got {cell:?}");
            assert!(all_ascii(cell), "row {i} column {name} is not ASCII");
        }
    }
    rows
}

/// The text of a text cell.
pub fn text(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    }
}

/// The polars dtype of `column` in the parquet file `file`, as text (`i8`, `i32`, `f64`...).
pub fn dtype(file: &Path, column: &str) -> String {
    use polars::prelude::*;
    let df = ParquetReader::new(std::fs::File::open(file).unwrap())
        .with_columns(Some(vec![column.to_string()]))
        .finish()
        .unwrap();
    df.column(column).unwrap().dtype().to_string()
}
