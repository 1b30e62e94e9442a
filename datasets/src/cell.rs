//! A data-set value read from parquet, independent of polars' own types.
//!
//! Hugging Face `datasets` features map onto these: `Value("string")` is [`Cell::Text`],
//! `Sequence(...)` is [`Cell::List`], `Image()` (a `struct<bytes, path>`) is [`Cell::Image`],
//! `ClassLabel` is [`Cell::Int`]. A [`Row`] maps column names to cells.

use std::collections::BTreeMap;

/// An image column's value: the encoded file and the path it was stored under, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageCell {
    /// Encoded bytes (PNG, JPEG...). Empty when the data set stores only a path.
    pub bytes: Vec<u8>,
    /// The `path` field of the struct, when set.
    pub path: Option<String>,
}

/// One value of one column of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A null value (also a null image struct).
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer type.
    Int(i64),
    /// Any float type.
    Float(f64),
    /// A string.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list (`Sequence`).
    List(Vec<Cell>),
    /// An image struct `{bytes, path}`.
    Image(ImageCell),
    /// Any other struct, by field name.
    Struct(BTreeMap<String, Cell>),
}

/// A row: column name to value.
pub type Row = BTreeMap<String, Cell>;

impl Cell {
    /// The string, for text cells; integers and floats are rendered as text too, since id columns
    /// are numeric in some data sets and strings in others.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Cell::Text(s) => Some(s.clone()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Float(f) => Some(f.to_string()),
            Cell::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The strings of a list of text cells; a single text cell becomes a one-element list.
    pub fn as_text_list(&self) -> Option<Vec<String>> {
        match self {
            Cell::List(items) => items.iter().map(Cell::as_text).collect(),
            other => other.as_text().map(|s| vec![s]),
        }
    }

    /// The image, for image cells with bytes.
    pub fn as_image(&self) -> Option<&ImageCell> {
        match self {
            Cell::Image(img) => Some(img),
            _ => None,
        }
    }

    /// Whether the cell is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_list_accepts_single_text_and_numbers() {
        assert_eq!(Cell::Text("a".into()).as_text_list(), Some(vec!["a".to_string()]));
        let list = Cell::List(vec![Cell::Text("x".into()), Cell::Int(3)]);
        assert_eq!(list.as_text_list(), Some(vec!["x".to_string(), "3".to_string()]));
        assert_eq!(Cell::Null.as_text_list(), None);
    }
}
