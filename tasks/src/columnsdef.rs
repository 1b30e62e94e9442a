//! `[columns]` of a `task.toml`: which columns of the data set hold the id, question, answers,
//! images, options, scoring-context fields and breakdown categories.
//!
//! Wherever a column is named, `column.field` names a field of a struct column (MathVista's
//! `metadata.category`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[columns]`: the roles of the data set's columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ColumnsDef {
    /// The sample id column (text or integer); absent where the data set has none (ChartQA,
    /// AI2D, OCRBench), and the id is then the row's index in the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The question column.
    pub question: String,
    /// The reference answers (a list of strings, or one string or integer).
    pub answers: String,
    /// How the answers column encodes the gold answer; references are always text.
    #[serde(default, skip_serializing_if = "AnswerFormat::is_text")]
    pub answer_format: AnswerFormat,
    /// Image columns that every row has, in the order the images precede the prompt.
    #[serde(default)]
    pub images: Vec<String>,
    /// Image columns that may be null (MMMU's `image_1`..`image_7`); null ones are skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional_images: Vec<String>,
    /// As lmms-eval's MMMU: send only the optional images that the question and options refer
    /// to as `<image N>` (the N-th of `optional-images`), each once, in order of N.
    #[serde(default, skip_serializing_if = "is_false")]
    pub images_by_reference: bool,
    /// The answer options: a list of strings, or a string holding a Python list literal (MMMU's
    /// `options`); null means no options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<String>,
    /// The options are embedded at the end of the question after this marker, as
    /// `A: ..., B: ..., ...` (MMStar's `"\nOptions: "`); `{stem}` is the text before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices_in_question: Option<String>,
    /// Scoring-context field name to the column it is read from (OCRBench's `dataset`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// Categories recorded with each sample, for per-category scores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<BreakdownDef>,
}

/// How the answers column encodes the gold answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerFormat {
    /// The answers are the references as they are.
    #[default]
    Text,
    /// The answer is an option letter (`A`..`Z`), checked against the options.
    Letter,
    /// The answer is a 0-based option index (an integer, or its text), turned into a letter.
    Index,
    /// As `text`, but an answer that is a Python list literal of strings (`"['$MgS$', 'MgS']"`,
    /// as MMMU stores some open answers) becomes its items, as the official answer file lists
    /// them.
    TextOrList,
    /// The answer is the text of the correct option (MVBench), turned into its letter.
    ChoiceText,
}

impl AnswerFormat {
    fn is_text(&self) -> bool {
        *self == AnswerFormat::Text
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// One `breakdown` entry: a column (`"subfield"`, recorded under its own name) or a named
/// category `{ name = "subject", column = "id", pattern = '^[^_]+_(.+)_\d+$' }` (the first capture
/// group of `pattern` on the column's text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BreakdownDef {
    /// The column's value, under the column's name.
    Column(String),
    /// A named category taken from a column, optionally through a regex.
    Derived(DerivedBreakdown),
}

/// A named breakdown category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DerivedBreakdown {
    /// The breakdown's name in records.
    pub name: String,
    /// The column (or `column.field`) read.
    pub column: String,
    /// A regex with a capture group; the first group's match is the category. Absent: the whole
    /// value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl BreakdownDef {
    /// The name the category is recorded under.
    pub fn name(&self) -> &str {
        match self {
            BreakdownDef::Column(column) => column,
            BreakdownDef::Derived(d) => &d.name,
        }
    }

    /// The column read.
    pub fn column(&self) -> &str {
        match self {
            BreakdownDef::Column(column) => column,
            BreakdownDef::Derived(d) => &d.column,
        }
    }

    /// The compiled pattern, if any.
    pub(crate) fn regex(&self) -> Result<Option<regex::Regex>, String> {
        match self {
            BreakdownDef::Derived(DerivedBreakdown { pattern: Some(p), .. }) => {
                let re = regex::Regex::new(p).map_err(|e| one_line(&e.to_string()))?;
                if re.captures_len() < 2 {
                    return Err(format!("pattern `{p}` has no capture group"));
                }
                Ok(Some(re))
            }
            _ => Ok(None),
        }
    }
}

