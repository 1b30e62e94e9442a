//! `task.toml`: the declarative definition of a task, as written in `tasks/defs/<name>/`.
//!
//! A definition names the data (Hugging Face repo, config, split), the columns to read
//! ([`ColumnsDef`]), one prompt per reference framework ([`PromptDef`]), the token budget and how
//! to score (extraction steps, metric, profile). Keys
//! are kebab-case; unknown keys are errors, so a typo never silently changes a benchmark.
//! Loading validates names and placeholders and reports problems as one line naming the file and
//! the key, e.g. ``task config defs/x/task.toml: missing key `scoring.metric` ``.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::columnsdef::{AnswerFormat, BreakdownDef, ColumnsDef, DerivedBreakdown};
use crate::error::TaskError;
use crate::extract::extractor;
use crate::include::{resolve, Files};
pub use crate::judge::JudgeRule;
use crate::metrics::{metric, AggregationRule, MetricProfile};
pub use crate::promptdef::{PromptCaseDef, PromptDef, PromptProfileDef, ReplaceDef, VideoLayout, PROMPT_PROFILES};
pub use crate::videodef::{PathTemplates, VideoDef, WindowDef};

/// A whole task definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TaskDef {
    /// The task's name, e.g. `docvqa` (lower-case letters, digits, `-` and `_`).
    pub name: String,
    /// Bumped whenever the prompt, extraction or metric changes; stored in every record.
    pub version: u32,
    /// One line for listings.
    pub description: String,
    /// The suites this task belongs to (`bench run --suite NAME`), e.g. `["image"]`. Suites are
    /// made of the tasks naming them: there is no other list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suites: Vec<String>,
    /// Where the task comes in listings and suites (lower first; the built-in tasks follow the
    /// SmolVLM paper's tables); tasks without one come after, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
    /// The benchmark this task is one part of (MVBench's 20 configs: `mvbench`): a run reports
    /// the group's score, the size-weighted mean of its tasks' scores, under this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Where the data comes from.
    pub dataset: DatasetDef,
    /// Which columns hold what.
    pub columns: ColumnsDef,
    /// For video tasks: where each row's video is and how its frames are sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoDef>,
    /// How a row becomes a prompt.
    pub prompt: PromptDef,
    /// Generation settings.
    pub generation: GenerationDef,
    /// How a generation is scored.
    pub scoring: ScoringDef,
}

/// `[dataset]`: a split of a Hugging Face data set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DatasetDef {
    /// The repo id, e.g. `lmms-lab/DocVQA`.
    pub repo_id: String,
    /// The config (subset) name; `default` where the data set has only one.
    pub config: String,
    /// The split, e.g. `validation`.
    pub split: String,
    /// The data files the repository's card declares for this config and split (`data_files`),
    /// relative to the repository root, e.g. MVBench's `json/action_sequence.json`. Read when
    /// all are present; otherwise the usual parquet layouts (a Hub parquet conversion) are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_files: Vec<String>,
    /// A commit or tag to pin; absent means the default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Rows in the full split, where known: a local copy with fewer is partial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
}

/// `[generation]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GenerationDef {
    /// The most tokens the model may generate (greedy decoding always).
    pub max_new_tokens: usize,
}

/// `[scoring]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScoringDef {
    /// A metric name from the registry, e.g. `anls`.
    pub metric: String,
    /// Extraction step names, applied in order to the raw generation.
    pub extraction: Vec<String>,
    /// Which reference implementation the score reproduces (unless the prompt profile in use
    /// names its own `metric-profile`).
    pub profile: MetricProfile,
    /// How sample scores combine into the task's number (`mean` unless the benchmark's
    /// reference does otherwise: `videomme`, `mlvu-dev`, `mvbench`).
    #[serde(default, skip_serializing_if = "is_mean")]
    pub aggregation: AggregationRule,
    /// Constant scoring-context fields, e.g. `{ extractor = "ai2d" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The LLM judge the reference asks where its rules cannot read an answer (used only when a
    /// run names a judge endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeRule>,
    /// The column the judge prompt quotes as the question (MathVista: `query`); absent: the
    /// question without its options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_question: Option<String>,
}

fn is_mean(rule: &AggregationRule) -> bool {
    *rule == AggregationRule::Mean
}

