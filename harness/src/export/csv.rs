//! CSV (RFC 4180): a header row, then one line per row; a field holding a comma, a quote, a
//! line break or surrounding spaces is quoted with its quotes doubled; a missing value is an
//! empty field. UTF-8, numbers as Rust prints them (shortest form that reads back exactly).
//!
//! Written here rather than through polars: the workspace builds polars without its `csv`
//! feature, and the rules above are all a reader needs.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::tables::{Cells, Table};

/// One field, quoted where needed.
pub fn field(text: &str) -> String {
    let needs_quotes = text.contains([',', '"', '\n', '\r'])
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace);
    if needs_quotes {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn cell(cells: &Cells, row: usize) -> String {
    match cells {
        Cells::Text(v) => v[row].as_deref().map(field).unwrap_or_default(),
        Cells::Int(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
        Cells::Float(v) => v[row].filter(|x| x.is_finite()).map(|x| x.to_string()).unwrap_or_default(),
    }
}

/// The table as CSV text.
pub fn to_csv(table: &Table) -> String {
    let mut out = String::new();
    let header: Vec<String> = table.columns.iter().map(|c| field(&c.name)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for row in 0..table.rows() {
        let line: Vec<String> = table.columns.iter().map(|c| cell(&c.cells, row)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Writes the table as a CSV file.
pub fn write(table: &Table, path: &Path) -> Result<()> {
    let mut file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(to_csv(table).as_bytes()).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tables::Column;

    #[test]
    fn fields_are_quoted_only_where_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(" padded"), "\" padded\"");
        let table = Table {
            columns: vec![
                Column { name: "t".into(), cells: Cells::Text(vec![Some("x".into()), None]) },
                Column { name: "n".into(), cells: Cells::Int(vec![None, Some(3)]) },
                Column { name: "f".into(), cells: Cells::Float(vec![Some(0.1), Some(f64::NAN)]) },
            ],
        };
        assert_eq!(to_csv(&table), "t,n,f\nx,,0.1\n,3,\n");
    }
}
