//! Reading Hugging Face parquet data sets, and writing synthetic ones for tests and the demo.
#![deny(missing_docs)]

mod cell;

pub use cell::{Cell, ImageCell, Row};