impl TaskDef {
    /// Parses and validates a definition; `origin` (a path, usually) names it in errors.
    /// Without a file to resolve it against, an `include` key is an error ([`TaskDef::from_file`]
    /// resolves it).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<TaskDef, TaskError> {
        let config = |message: String| TaskError::Config { origin: origin.to_string(), message };
        let table: toml::Table = toml::from_str(text).map_err(|e| config(syntax_message(text, &e)))?;
        if table.contains_key("include") {
            return Err(config("key `include`: only a definition read from a file can include another".into()));
        }
        TaskDef::from_table(table, origin)
    }

    /// Turns a parsed table (its `include` already resolved) into a validated definition.
    pub(crate) fn from_table(table: toml::Table, origin: &str) -> Result<TaskDef, TaskError> {
        let config = |message: String| TaskError::Config { origin: origin.to_string(), message };
        let def: TaskDef =
            toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| config(schema_message(&e)))?;
        def.validate().map_err(config)?;
        Ok(def)
    }

    /// Reads, parses and validates a definition file, resolving its `include` (see
    /// [`crate::include`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<TaskDef, TaskError> {
        let path = path.as_ref().display().to_string();
        TaskDef::from_table(resolve(Files::Disk, &path)?, &path)
    }

    /// A definition embedded from `tasks/defs/` (`path` relative to it), `include` resolved.
    pub(crate) fn from_builtin(path: &str) -> Result<TaskDef, TaskError> {
        TaskDef::from_table(resolve(Files::Builtin, path)?, &crate::include::origin(Files::Builtin, path))
    }

    /// The definition as JSON (kebab-case keys), for `run.json`'s task record.
    pub fn to_json(&self) -> serde_json::Value {
        // A struct of strings, integers and lists always serialises.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Checks everything serde cannot: names, ranges, the template, registry names.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !name_ok {
            return Err(format!(
                "key `name`: `{}` must be non-empty lower-case letters, digits, `-` or `_`",
                self.name
            ));
        }
        let name_like = |s: &str| {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        };
        if let Some(group) = &self.group {
            if !name_like(group) || *group == self.name {
                return Err(format!(
                    "key `group`: `{group}` must be lower-case letters, digits, `-` or `_`, and not the task's own name"
                ));
            }
        }
        for suite in &self.suites {
            if !name_like(suite) || *suite == self.name {
                return Err(format!(
                    "key `suites`: `{suite}` must be lower-case letters, digits, `-` or `_`, and not the task's own name"
                ));
            }
        }
        for (key, value) in [
            ("dataset.repo-id", &self.dataset.repo_id),
            ("dataset.config", &self.dataset.config),
            ("dataset.split", &self.dataset.split),
        ] {
            if value.trim().is_empty() {
                return Err(format!("key `{key}` must not be empty"));
            }
        }
        self.columns.validate(self.video.is_some())?;
        if let Some(video) = &self.video {
            video.validate()?;
        }
        if self.generation.max_new_tokens == 0 {
            return Err("key `generation.max-new-tokens` must be at least 1".into());
        }
        self.prompt.validate(&self.columns, self.video.is_some())?;
        if self.scoring.judge_question.is_some() && self.scoring.judge.is_none() {
            return Err("key `scoring.judge-question` needs `scoring.judge`".into());
        }
        if self.scoring.fields.keys().any(|k| self.columns.fields.contains_key(k)) {
            return Err("key `scoring.fields`: a field is also read from a column (`columns.fields`)".into());
        }
        metric(&self.scoring.metric).map_err(|e| format!("key `scoring.metric`: {e}"))?;
        for step in &self.scoring.extraction {
            extractor(step).map_err(|e| format!("key `scoring.extraction`: {e}"))?;
        }
        Ok(())
    }
}

/// One line for a TOML syntax error: the position and toml's message.
pub(crate) fn syntax_message(text: &str, err: &toml::de::Error) -> String {
    let message = one_line(err.message());
    match err.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("invalid TOML at line {line}, column {column}: {message}")
        }
        None => format!("invalid TOML: {message}"),
    }
}

/// One line for a schema error, naming the key as `section.key`.
///
/// Deserialising from a `toml::Value` leaves no spans, so toml's message ends with a line
/// ``in `section` `` (or ``in `section.key` ``) naming where the error happened.
fn schema_message(err: &toml::de::Error) -> String {
    let full = err.to_string();
    let mut lines = full.lines().filter(|l| !l.trim().is_empty());
    let message = lines.next().unwrap_or("").trim().to_string();
    let path = lines.find_map(|l| l.trim().strip_prefix("in `")?.strip_suffix('`')).unwrap_or("");
    let qualify = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some((key, _)) = rest.split_once('`') {
            return format!("missing key `{}`", qualify(key));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((key, expected)) = rest.split_once('`') {
            let expected = expected.trim_start_matches(',').trim();
            return format!("unknown key `{}` ({expected})", qualify(key));
        }
    }
    if path.is_empty() {
        message
    } else {
        format!("key `{path}`: {message}")
    }
}

/// Joins a possibly multi-line message into one line.
fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}