impl ColumnsDef {
    /// Checks names, and that breakdown names and patterns are usable; `has_video` says the
    /// task reads a video, so it needs no image column.
    pub(crate) fn validate(&self, has_video: bool) -> Result<(), String> {
        if let Some(id) = &self.id {
            check_path(id).map_err(|e| format!("key `columns.id`: {e}"))?;
        }
        for (key, value) in [("columns.question", &self.question), ("columns.answers", &self.answers)] {
            check_path(value).map_err(|e| format!("key `{key}`: {e}"))?;
        }
        for (key, list) in [("columns.images", &self.images), ("columns.optional-images", &self.optional_images)] {
            if let Some(bad) = list.iter().find(|c| c.trim().is_empty() || c.contains('.')) {
                return Err(format!("key `{key}`: `{bad}` is not a column name"));
            }
        }
        if self.images.is_empty() && self.optional_images.is_empty() && !has_video {
            return Err(
                "key `columns.images`: name at least one image column (or `columns.optional-images`, or a `[video]`)"
                    .into(),
            );
        }
        if self.images_by_reference && self.optional_images.is_empty() {
            return Err("key `columns.images-by-reference` needs `columns.optional-images`".into());
        }
        if self.choices.is_some() && self.choices_in_question.is_some() {
            return Err("keys `columns.choices` and `columns.choices-in-question` exclude each other".into());
        }
        if let Some(column) = &self.choices {
            check_path(column).map_err(|e| format!("key `columns.choices`: {e}"))?;
        }
        if self.choices_in_question.as_ref().is_some_and(|m| m.is_empty()) {
            return Err("key `columns.choices-in-question` must not be empty".into());
        }
        if self.answer_format == AnswerFormat::Letter && self.choices.is_none() && self.choices_in_question.is_none() {
            return Err("key `columns.answer-format`: `letter` needs options (`columns.choices`)".into());
        }
        if self.answer_format == AnswerFormat::Index && self.choices.is_none() {
            return Err("key `columns.answer-format`: `index` needs `columns.choices`".into());
        }
        for (field, column) in &self.fields {
            if field.trim().is_empty() {
                return Err("key `columns.fields`: field names must not be empty".into());
            }
            check_path(column).map_err(|e| format!("key `columns.fields.{field}`: {e}"))?;
        }
        let mut names: Vec<&str> = Vec::new();
        for entry in &self.breakdown {
            let name = entry.name();
            if name.trim().is_empty() || names.contains(&name) {
                return Err(format!("key `columns.breakdown`: name `{name}` is empty or repeated"));
            }
            names.push(name);
            check_path(entry.column()).map_err(|e| format!("key `columns.breakdown` (`{name}`): {e}"))?;
            entry.regex().map_err(|e| format!("key `columns.breakdown` (`{name}`): {e}"))?;
        }
        Ok(())
    }

    /// Every column (top-level name) these roles read, in role order, without duplicates.
    pub(crate) fn read_columns(&self) -> Vec<String> {
        let mut paths: Vec<&str> = self.id.iter().map(String::as_str).collect();
        paths.extend([self.question.as_str(), self.answers.as_str()]);
        paths.extend(self.images.iter().chain(&self.optional_images).map(String::as_str));
        paths.extend(self.choices.as_deref());
        paths.extend(self.fields.values().map(String::as_str));
        paths.extend(self.breakdown.iter().map(BreakdownDef::column));
        let mut out = Vec::new();
        for path in paths {
            push_root(&mut out, path);
        }
        out
    }
}

/// Adds the top-level column of `path` to `out` unless it is there.
pub(crate) fn push_root(out: &mut Vec<String>, path: &str) {
    let root = path.split('.').next().unwrap_or(path);
    if !out.iter().any(|c| c == root) {
        out.push(root.to_string());
    }
}

/// A column or `column.field` path: non-empty parts.
fn check_path(path: &str) -> Result<(), String> {
    if path.trim().is_empty() || path.split('.').any(|p| p.trim().is_empty()) {
        return Err(format!("`{path}` is not a column name (or `column.field`)"));
    }
    Ok(())
}

fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}
