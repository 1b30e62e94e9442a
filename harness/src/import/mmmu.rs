//! The official MMMU output (MMMU-Benchmark/MMMU, `mmmu/`): `run_llava.py` writes
//! `<subject>/output.json`, a list of `{id, question_type, answer, all_choices, index2ans,
//! response}`; the eval-only script reads one `{id: parsed prediction}` object with the answer
//! file `answer_dict_val.json` (`{id: {question_type, ground_truth}}`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use smolbench_core::ScoringContext;

use super::{json_text, read_json, references_of, sorted_files, Imported};

/// The subject of an MMMU id: `validation_Art_Theory_12` is `Art_Theory`.
fn subject(id: &str) -> Option<String> {
    let (_, rest) = id.split_once('_')?;
    let (subject, n) = rest.rsplit_once('_')?;
    n.chars().all(|c| c.is_ascii_digit()).then(|| subject.to_string())
}

/// Reads a folder of `<subject>/output.json` files, one such file, or the eval-only object (with
/// `answers`).
pub fn read(path: &Path, answers: Option<&Path>) -> Result<Vec<Imported>> {
    let mut entries: Vec<Value> = Vec::new();
    if path.is_dir() {
        for subject in sorted_files(path)? {
            let file = subject.join("output.json");
            if file.is_file() {
                match read_json(&file)? {
                    Value::Array(items) => entries.extend(items),
                    _ => bail!("{}: expected a list of outputs", file.display()),
                }
            }
        }
        if entries.is_empty() {
            bail!("{}: no <subject>/output.json inside (the official MMMU output layout)", path.display());
        }
    } else {
        match read_json(path)? {
            Value::Array(items) => entries = items,
            Value::Object(map) => return eval_only(path, &map, answers),
            _ => bail!("{}: neither a list of outputs nor an {{id: prediction}} object", path.display()),
        }
    }
    entries.iter().enumerate().map(|(index, entry)| sample(entry, index, path)).collect()
}

fn sample(entry: &Value, index: usize, path: &Path) -> Result<Imported> {
    let id =
        entry.get("id").and_then(json_text).with_context(|| format!("{}: an output has no `id`", path.display()))?;
    let response = entry
        .get("response")
        .and_then(json_text)
        .with_context(|| format!("{}: output {id} has no `response`", path.display()))?;
    let question_type = entry.get("question_type").and_then(json_text).unwrap_or_else(|| "multiple-choice".into());
    let letters: Vec<String> = entry
        .get("all_choices")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(json_text).collect())
        .unwrap_or_default();
    let index2ans = entry.get("index2ans").cloned().unwrap_or(Value::Null);
    let choices = letters.iter().map(|l| index2ans.get(l).and_then(json_text).unwrap_or_default()).collect();
    let mut fields = BTreeMap::new();
    fields.insert("question_type".to_string(), question_type);
    let mut breakdown = BTreeMap::new();
    if let Some(s) = subject(&id) {
        breakdown.insert("subject".to_string(), s);
    }
    Ok(Imported {
        sample_id: id,
        index,
        prompt: String::new(),
        prediction: response,
        references: entry.get("answer").map(references_of).unwrap_or_default(),
        context: ScoringContext { choices, fields },
        breakdown,
    })
}

/// The eval-only layout: predictions already parsed (a letter, or an open answer), the gold
/// answers and question types from the answer file. A multiple-choice question is given as
/// many options as its gold and predicted letters need (at least four), so a letter scores as
/// the official script compares it: equal to the gold letter.
fn eval_only(path: &Path, outputs: &serde_json::Map<String, Value>, answers: Option<&Path>) -> Result<Vec<Imported>> {
    let Some(answers_path) = answers else {
        bail!("{}: an eval-only MMMU file ({{id: prediction}}) needs --answers answer_dict_val.json", path.display());
    };
    let answers = read_json(answers_path)?;
    let mut out = Vec::with_capacity(outputs.len());
    for (index, (id, prediction)) in outputs.iter().enumerate() {
        let answer = answers
            .get(id)
            .with_context(|| format!("{}: {id} is not in {}", path.display(), answers_path.display()))?;
        let question_type = answer.get("question_type").and_then(json_text).unwrap_or_else(|| "multiple-choice".into());
        let references = answer.get("ground_truth").map(references_of).unwrap_or_default();
        let prediction = json_text(prediction).unwrap_or_default();
        let choices = if question_type == "multiple-choice" {
            let letter_index = |s: &str| match s.as_bytes() {
                [c @ b'A'..=b'Z'] => usize::from(c - b'A') + 1,
                _ => 0,
            };
            let needed = references.iter().map(|r| letter_index(r)).chain([letter_index(&prediction), 4]).max();
            (0..needed.unwrap_or(4)).map(|i| char::from(b'A' + i as u8).to_string()).collect()
        } else {
            Vec::new()
        };
        let mut fields = BTreeMap::new();
        fields.insert("question_type".to_string(), question_type);
        let mut breakdown = BTreeMap::new();
        if let Some(s) = subject(id) {
            breakdown.insert("subject".to_string(), s);
        }
        out.push(Imported {
            sample_id: id.clone(),
            index,
            prompt: String::new(),
            prediction,
            references,
            context: ScoringContext { choices, fields },
            breakdown,
        });
    }
    Ok(out)
}
