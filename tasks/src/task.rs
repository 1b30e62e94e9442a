//! A runnable task: a validated [`TaskDef`] with its metric, extraction steps and one prompt
//! profile resolved, turning data-set rows into requests (with references, scoring context and
//! breakdown categories) and generations into scores.

use std::collections::BTreeMap;

use smolbench_core::{EncodedImage, ExtractionStep, GenerationRequest, ScoringContext};
use smolbench_datasets::Row;

use crate::columnsdef::push_root;
use crate::error::TaskError;
use crate::extract::{extractor, run_pipeline, Extractor};
use crate::metrics::{metric, Metric, MetricProfile};
use crate::prompt::{CompiledPrompt, RenderInput};
use crate::promptdef::PROMPT_PROFILES;
use crate::rowread::{
    self, choices_from_cell, image_bytes, kind, lookup, referenced_images, split_embedded_choices, text_at,
};
use crate::taskdef::TaskDef;

/// One data-set row made ready for a runner.
#[derive(Debug, Clone)]
pub struct PreparedSample {
    /// The sample's id: the data set's id column as text, or the row index where it has none.
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
    prompt: CompiledPrompt,
    breakdown: Vec<(String, String, Option<regex::Regex>)>,
    /// Set by [`Task::with_profile`]; otherwise the prompt's or the definition's profile.
    metric_override: Option<MetricProfile>,
}

