//! The official MathVista output (lupantech/MathVista `evaluation/`): one JSON object keyed by
//! `pid`, each value the problem (`question`, `choices`, `answer`, `question_type`,
//! `answer_type`, `precision`, `unit`, `query`) with the model's `response` and, once the
//! extraction step ran, its `extraction`. A stored extraction is kept as the scoring field
//! `extraction`, which the `mathvista` metric scores in place of its rule-based extraction.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use smolbench_core::ScoringContext;

use super::{json_text, read_json, references_of, Imported};

/// Reads the object of `path`, in its order.
pub fn read(path: &Path) -> Result<Vec<Imported>> {
    let Value::Object(problems) = read_json(path)? else {
        bail!("{}: expected a JSON object keyed by pid (the official MathVista output)", path.display());
    };
    let mut out = Vec::with_capacity(problems.len());
    for (index, (pid, problem)) in problems.iter().enumerate() {
        let text = |key: &str| problem.get(key).and_then(json_text);
        let response =
            text("response").with_context(|| format!("{}: problem {pid} has no `response`", path.display()))?;
        let mut fields = BTreeMap::new();
        for key in ["question_type", "answer_type", "precision", "unit"] {
            if let Some(value) = text(key) {
                fields.insert(key.to_string(), value);
            }
        }
        if let Some(extraction) = text("extraction") {
            fields.insert("extraction".to_string(), extraction);
        }
        let choices = problem.get("choices").map(references_of).unwrap_or_default();
        let mut breakdown = BTreeMap::new();
        for (name, pointer) in [("category", "/metadata/category"), ("task", "/metadata/task")] {
            if let Some(value) = problem.pointer(pointer).and_then(json_text) {
                breakdown.insert(name.to_string(), value);
            }
        }
        out.push(Imported {
            sample_id: text("pid").unwrap_or_else(|| pid.clone()),
            index,
            prompt: text("query").unwrap_or_default(),
            prediction: response,
            references: problem.get("answer").and_then(json_text).into_iter().collect(),
            context: ScoringContext { choices, fields },
            breakdown,
        });
    }
    Ok(out)
}
