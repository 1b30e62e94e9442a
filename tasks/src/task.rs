//! A runnable task: a validated [`TaskDef`] with its metric, extraction steps and template
//! resolved, turning data-set rows into requests and generations into scores.

use std::collections::BTreeMap;

use smolbench_core::{EncodedImage, ExtractionStep, GenerationRequest, ScoringContext};
use smolbench_datasets::{Cell, Row};

use crate::error::TaskError;
use crate::extract::{extractor, run_pipeline, Extractor};
use crate::metrics::{metric, Metric, MetricProfile};
use crate::taskdef::TaskDef;
use crate::template::Template;

/// One data-set row made ready for a runner.
#[derive(Debug, Clone)]
pub struct PreparedSample {
    /// The sample's id (the data set's id column, as text).
    pub id: String,
    /// The prompt, images and token budget.
    pub request: GenerationRequest,
    /// Reference answers; empty where the split has no gold (e.g. a test split).
    pub references: Vec<String>,
    /// Choices and fields the metric reads.
    pub context: ScoringContext,
    /// Categories of the sample, by breakdown name.
    pub breakdown: BTreeMap<String, String>,
}

/// A scored generation and how its scored string was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The string the metric saw.
    pub extracted: String,
    /// Each extraction step's output, in order.
    pub trace: Vec<ExtractionStep>,
    /// The metric's score for this sample.
    pub score: f64,
}

/// A task ready to prepare samples and score generations.
#[derive(Debug, Clone)]
pub struct Task {
    def: TaskDef,
    metric: &'static Metric,
    steps: Vec<&'static Extractor>,
    template: Template,
    profile: MetricProfile,
}

impl Task {
    /// Resolves a definition's names; fails where [`TaskDef::from_toml_str`] would.
    pub fn new(def: TaskDef) -> Result<Task, TaskError> {
        let config = |message: String| TaskError::Config { origin: format!("task `{}`", def.name), message };
        def.validate().map_err(config)?;
        let metric = metric(&def.scoring.metric).map_err(|e| config(e.to_string()))?;
        let steps = def
            .scoring
            .extraction
            .iter()
            .map(|name| extractor(name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| config(e.to_string()))?;
        let template = Template::parse(&def.prompt.template).map_err(config)?;
        Ok(Task { profile: def.scoring.profile, def, metric, steps, template })
    }

    /// The same task scored with another profile (the definition itself is unchanged, so the
    /// records still show the task's own profile in its config).
    pub fn with_profile(mut self, profile: MetricProfile) -> Task {
        self.profile = profile;
        self
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// The definition's version.
    pub fn version(&self) -> u32 {
        self.def.version
    }

    /// The definition this task was built from.
    pub fn def(&self) -> &TaskDef {
        &self.def
    }

    /// The metric that scores this task.
    pub fn metric(&self) -> &'static Metric {
        self.metric
    }

    /// The profile scores are computed with.
    pub fn profile(&self) -> MetricProfile {
        self.profile
    }

    /// Every column [`Task::build_sample`] reads: id, question, answers, images, then any other
    /// template placeholder; no duplicates.
    pub fn columns(&self) -> Vec<String> {
        let c = &self.def.columns;
        let mut out: Vec<String> = Vec::new();
        let named = [&c.id, &c.question, &c.answers].into_iter().chain(&c.images).map(String::as_str);
        for name in named.chain(self.template.placeholders()) {
            if !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
        }
        out
    }

    /// Turns row `index` of the data into a request and its references.
    pub fn build_sample(&self, row: &Row, index: usize) -> Result<PreparedSample, TaskError> {
        let cols = &self.def.columns;
        let fail = |id: Option<&str>, message: String| TaskError::Sample {
            task: self.def.name.clone(),
            index,
            id: id.map(str::to_string),
            message,
        };
        let id = match row.get(&cols.id) {
            None => return Err(fail(None, missing(&cols.id, "id"))),
            Some(cell) => cell.as_text().ok_or_else(|| {
                fail(None, format!("id column `{}` holds {}, not text or a number", cols.id, kind(cell)))
            })?,
        };
        let fail = |message: String| fail(Some(&id), message);

        let prompt = self.template.render(|name| match row.get(name) {
            None => Err(fail(missing(name, "prompt"))),
            Some(cell) => {
                cell.as_text().ok_or_else(|| fail(format!("prompt column `{name}` holds {}, not text", kind(cell))))
            }
        })?;

        let mut images = Vec::with_capacity(cols.images.len());
        for name in &cols.images {
            let bytes = match row.get(name) {
                None => return Err(fail(missing(name, "image"))),
                Some(Cell::Image(img)) if !img.bytes.is_empty() => img.bytes.clone(),
                Some(Cell::Image(img)) => {
                    return Err(fail(format!(
                        "image column `{name}` has no bytes (path {:?}); only embedded images are supported",
                        img.path
                    )))
                }
                Some(Cell::Bytes(bytes)) if !bytes.is_empty() => bytes.clone(),
                Some(Cell::Bytes(_)) => return Err(fail(format!("image column `{name}` is empty"))),
                Some(Cell::Null) => return Err(fail(format!("image column `{name}` is null"))),
                Some(other) => return Err(fail(format!("image column `{name}` holds {}, not an image", kind(other)))),
            };
            images.push(EncodedImage { bytes });
        }

        let references = match row.get(&cols.answers) {
            None => return Err(fail(missing(&cols.answers, "answers"))),
            Some(Cell::Null) => Vec::new(),
            Some(cell) => cell.as_text_list().ok_or_else(|| {
                fail(format!("answers column `{}` holds {}, not text or a list of text", cols.answers, kind(cell)))
            })?,
        };

        Ok(PreparedSample {
            id,
            request: GenerationRequest { prompt, images, max_new_tokens: self.def.generation.max_new_tokens },
            references,
            context: ScoringContext::default(),
            breakdown: BTreeMap::new(),
        })
    }

    /// Extracts the answer from a raw generation and scores it against the references.
    pub fn score(&self, prediction: &str, references: &[String], context: &ScoringContext) -> Scored {
        let (extracted, trace) = run_pipeline(&self.steps, prediction);
        let score = self.metric.score(&extracted, references, context, self.profile);
        Scored { extracted, trace, score }
    }
}

fn missing(column: &str, role: &str) -> String {
    format!("{role} column `{column}` is missing from the row")
}

/// A short description of a cell's type, for error messages.
fn kind(cell: &Cell) -> &'static str {
    match cell {
        Cell::Null => "null",
        Cell::Bool(_) => "a boolean",
        Cell::Int(_) => "an integer",
        Cell::Float(_) => "a float",
        Cell::Text(_) => "text",
        Cell::Bytes(_) => "bytes",
        Cell::List(_) => "a list",
        Cell::Image(_) => "an image",
        Cell::Struct(_) => "a struct",
    }
}
