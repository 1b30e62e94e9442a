//! Helpers shared by the integration tests: cells, rows in a benchmark's schema, and building a
//! sample under a chosen prompt profile.

#![allow(dead_code)]

use std::collections::BTreeMap;

use smolbench_datasets::{Cell, ImageCell, Row};
use smolbench_tasks::{builtin_task, PreparedSample, Task};

/// A text cell.
pub fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

/// A list of text cells.
pub fn texts(items: &[&str]) -> Cell {
    Cell::List(items.iter().map(|s| text(s)).collect())
}

/// An image cell whose bytes are `tag` (tests only compare bytes).
pub fn image(tag: &str) -> Cell {
    Cell::Image(ImageCell { bytes: tag.as_bytes().to_vec(), path: None })
}

/// A struct cell.
pub fn record(fields: &[(&str, Cell)]) -> Cell {
    Cell::Struct(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

/// A row from `(column, cell)` pairs.
pub fn row(cells: &[(&str, Cell)]) -> Row {
    cells.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// The built-in task `name` with prompt profile `profile`.
pub fn task(name: &str, profile: &str) -> Task {
    let task = builtin_task(name).unwrap_or_else(|e| panic!("{e}"));
    task.with_prompt_profile(profile).unwrap_or_else(|e| panic!("{e}"))
}

/// Row `index` of `name` built under `profile`; panics with the error.
pub fn build(name: &str, profile: &str, row: &Row, index: usize) -> PreparedSample {
    task(name, profile).build_sample(row, index).unwrap_or_else(|e| panic!("{e}"))
}

/// The error building `row` under the default profile.
pub fn build_error(name: &str, row: &Row) -> String {
    match builtin_task(name).expect("built in").build_sample(row, 0) {
        Ok(sample) => panic!("expected an error, built {sample:?}"),
        Err(e) => e.to_string(),
    }
}

/// The images' bytes as strings.
pub fn image_tags(sample: &PreparedSample) -> Vec<String> {
    sample.request.images.iter().map(|i| String::from_utf8_lossy(&i.bytes).into_owned()).collect()
}

/// A map from pairs.
pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A sample's context fields without `judge_question` (the text an optional LLM judge is shown,
/// which the scoring rules do not read).
pub fn rule_fields(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields.iter().filter(|(k, _)| k.as_str() != "judge_question").map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Strings from string slices.
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The two prompt profiles every image task defines.
pub const LMMS: &str = "lmms-eval";
/// VLMEvalKit with the SmolVLM wrapper's prompts.
pub const VLM: &str = "vlmevalkit-smolvlm";
