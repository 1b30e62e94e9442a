//! MMMU's random fallback replayed over a whole run with one generator, in the official order.

use smolbench_core::{SampleRecord, SampleStatus, ScoringContext};
use smolbench_tasks::metrics::{score_mmmu_responses, MmmuResponse};
use smolbench_tasks::run_order::{rescore_in_run_order, RUN_ORDER_STEP};
use smolbench_tasks::{builtin_task, MetricProfile};

fn record(task: &smolbench_tasks::Task, index: usize, id: &str, response: &str, gold: &str) -> SampleRecord {
    let context = ScoringContext {
        choices: vec!["yes".into(), "no".into()],
        fields: [("question_type".to_string(), "multiple-choice".to_string())].into(),
    };
    let references = vec![gold.to_string()];
    let scored = task.score(response, &references, &context);
    SampleRecord {
        task: task.name().into(),
        sample_id: id.into(),
        index,
        status: SampleStatus::Ok,
        references,
        context,
        prediction: Some(response.into()),
        extracted: Some(scored.extracted),
        extraction_trace: scored.trace,
        metric: "mmmu".into(),
        score: Some(scored.score),
        ..Default::default()
    }
}

#[test]
fn a_runs_fallbacks_are_drawn_from_one_generator_in_the_official_order() {
    let task = builtin_task("mmmu").unwrap().with_profile(MetricProfile::Official);
    // File order: Art before Accounting and Agriculture; the official script parses subjects in
    // CAT_SHORT2LONG order (Accounting, Agriculture, ..., Art). CPython: random.seed(42);
    // [random.choice('AB') for _ in range(3)] == ['A', 'A', 'B'].
    let mut records = vec![
        record(&task, 0, "validation_Art_1", "?", "B"),
        record(&task, 1, "validation_Accounting_1", "?", "A"),
        record(&task, 2, "validation_Agriculture_1", "?", "A"),
        record(&task, 3, "validation_Art_2", "(B)", "B"),
    ];
    // Per sample, every fallback is the generator's first draw, 'A': Art_1 looks wrong.
    assert_eq!(records.iter().map(|r| r.score.unwrap()).collect::<Vec<_>>(), [0.0, 1.0, 1.0, 1.0]);

    let outcome = rescore_in_run_order(&task, &mut records);
    assert_eq!(outcome.fallbacks, 3);
    assert_eq!(outcome.changed, 1);
    assert_eq!(records.iter().map(|r| r.score.unwrap()).collect::<Vec<_>>(), [1.0, 1.0, 1.0, 1.0]);
    let drawn: Vec<&str> = records
        .iter()
        .map(|r| r.extraction_trace.iter().find(|s| s.step == RUN_ORDER_STEP).map_or("-", |s| s.output.as_str()))
        .collect();
    assert_eq!(drawn, ["B", "A", "A", "-"]);

    // The same figure as the whole-run scorer on the same responses.
    let responses: Vec<MmmuResponse> = records
        .iter()
        .map(|r| MmmuResponse {
            id: r.sample_id.clone(),
            open: false,
            response: r.prediction.clone().unwrap(),
            options: r.context.choices.clone(),
            golds: r.references.clone(),
        })
        .collect();
    let report = score_mmmu_responses(&responses, MetricProfile::Official);
    assert_eq!(report.overall.correct as f64, records.iter().map(|r| r.score.unwrap()).sum::<f64>());

    // Idempotent: a second pass draws the same letters and changes nothing.
    assert_eq!(rescore_in_run_order(&task, &mut records).changed, 0);

    // VLMEvalKit draws nothing: nothing to replay.
    let vlm = builtin_task("mmmu").unwrap().with_profile(MetricProfile::VlmEvalKit);
    assert_eq!(rescore_in_run_order(&vlm, &mut records).fallbacks, 0);
}
