//! The one error type of this crate; every message names the file, task, sample or key to fix.

use std::path::PathBuf;

/// What went wrong while loading a task, preparing a sample or looking up a name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// A task definition is malformed: bad TOML, a missing or unknown key, an invalid value.
    #[error("task config {origin}: {message}")]
    Config {
        /// The file the definition came from (or a description of an embedded one).
        origin: String,
        /// One line saying what to fix, naming the key as `section.key`.
        message: String,
    },
    /// A task definition file could not be read.
    #[error("task config {}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A task, suite, metric, profile or extraction step name is not known.
    #[error("unknown {kind} `{name}`{} (known: {})", suggestion_text(.suggestion), .known.join(", "))]
    UnknownName {
        /// What kind of name it is: `task`, `suite`, `metric`...
        kind: &'static str,
        /// The name as given.
        name: String,
        /// The nearest known name, when one is close.
        suggestion: Option<String>,
        /// Every known name of this kind.
        known: Vec<String>,
    },
    /// A suite exists but cannot be run yet.
    #[error("suite `{name}` is not yet available: {reason}")]
    SuiteUnavailable {
        /// The suite.
        name: String,
        /// Why, and what to run instead.
        reason: String,
    },
    /// A data-set row cannot be turned into a request: a missing column, a null image...
    #[error("task `{task}`, sample {index}{}: {message}", id_text(.id))]
    Sample {
        /// The task.
        task: String,
        /// The sample's position in the data.
        index: usize,
        /// The sample's id, once it is known.
        id: Option<String>,
        /// What is wrong, naming the column.
        message: String,
    },
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
}

fn id_text(id: &Option<String>) -> String {
    id.as_ref().map(|id| format!(" (id `{id}`)")).unwrap_or_default()
}

impl TaskError {
    /// An [`TaskError::UnknownName`] with a suggestion drawn from `known`.
    pub(crate) fn unknown<'a>(kind: &'static str, name: &str, known: impl IntoIterator<Item = &'a str>) -> Self {
        let known: Vec<String> = known.into_iter().map(str::to_string).collect();
        TaskError::UnknownName {
            kind,
            name: name.to_string(),
            suggestion: smolbench_core::did_you_mean(name, known.iter().map(String::as_str)).map(str::to_string),
            known,
        }
    }
}
