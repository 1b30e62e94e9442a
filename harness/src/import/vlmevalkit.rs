//! VLMEvalKit's prediction file, `<model>_<dataset>.xlsx` (or `.tsv`, with `PRED_FORMAT=tsv`):
//! the data set's TSV columns (`index`, `question`, `answer`, and for multiple choice `A`, `B`,
//! ... and `category`) with the model's `prediction` added. The spreadsheet is read by
//! [`super::xlsx`].

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use smolbench_core::ScoringContext;
use smolbench_tasks::Task;

use super::{text_references, Imported};

/// A sheet as a header and rows of text cells.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

fn read_sheet(path: &Path) -> Result<Table> {
    let mut rows = super::xlsx::read_first_sheet(path)?.into_iter();
    let header = rows.next().with_context(|| format!("{}: the sheet is empty", path.display()))?;
    Ok(Table { header, rows: rows.collect() })
}

fn read_tsv(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines =
        text.lines().filter(|l| !l.is_empty()).map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>());
    let header = lines.next().with_context(|| format!("{}: the file is empty", path.display()))?;
    Ok(Table { header, rows: lines.collect() })
}

/// Reads every row of the prediction file at `path`.
pub fn read(path: &Path, task: &Task) -> Result<Vec<Imported>> {
    let table = match path.extension().and_then(|e| e.to_str()) {
        Some("tsv") => read_tsv(path)?,
        _ => read_sheet(path)?,
    };
    let Some(prediction_at) = table.column("prediction") else {
        bail!(
            "{}: no `prediction` column (columns: {}); is it a VLMEvalKit prediction file?",
            path.display(),
            table.header.join(", ")
        );
    };
    let index_at = table.column("index");
    let answer_at = table.column("answer");
    let question_at = table.column("question");
    let category_at = table.column("category");
    // Multiple-choice options are the columns A, B, C... in order.
    let letters: Vec<usize> = (b'A'..=b'Z').map_while(|l| table.column(&char::from(l).to_string())).collect();
    let field_columns: Vec<(String, usize)> = task
        .def()
        .columns
        .fields
        .iter()
        .filter_map(|(field, column)| {
            table.column(column).or_else(|| table.column(field)).map(|at| (field.clone(), at))
        })
        .collect();
    let mut out = Vec::with_capacity(table.rows.len());
    for (position, row) in table.rows.iter().enumerate() {
        let get = |at: Option<usize>| at.and_then(|i| row.get(i)).cloned().unwrap_or_default();
        let sample_id = index_at.map_or_else(|| position.to_string(), |i| get(Some(i)));
        let choices: Vec<String> =
            letters.iter().map(|&at| get(Some(at))).take_while(|c| !c.is_empty() && c != "nan").collect();
        let mut fields = task.def().scoring.fields.clone();
        for (field, at) in &field_columns {
            let value = get(Some(*at));
            if !value.is_empty() && value != "nan" {
                fields.insert(field.clone(), value);
            }
        }
        let mut breakdown = BTreeMap::new();
        if category_at.is_some() {
            breakdown.insert("category".to_string(), get(category_at));
        }
        out.push(Imported {
            sample_id,
            index: position,
            prompt: get(question_at),
            prediction: get(Some(prediction_at)),
            references: answer_at.map(|at| text_references(&get(Some(at)))).unwrap_or_default(),
            context: ScoringContext { choices, fields },
            breakdown,
        });
    }
    Ok(out)
}
