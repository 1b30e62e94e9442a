//! Reading Hugging Face parquet data sets, and writing synthetic ones for tests and the demo.
//!
//! - [`find_split_files`] finds the parquet shards of a split in the usual Hugging Face layouts;
//!   [`hf_cache_dataset_dir`] and [`hf_hub_dir`] locate a data set in the local hub cache.
//!   [`find_data_files`] prefers the data files a repository's card declares (MVBench's
//!   `json/<config>.json`).
//! - [`SplitTable`] opens the shards (parquet footers only; JSON files whole), reports
//!   [`SplitTable::num_rows`] and [`SplitTable::columns`], and reads rows lazily as [`Row`]s of
//!   [`Cell`]s, so tasks do not depend on polars types. An `Image()` column (`struct<bytes,
//!   path>`) becomes [`Cell::Image`].
//! - [`fixtures`] writes synthetic sets for the image benchmarks (DocVQA, TextVQA, ChartQA, AI2D,
//!   ScienceQA-IMG, MMStar, MMMU, OCRBench, MathVista), each in the exact schema and file layout
//!   of its Hugging Face repository, rendered with the crate's own bitmap font, deterministic
//!   from a seed ([`write_all_image_fixtures`] writes them all).
//! - [`video`] samples frames from video files as SmolVLM2 does (FFmpeg's command-line tools,
//!   a frame cache), for the video benchmarks; [`fixtures`] also writes synthetic videos.
//! - Every failure is a [`DatasetError`] whose message names the path and says what to do.
//!
//! ```
//! use smolbench_datasets::Cell;
//!
//! let answers = Cell::List(vec![Cell::Text("INV-4821".into()), Cell::Text("inv 4821".into())]);
//! assert_eq!(
//!     answers.as_text_list(),
//!     Some(vec!["INV-4821".to_string(), "inv 4821".to_string()])
//! );
//! // Numeric ids read as text too.
//! assert_eq!(Cell::Int(49153).as_text().as_deref(), Some("49153"));
//! ```
//!
//! Reading a split:
//!
//! ```no_run
//! use smolbench_datasets::{SplitTable, find_split_files};
//! # fn main() -> Result<(), smolbench_datasets::DatasetError> {
//! let files = find_split_files("data/docvqa".as_ref(), Some("DocVQA"), "validation")?;
//! let table = SplitTable::open(files)?;
//! for row in table.read_rows(&["question", "answers", "image"], Some(10))? {
//!     let answers = row["answers"].as_text_list().unwrap_or_default();
//!     let png = row["image"].as_image().map(|img| img.bytes.len());
//!     println!("{:?} {answers:?} {png:?}", row["question"].as_text());
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod archive;
mod cell;
mod error;
pub mod fake_hub;
pub mod fetch;
pub mod fixtures;
mod json;
mod layout;
pub mod lock;
mod table;
pub mod video;

pub use cell::{Cell, ImageCell, Row};
pub use error::DatasetError;
pub use fixtures::{write_all_image_fixtures, write_docvqa_fixture, FixtureSummary, ImageFixture, IMAGE_FIXTURES};
pub use layout::{find_data_files, find_split_files, hf_cache_dataset_dir, select_split_files};
pub use smolbench_core::hf_hub_dir;
pub use table::SplitTable;
