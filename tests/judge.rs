//! The optional LLM judge, end to end: `bench serve` of the tiny model as the judge of a tiny-model
//! run, the prompts the references use, the cache that keeps `bench rescore` from asking twice,
//! and a failing judge that fails only its samples' judgements.

mod support;

use serde_json::Value;
use smolbench_core::{RunManifest, SampleRecord, SampleStatus};
use smolbench_tasks::judge::{mathvista_extraction_prompt, vlmevalkit_mcq_prompt, JUDGE_QUESTION_FIELD};
use support::{http_get, read_records, stderr, Misbehaving, Misbehaviour, Sandbox};

fn manifest(dir: &std::path::Path) -> RunManifest {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

/// Chat requests the server has answered so far.
fn served(url: &str) -> u64 {
    let (status, body) = http_get(&format!("{url}/v1/metrics"));
    assert_eq!(status, 200, "{body}");
    let metrics: Value = serde_json::from_str(&body).unwrap();
    metrics["requests"]["served"].as_u64().unwrap()
}

fn judged(records: &[SampleRecord]) -> Vec<&SampleRecord> {
    records.iter().filter(|r| r.judge.is_some()).collect()
}

#[test]
fn a_served_judge_is_asked_where_the_rules_fail_and_rescoring_reuses_its_replies() {
    let sb = Sandbox::new();
    let judge = sb.serve_tiny();
    let run_dir = sb.path("run");
    let mut args = vec!["run", "--model", "tiny", "--limit", "6", "--prompt-profile", "vlmevalkit-smolvlm"];
    args.extend(["--task", "mmstar", "--task", "ai2d", "--task", "mathvista", "--task", "docvqa"]);
    args.extend(["--judge-endpoint", &judge.url, "--judge-model", "tiny", "--out", run_dir.to_str().unwrap()]);
    let out = sb.bench(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("with LLM judge `tiny`"), "{}", stderr(&out));
    let m = manifest(&run_dir);
    assert_eq!(m.scoring, "rules+judge");
    assert_eq!(m.judge.as_ref().map(|j| j.model.as_str()), Some("tiny"));

    let records = read_records(&run_dir);
    assert_eq!(records.len(), 24);
    let asked = judged(&records);
    // The tiny model's random text is rarely an option: most multiple-choice answers go to the judge.
    assert!(asked.len() >= 6, "{} judged", asked.len());
    assert!(asked.iter().all(|r| r.task != "docvqa"), "DocVQA's reference asks no judge");
    for r in &asked {
        let j = r.judge.as_ref().unwrap();
        assert_eq!(r.status, SampleStatus::Ok);
        assert_eq!(j.model, "tiny");
        assert!(!j.cached && j.error.is_none(), "{j:?}");
        assert!(j.reply.is_some(), "the judge answered");
        // What the judge was shown: the prediction after the task's extraction steps.
        let extracted = r.extraction_trace[r.extraction_trace.len() - 2].output.clone();
        let question = &r.context.fields[JUDGE_QUESTION_FIELD];
        let expected = match r.task.as_str() {
            "mathvista" => mathvista_extraction_prompt(question, &extracted),
            _ => vlmevalkit_mcq_prompt(question, &r.context.choices, &extracted),
        };
        assert_eq!(j.prompt, expected, "{}", r.task);
        let step = r.extraction_trace.last().unwrap();
        assert!(step.step.starts_with("judge:"), "{:?}", r.extraction_trace);
        if j.used {
            assert_eq!(r.extracted.as_deref(), Some(step.output.as_str()));
        }
    }
    // MathVista's prompt opens with the official examples and quotes the problem's query.
    if let Some(r) = asked.iter().find(|r| r.task == "mathvista") {
        let prompt = &r.judge.as_ref().unwrap().prompt;
        assert!(
            prompt.starts_with("Please read the following example. Then extract the answer from the model response")
        );
        assert!(prompt.contains(&r.context.fields[JUDGE_QUESTION_FIELD]));
    }
    // One cache line per distinct prompt asked.
    let cache = std::fs::read_to_string(run_dir.join("judge-cache.jsonl")).unwrap();
    let mut prompts: Vec<&str> = asked.iter().map(|r| r.judge.as_ref().unwrap().prompt.as_str()).collect();
    prompts.sort_unstable();
    prompts.dedup();
    assert_eq!(cache.lines().count(), prompts.len());

    // Rescoring with the judge asks the server nothing new: every reply comes from the cache,
    // and the scores are the run's.
    let before = served(&judge.url);
    let out =
        sb.bench(&["rescore", run_dir.to_str().unwrap(), "--judge-endpoint", &judge.url, "--judge-model", "tiny"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(served(&judge.url), before, "rescoring asked the judge again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("judge: 0 asked, {} from the cache, 0 failed", asked.len())), "{stdout}");
    let rescored: Vec<SampleRecord> = std::fs::read_to_string(run_dir.join("samples.stored-profile+judge.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &rescored {
        let original = records.iter().find(|o| o.task == r.task && o.index == r.index).unwrap();
        assert_eq!(r.score, original.score, "{} {}", r.task, r.index);
        assert_eq!(
            r.judge.as_ref().map(|j| (&j.prompt, &j.reply)),
            original.judge.as_ref().map(|j| (&j.prompt, &j.reply))
        );
        assert!(r.judge.as_ref().is_none_or(|j| j.cached));
    }

    // Without a judge, rescoring is rule-based and says so.
    let out = sb.bench(&["rescore", run_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("scoring: rule-based (no LLM judge)"), "{}", stderr(&out));

    // A judge that fails (a proxy's 502 every time, another model so nothing is cached) fails
    // only the judgements: each sample keeps its rule-based score and records why.
    let broken = Misbehaving::start(Misbehaviour::HtmlBadGateway);
    let out = sb.bench(&["rescore", run_dir.to_str().unwrap(), "--judge-endpoint", &broken.url, "--judge-model", "m"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("judge: 0 asked, 0 from the cache, {} failed", asked.len())), "{stdout}");
    let failed: Vec<SampleRecord> = std::fs::read_to_string(run_dir.join("samples.stored-profile+judge.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in failed.iter().filter(|r| r.judge.is_some()) {
        let j = r.judge.as_ref().unwrap();
        assert_eq!((j.model.as_str(), j.reply.as_ref(), j.used), ("m", None, false));
        assert!(!j.error.as_deref().unwrap().is_empty(), "{:?}", j.error);
        assert!(r.extraction_trace.iter().all(|s| !s.step.starts_with("judge:")));
        assert!(r.score.is_some());
    }
    assert!(broken.chat_requests.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[test]
fn a_judge_that_does_not_answer_at_all_is_a_clear_error() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = sb.bench(&[
        "run",
        "--task",
        "ai2d",
        "--model",
        "tiny",
        "--limit",
        "1",
        "--judge-endpoint",
        "http://127.0.0.1:9",
        "--judge-model",
        "x",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("the judge at http://127.0.0.1:9 does not answer"), "{err}");
    let out = sb.bench(&["run", "--task", "ai2d", "--model", "tiny", "--judge-endpoint", "http://127.0.0.1:9"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--judge-model"), "{}", stderr(&out));
}
