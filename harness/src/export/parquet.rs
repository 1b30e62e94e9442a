//! Parquet through polars: one column per table column (`String`, `Int64`, `Float64`, nulls
//! for missing values), zstd-compressed.

use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::*;

use super::tables::{Cells, Table};

/// The table as a polars data frame.
pub fn to_frame(table: &Table) -> PolarsResult<DataFrame> {
    let columns = table
        .columns
        .iter()
        .map(|c| {
            let name = PlSmallStr::from(c.name.as_str());
            match &c.cells {
                Cells::Text(v) => Series::new(name, v),
                Cells::Int(v) => Series::new(name, v),
                Cells::Float(v) => Series::new(name, v),
            }
            .into_column()
        })
        .collect();
    DataFrame::new(table.rows(), columns)
}

/// Writes the table as a parquet file.
pub fn write(table: &Table, path: &Path) -> Result<()> {
    let mut frame =
        anyhow::Context::with_context(to_frame(table), || format!("building the table for {}", path.display()))?;
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let written = ParquetWriter::new(file).with_compression(ParquetCompression::Zstd(None)).finish(&mut frame);
    anyhow::Context::with_context(written, || format!("writing {}", path.display()))?;
    Ok(())
}
