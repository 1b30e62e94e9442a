//! What a benchmark is: data columns, prompt, answer extraction and metric.
//!
//! Tasks are data, as in lm-evaluation-harness: each one is a `task.toml` under `tasks/defs/`,
//! embedded in the binary, or in a folder loaded at run time ([`TaskRegistry::with_include_paths`]);
//! a definition may `include` another and state only its differences. Four types carry the crate:
//!
//! - [`TaskDef`]: a parsed, validated `task.toml`: data set, [`ColumnsDef`] (id, question,
//!   answers and their [`AnswerFormat`], images, options, scoring-context fields, breakdown
//!   categories), one prompt per reference framework ([`PromptDef`]: `[prompt.lmms-eval]`,
//!   `[prompt.vlmevalkit-smolvlm]`), token budget, scoring. Unknown keys and unknown names are
//!   errors that name the file and key.
//! - [`Task`]: a definition with its names and one prompt profile resolved
//!   ([`Task::with_prompt_profile`]). [`Task::build_sample`] turns a data-set
//!   [`Row`](smolbench_datasets::Row) into a [`PreparedSample`] (a
//!   [`GenerationRequest`](smolbench_core::GenerationRequest), references, the
//!   [`ScoringContext`](smolbench_core::ScoringContext) and breakdown categories), and
//!   [`Task::score`] turns a raw generation into a [`Scored`] answer with its extraction trace.
//! - [`Metric`]: a per-sample metric from the registry ([`metric`]), computed under a
//!   [`MetricProfile`] that says which reference implementation (official script, lmms-eval,
//!   VLMEvalKit) the number reproduces. Each metric is checked against the reference vectors in
//!   `shared/data/metric-vectors/`, row by row.
//! - The registry of tasks, suites and groups: [`TaskRegistry`] ([`builtin_task`], [`suite`] for
//!   the built-in ones). Each task names its suites (`suites = ["image"]`) and group; suite
//!   `image` is the nine image benchmarks of the SmolVLM paper.
//!
//! Where a reference asks an LLM judge (MathVista's answer extraction, VLMEvalKit's option
//! matching), [`judge`] writes the prompt and reads the reply; the harness sends it.
//!
//! Python-semantics helpers ([`pycompat`]) keep metrics exact where Rust's string and float
//! routines differ from Python's.
//!
//! ```
//! use smolbench_tasks::{builtin_task, MetricProfile};
//!
//! let task = builtin_task("docvqa")?;
//! let gold = vec!["Coca Cola".to_string(), "Coca Cola Company".to_string()];
//! let scored = task.score("  CocaCola \n", &gold, &Default::default());
//! assert_eq!(scored.extracted, "CocaCola");
//! assert_eq!(scored.trace[0].step, "strip");
//! assert!((scored.score - 8.0 / 9.0).abs() < 1e-12);
//!
//! // The same generation as VLMEvalKit would score it, with no strip before the metric.
//! let vlm = smolbench_tasks::metric("anls")?.score("  CocaCola \n", &gold, &Default::default(), MetricProfile::VlmEvalKit);
//! assert!((vlm - 11.0 / 12.0).abs() < 1e-12);
//! # Ok::<(), smolbench_tasks::TaskError>(())
//! ```
#![deny(missing_docs)]

mod columnsdef;
mod error;
mod extract;
mod include;
pub mod judge;
pub mod metrics;
mod prompt;
mod promptdef;
pub mod pycompat;
mod pyliteral;
pub use pyliteral::parse_py_str_list;
mod registry;
mod rowread;
pub mod run_order;
mod task;
mod taskdef;
mod template;
pub mod video_prompt;
mod videodef;

pub use error::TaskError;
pub use extract::{extractor, run_pipeline, Extractor, EXTRACTORS};
pub use judge::{JudgeAsk, JudgeRule, Judged};
pub use metrics::{metric, Aggregation, Metric, MetricProfile, METRICS};
pub use registry::{builtin_task, builtin_task_names, suite, suite_names, TaskEntry, TaskRegistry};
pub use task::{PreparedSample, Scored, Task, VideoFiles};
pub use taskdef::{
    AnswerFormat, BreakdownDef, ColumnsDef, DatasetDef, DerivedBreakdown, GenerationDef, PathTemplates, PromptCaseDef,
    PromptDef, PromptProfileDef, ReplaceDef, ScoringDef, TaskDef, VideoDef, VideoLayout, WindowDef, PROMPT_PROFILES,
};
