//! lmms-eval's `--log_samples` output: `<date>_samples_<task>.jsonl`, one JSON object per
//! document with `doc_id` (the row index), `doc` (the row, without images), `target`, `resps`
//! (the raw generations, a list per request), `filtered_resps` and `input` (the prompt text).
//! Older versions wrote one JSON list (or an object with a `logs` list); both are read too.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;
use smolbench_core::ScoringContext;
use smolbench_tasks::Task;

use super::{json_text, references_of, Imported};

/// Reads every logged sample of `path`.
pub fn read(path: &Path, task: &Task) -> Result<Vec<Imported>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Object(mut map)) if map.get("logs").is_some_and(Value::is_array) => match map.remove("logs") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, line)| {
                serde_json::from_str(line).with_context(|| {
                    format!(
                        "{} line {}: not a JSON object (lmms-eval --log_samples writes one per line)",
                        path.display(),
                        n + 1
                    )
                })
            })
            .collect::<Result<_>>()?,
    };
    docs.iter().enumerate().map(|(position, doc)| sample(doc, position, task, path)).collect()
}

fn sample(entry: &Value, position: usize, task: &Task, path: &Path) -> Result<Imported> {
    let columns = &task.def().columns;
    let index = entry.get("doc_id").and_then(Value::as_u64).map_or(position, |i| i as usize);
    let doc = entry.get("doc").cloned().unwrap_or(Value::Null);
    let sample_id =
        columns.id.as_deref().and_then(|id| doc.get(id)).and_then(json_text).unwrap_or_else(|| index.to_string());
    // `resps` is a list per request of lists of generations; the first generation is the answer.
    let first = |v: &Value| -> Option<String> {
        match v {
            Value::Array(items) => items.first().and_then(|i| match i {
                Value::Array(inner) => inner.first().and_then(json_text),
                other => json_text(other),
            }),
            other => json_text(other),
        }
    };
    let prediction = entry
        .get("resps")
        .and_then(first)
        .or_else(|| entry.get("filtered_resps").and_then(first))
        .with_context(|| format!("{}: document {index} has no `resps`", path.display()))?;
    let references = entry.get("target").map(references_of).unwrap_or_default();
    let prompt = entry
        .get("input")
        .and_then(json_text)
        .or_else(|| entry.pointer("/arguments/0/0").and_then(json_text))
        .unwrap_or_default();
    let choices = columns.choices.as_deref().and_then(|c| doc.get(c)).map(references_of).unwrap_or_default();
    let mut fields = task.def().scoring.fields.clone();
    for (field, column) in &columns.fields {
        if let Some(value) = doc.get(column.as_str()).and_then(json_text) {
            fields.insert(field.clone(), value);
        }
    }
    Ok(Imported {
        sample_id,
        index,
        prompt,
        prediction,
        references,
        context: ScoringContext { choices, fields },
        ..Imported::default()
    })
}
