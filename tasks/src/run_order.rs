//! Scores that depend on the order of a whole run.
//!
//! MMMU's reference parsers fall back to `random.choice` when no rule finds a letter, drawing
//! from one generator for the whole run: seeded `random.seed(42)` at import by the official
//! `eval_utils.py`, `random.seed(0)` at start-up by the lmms-eval CLI (benchmarks.md §0.4, §7.3).
//! The per-sample metric cannot know how many draws came before a sample, so once a task's
//! samples are all recorded, [`rescore_in_run_order`] replays the draws with one generator:
//! subjects in the official `CAT_SHORT2LONG` order and items in file order, as
//! `main_parse_and_eval.py` does. That reproduces the official numbers bit for bit. lmms-eval's
//! draw order follows its batching, which is not reproducible outside the exact run; the same
//! file order is used for it and the records say so.

use smolbench_core::{ExtractionStep, SampleRecord, SampleStatus};

use crate::metrics::mmmu::{is_open, option_letters};
use crate::metrics::{mmmu_seed, mmmu_subject, parse_multi_choice, MetricProfile, MmmuParser, PyRandom, MMMU_SUBJECTS};
use crate::Task;

/// The extraction step added to a record whose letter was drawn by the run's generator.
pub const RUN_ORDER_STEP: &str = "mmmu_random_fallback_run_order";

/// What [`rescore_in_run_order`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunOrderOutcome {
    /// Samples whose letter was drawn at random.
    pub fallbacks: usize,
    /// Samples whose score changed from the per-sample score.
    pub changed: usize,
}

/// Re-scores `records` (all of one task's records, any order) where the task's metric draws from
/// a run-wide generator; other tasks are left alone. Returns what changed.
pub fn rescore_in_run_order(task: &Task, records: &mut [SampleRecord]) -> RunOrderOutcome {
    let profile = task.profile();
    let parser = match (task.metric().name, profile) {
        ("mmmu", MetricProfile::Official) => MmmuParser::Official,
        ("mmmu", MetricProfile::LmmsEval) => MmmuParser::LmmsEval,
        _ => return RunOrderOutcome::default(),
    };
    let rank = |id: &str| {
        let subject = mmmu_subject(id);
        MMMU_SUBJECTS.iter().position(|s| *s == subject).unwrap_or(MMMU_SUBJECTS.len())
    };
    let mut order: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].task == task.name() && records[i].status == SampleStatus::Ok)
        .collect();
    order.sort_by_key(|&i| (rank(&records[i].sample_id), records[i].index));
    let mut rng = PyRandom::new(mmmu_seed(profile));
    let mut outcome = RunOrderOutcome::default();
    for i in order {
        let record = &mut records[i];
        let open = match record.context.fields.get("question_type") {
            Some(t) => is_open(t),
            None => record.context.choices.is_empty(),
        };
        let Some(extracted) = record.extracted.clone() else { continue };
        // An LLM judge's answer stands in for the rules (and their draw), as in the reference.
        if open || record.judge.as_ref().is_some_and(|j| j.used) {
            continue;
        }
        let letters = option_letters(record.context.choices.len());
        let parsed = parse_multi_choice(&extracted, &letters, &record.context.choices, parser, &mut rng);
        if !parsed.random_fallback {
            continue;
        }
        outcome.fallbacks += 1;
        let score = if record.references.contains(&parsed.letter) { 1.0 } else { 0.0 };
        record.extraction_trace.retain(|s| s.step != RUN_ORDER_STEP);
        record.extraction_trace.push(ExtractionStep { step: RUN_ORDER_STEP.to_string(), output: parsed.letter });
        if record.score != Some(score) {
            outcome.changed += 1;
            record.score = Some(score);
        }
    }
    outcome
}