impl Task {
    /// Resolves a definition's names with its default prompt profile; fails where
    /// [`TaskDef::from_toml_str`] would.
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
        let prompt = compile_prompt(&def, &def.prompt.default).map_err(config)?;
        let mut breakdown = Vec::new();
        for entry in &def.columns.breakdown {
            let regex = entry.regex().map_err(config)?;
            breakdown.push((entry.name().to_string(), entry.column().to_string(), regex));
        }
        Ok(Task { def, metric, steps, prompt, breakdown, metric_override: None })
    }

    /// The same task with prompt profile `name` (e.g. `vlmevalkit-smolvlm`). The definition's
    /// `prompt.default` becomes `name`, so the task's recorded config names the prompt sent.
    pub fn with_prompt_profile(mut self, name: &str) -> Result<Task, TaskError> {
        if !PROMPT_PROFILES.contains(&name) {
            return Err(TaskError::unknown("prompt profile", name, PROMPT_PROFILES));
        }
        let origin = format!("task `{}`", self.def.name);
        self.prompt = compile_prompt(&self.def, name).map_err(|message| TaskError::Config { origin, message })?;
        self.def.prompt.default = self.prompt.name.to_string();
        Ok(self)
    }

    /// The same task scored with another metric profile, whatever the prompt profile says (the
    /// definition itself is unchanged, so the records still show the task's own profile).
    pub fn with_profile(mut self, profile: MetricProfile) -> Task {
        self.metric_override = Some(profile);
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

    /// The metric profile scores are computed with: [`Task::with_profile`]'s, else the prompt
    /// profile's `metric-profile`, else `scoring.profile`.
    pub fn profile(&self) -> MetricProfile {
        self.metric_override.or(self.prompt.metric_profile).unwrap_or(self.def.scoring.profile)
    }

    /// The prompt profile in use.
    pub fn prompt_profile(&self) -> &'static str {
        self.prompt.name
    }

    /// The prompt profiles this task defines.
    pub fn prompt_profiles(&self) -> Vec<&'static str> {
        self.def.prompt.profiles().into_iter().map(|(name, _)| name).collect()
    }

    /// The token budget of the prompt profile in use.
    pub fn max_new_tokens(&self) -> usize {
        self.prompt.max_new_tokens.unwrap_or(self.def.generation.max_new_tokens)
    }

    /// Every column [`Task::build_sample`] reads (top-level names): id, question, answers,
    /// images, options, fields, breakdown, then the prompt's other columns; no duplicates.
    pub fn columns(&self) -> Vec<String> {
        let mut out = self.def.columns.read_columns();
        for path in self.prompt.column_paths() {
            push_root(&mut out, path);
        }
        out
    }

    /// Turns row `index` of the data into a request, its references, scoring context and
    /// breakdown categories.
    pub fn build_sample(&self, row: &Row, index: usize) -> Result<PreparedSample, TaskError> {
        let cols = &self.def.columns;
        let fail = |id: Option<&str>, message: String| TaskError::Sample {
            task: self.def.name.clone(),
            index,
            id: id.map(str::to_string),
            message,
        };
        let id = match &cols.id {
            None => index.to_string(),
            Some(column) => match row.get(column) {
                None => return Err(fail(None, format!("id column `{column}` is missing from the row"))),
                Some(cell) => cell.as_text().ok_or_else(|| {
                    fail(None, format!("id column `{column}` holds {}, not text or a number", kind(cell)))
                })?,
            },
        };
        self.sample_parts(row, id.clone()).map_err(|message| fail(Some(&id), message))
    }

    fn sample_parts(&self, row: &Row, id: String) -> Result<PreparedSample, String> {
        let cols = &self.def.columns;
        let column = |path: &str| text_at(row, path, "prompt");
        let question = match text_at(row, &cols.question, "question")? {
            Some(q) => q,
            None => return Err(format!("question column `{}` is null", cols.question)),
        };
        let (stem, choices) = match (&cols.choices, &cols.choices_in_question) {
            (Some(path), _) => (None, choices_from_cell(lookup(row, path, "choices")?, path)?),
            (None, Some(marker)) => {
                let (stem, choices) = split_embedded_choices(&question, marker)
                    .map_err(|e| format!("question column `{}`: {e}", cols.question))?;
                (Some(stem), choices)
            }
            (None, None) => (None, Vec::new()),
        };
        let input = RenderInput { question: &question, stem: stem.as_deref(), choices: &choices };
        let (prompt, assistant_prefix) = self.prompt.render(&input, &column)?;

        let mut images = Vec::new();
        for name in &cols.images {
            match image_bytes(lookup(row, name, "image")?, name)? {
                Some(bytes) => images.push(EncodedImage { bytes }),
                None => return Err(format!("image column `{name}` is null")),
            }
        }
        let wanted: Vec<usize> = if cols.images_by_reference {
            referenced_images(std::iter::once(question.as_str()).chain(choices.iter().map(String::as_str)))
        } else {
            Vec::new()
        };
        if wanted.is_empty() {
            for name in &cols.optional_images {
                images.extend(image_bytes(lookup(row, name, "image")?, name)?.map(|bytes| EncodedImage { bytes }));
            }
        } else {
            for n in wanted {
                let name = cols.optional_images.get(n.wrapping_sub(1)).ok_or_else(|| {
                    format!(
                        "the prompt refers to `<image {n}>` but only {} image columns exist",
                        cols.optional_images.len()
                    )
                })?;
                let bytes = image_bytes(lookup(row, name, "image")?, name)?
                    .ok_or_else(|| format!("the prompt refers to `<image {n}>` but image column `{name}` is null"))?;
                images.push(EncodedImage { bytes });
            }
        }
        if images.is_empty() {
            return Err("the row has no image (every image column is null)".into());
        }

        let answers = lookup(row, &cols.answers, "answers")?;
        let references = rowread::references(answers, &cols.answers, cols.answer_format, choices.len())?;

        let mut fields = self.def.scoring.fields.clone();
        for (field, path) in &cols.fields {
            if let Some(value) = text_at(row, path, "field")? {
                fields.insert(field.clone(), value);
            }
        }
        let mut breakdown = BTreeMap::new();
        for (name, path, regex) in &self.breakdown {
            let Some(value) = text_at(row, path, "breakdown")? else { continue };
            let value = match regex {
                None => value,
                Some(re) => re
                    .captures(&value)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_string())
                    .ok_or_else(|| format!("breakdown `{name}`: `{value}` in `{path}` does not match `{re}`"))?,
            };
            breakdown.insert(name.clone(), value);
        }

        Ok(PreparedSample {
            id,
            request: GenerationRequest { prompt, images, max_new_tokens: self.max_new_tokens(), assistant_prefix },
            references,
            context: ScoringContext { choices, fields },
            breakdown,
        })
    }

    /// Extracts the answer from a raw generation and scores it against the references.
    pub fn score(&self, prediction: &str, references: &[String], context: &ScoringContext) -> Scored {
        let (extracted, trace) = run_pipeline(&self.steps, prediction);
        let score = self.metric.score(&extracted, references, context, self.profile());
        Scored { extracted, trace, score }
    }
}

/// Compiles prompt profile `name` of `def`, or says which profiles the file defines.
fn compile_prompt(def: &TaskDef, name: &str) -> Result<CompiledPrompt, String> {
    match def.prompt.profile(name) {
        Some((name, profile)) => CompiledPrompt::new(name, profile),
        None => {
            let defined: Vec<&str> = def.prompt.profiles().into_iter().map(|(n, _)| n).collect();
            Err(format!("prompt profile `{name}` is not defined for this task (defined: {})", defined.join(", ")))
        }
    }
}
