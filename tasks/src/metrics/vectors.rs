//! Test helpers: reading the reference vectors in `shared/data/metric-vectors/`.

use std::path::PathBuf;

use serde_json::Value;

/// Where the vectors live: `shared/` sits beside the repository checkout.
pub(crate) fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/metric-vectors")).join(name)
}

/// Reads a whole vector file as text; panics (never skips) when it is missing.
pub(crate) fn read_vector_file(name: &str) -> String {
    let path = vector_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reference vectors {} are required by this test and could not be read: {e}. \
             Check out shared/ beside the repository.",
            path.display()
        )
    })
}

/// Reads a JSON-lines vector file, one object per non-empty line.
pub(crate) fn read_jsonl(name: &str) -> Vec<Value> {
    read_vector_file(name)
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{name} line {}: invalid JSON: {e}", i + 1))
        })
        .collect()
}

/// A JSON array of strings as a `Vec<String>`.
pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array of strings, got {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}")).to_string())
        .collect()
}

/// Checks a JSON-lines vector file of scores: the file holds `expected_rows` rows, and for every
/// row and every `(field, profile)` pair, `score(row, profile)` equals the row's `field` to
/// 1e-12. All mismatches are listed in one panic, each with its line and the row's `prediction`.
pub(crate) fn check_score_vectors<P: Copy + std::fmt::Debug>(
    name: &str,
    expected_rows: usize,
    fields: &[(&str, P)],
    score: impl Fn(&Value, P) -> f64,
) {
    let rows = read_jsonl(name);
    assert_eq!(rows.len(), expected_rows, "{name} should hold {expected_rows} cases");
    let mut failures = Vec::new();
    for (line, row) in rows.iter().enumerate() {
        for &(field, profile) in fields {
            let want =
                row[field].as_f64().unwrap_or_else(|| panic!("{name} line {}: {field} is not a number", line + 1));
            let got = score(row, profile);
            if (got - want).abs() > 1e-12 {
                failures.push(format!(
                    "line {}: {} vs {} ({profile:?}): got {got}, want {want}",
                    line + 1,
                    row["prediction"],
                    row["answers"]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
