//! Integration tests of smolbench-tasks: task files, samples, scoring and the registry.

use smolbench_datasets::{Cell, ImageCell, Row};
use smolbench_tasks::{builtin_task, builtin_task_names, suite, MetricProfile, Task, TaskDef, TaskError};

const DOCVQA_TOML: &str = include_str!("../defs/docvqa/task.toml");

/// The DocVQA definition with `key = ...` lines for `key` removed.
fn docvqa_without(key: &str) -> String {
    DOCVQA_TOML.lines().filter(|l| !l.starts_with(&format!("{key} ="))).collect::<Vec<_>>().join("\n")
}

fn config_error(text: &str) -> String {
    match TaskDef::from_toml_str(text, "/path/x.toml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

// Task files: parsing, validation and the shape of errors.
mod taskdef {
    use super::*;

    #[test]
    fn docvqa_definition_has_the_lmms_eval_settings() {
        let def = TaskDef::from_toml_str(DOCVQA_TOML, "docvqa").expect("parses");
        assert_eq!(def.name, "docvqa");
        assert_eq!(def.dataset.repo_id, "lmms-lab/DocVQA");
        assert_eq!(def.dataset.config, "DocVQA");
        assert_eq!(def.dataset.split, "validation");
        assert_eq!(def.dataset.revision, None);
        assert_eq!(def.columns.images, vec!["image"]);
        assert_eq!(def.prompt.default, "lmms-eval");
        let lmms = def.prompt.lmms_eval.as_ref().expect("lmms-eval profile");
        assert_eq!(lmms.template, "{question}\nAnswer the question using a single word or phrase.");
        assert_eq!(lmms.max_new_tokens, None);
        let vlm = def.prompt.vlmevalkit_smolvlm.as_ref().expect("vlmevalkit-smolvlm profile");
        assert_eq!(vlm.max_new_tokens, Some(2048));
        assert_eq!(vlm.metric_profile, Some(MetricProfile::VlmEvalKit));
        assert_eq!(def.generation.max_new_tokens, 32);
        assert_eq!(def.scoring.metric, "anls");
        assert_eq!(def.scoring.extraction, vec!["strip"]);
        assert_eq!(def.scoring.profile, MetricProfile::Official);
        let json = def.to_json();
        assert_eq!(json["dataset"]["repo-id"], "lmms-lab/DocVQA");
        assert_eq!(json["scoring"]["profile"], "official");
        assert_eq!(json["prompt"]["default"], "lmms-eval");
        assert!(json["prompt"]["lmms-eval"]["template"].is_string());
        assert!(json["dataset"].get("revision").is_none());
        assert!(json["columns"].get("choices").is_none());
    }

    #[test]
    fn missing_key_names_the_key_and_the_file() {
        let err = config_error(&docvqa_without("metric"));
        assert_eq!(err, "task config /path/x.toml: missing key `scoring.metric`");
        let err = config_error(&docvqa_without("version"));
        assert_eq!(err, "task config /path/x.toml: missing key `version`");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn unknown_key_is_rejected() {
        let text = DOCVQA_TOML.replace("max-new-tokens = 32", "max-new-tokens = 32\ntemperature = 0");
        let err = config_error(&text);
        assert!(err.starts_with("task config /path/x.toml: unknown key `generation.temperature`"), "{err}");
        // `include` needs a file to resolve it against (TaskDef::from_file, the registry).
        let text = format!("include = \"other.toml\"\n{DOCVQA_TOML}");
        let err = config_error(&text);
        assert!(err.contains("key `include`: only a definition read from a file"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let text = DOCVQA_TOML.replace("max-new-tokens = 32", "max-new-tokens = \"32\"");
        let err = config_error(&text);
        assert!(err.contains("key `generation.max-new-tokens`"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn syntax_error_gives_line_and_column() {
        let err = config_error("name = \"docvqa\"\nversion = = 1\n");
        assert!(err.starts_with("task config /path/x.toml: invalid TOML at line 2"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn unknown_names_are_rejected_with_suggestions() {
        let err = config_error(&DOCVQA_TOML.replace("metric = \"anls\"", "metric = \"anl\""));
        assert!(err.contains("key `scoring.metric`"), "{err}");
        assert!(err.contains("did you mean `anls`?"), "{err}");
        let err = config_error(&DOCVQA_TOML.replace("[\"strip\"]", "[\"strp\"]"));
        assert!(err.contains("key `scoring.extraction`"), "{err}");
        assert!(err.contains("did you mean `strip`?"), "{err}");
        let err = config_error(&DOCVQA_TOML.replace("\"official\"", "\"lmms\""));
        assert!(err.contains("key `scoring.profile`"), "{err}");
    }

    #[test]
    fn bad_placeholders_are_rejected() {
        let swap = |template: &str| {
            DOCVQA_TOML.replace(
                "template = \"{question}\\nAnswer the question using a single word or phrase.\"",
                &format!("template = \"{template}\""),
            )
        };
        assert!(config_error(&swap("{question")).contains("unclosed `{`"));
        assert!(config_error(&swap("{}")).contains("empty placeholder"));
        assert!(config_error(&swap("{answers}")).contains("leak"));
        assert!(config_error(&swap("{image}")).contains("image column"));
        // The swap itself must have happened for these checks to mean anything.
        assert_ne!(swap("{x}"), DOCVQA_TOML);
    }

    #[test]
    fn video_layouts_are_checked() {
        // A video layout on an image task, `{frames}` without the layout that places it, and the
        // layout without `{frames}` are errors naming the key.
        let laid_out =
            DOCVQA_TOML.replace("metric-profile = ", "video-layout = \"vlmevalkit-smolvlm2\"\nmetric-profile = ");
        assert_ne!(laid_out, DOCVQA_TOML);
        let err = config_error(&laid_out);
        assert!(err.contains("key `prompt.vlmevalkit-smolvlm.video-layout` is for video tasks"), "{err}");
        let videomme = include_str!("../defs/videomme/task.toml");
        let err = config_error(&videomme.replace("Question: {question}", "{frames}Question: {question}"));
        assert!(err.contains("placeholder `{frames}` needs `video-layout = \"vlmevalkit-default\"`"), "{err}");
        let worldsense = include_str!("../defs/worldsense/task.toml");
        let err = config_error(&worldsense.replace("{frames}", ""));
        assert!(err.contains("key `prompt.vlmevalkit-smolvlm.template`: `video-layout"), "{err}");
        // The unchanged files load.
        TaskDef::from_toml_str(videomme, "videomme").expect("videomme");
        TaskDef::from_toml_str(worldsense, "worldsense").expect("worldsense");
    }

    #[test]
    fn from_file_names_the_path() {
        let dir = std::env::temp_dir().join(format!("smolbench-tasks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("task.toml");
        std::fs::write(&path, docvqa_without("split")).expect("write");
        let err = TaskDef::from_file(&path).expect_err("split is missing").to_string();
        assert_eq!(err, format!("task config {}: missing key `dataset.split`", path.display()));
        let missing = dir.join("absent.toml");
        let err = TaskDef::from_file(&missing).expect_err("no file");
        assert!(matches!(err, TaskError::Read { .. }), "{err}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}

// Turning rows into requests.
mod samples {
    use super::*;

    fn row() -> Row {
        let mut row = Row::new();
        row.insert("questionId".into(), Cell::Text("57349".into()));
        row.insert("question".into(), Cell::Text("What is the total?".into()));
        row.insert("answers".into(), Cell::List(vec![Cell::Text("$12".into()), Cell::Text("12".into())]));
        row.insert("image".into(), Cell::Image(ImageCell { bytes: vec![0x89, b'P', b'N', b'G'], path: None }));
        row.insert("docId".into(), Cell::Int(4));
        row
    }

    fn docvqa() -> Task {
        builtin_task("docvqa").expect("built in")
    }

    #[test]
    fn builds_request_from_row() {
        let sample = docvqa().build_sample(&row(), 7).expect("builds");
        assert_eq!(sample.id, "57349");
        assert_eq!(sample.request.prompt, "What is the total?\nAnswer the question using a single word or phrase.");
        assert_eq!(sample.request.images.len(), 1);
        assert_eq!(sample.request.images[0].bytes, vec![0x89, b'P', b'N', b'G']);
        assert_eq!(sample.request.max_new_tokens, 32);
        assert_eq!(sample.references, vec!["$12", "12"]);
    }

    #[test]
    fn columns_lists_what_is_read() {
        assert_eq!(docvqa().columns(), vec!["questionId", "question", "answers", "image"]);
    }

    #[test]
    fn numeric_id_and_null_answers_are_accepted() {
        let mut row = row();
        row.insert("questionId".into(), Cell::Int(12));
        row.insert("answers".into(), Cell::Null);
        let sample = docvqa().build_sample(&row, 0).expect("builds");
        assert_eq!(sample.id, "12");
        assert!(sample.references.is_empty());
    }

    #[test]
    fn null_image_names_task_sample_and_column() {
        let mut row = row();
        row.insert("image".into(), Cell::Null);
        let err = docvqa().build_sample(&row, 3).expect_err("null image").to_string();
        assert_eq!(err, "task `docvqa`, sample 3 (id `57349`): image column `image` is null");
    }

    #[test]
    fn missing_columns_are_errors() {
        for column in ["image", "question", "answers", "questionId"] {
            let mut row = row();
            row.remove(column);
            let err = docvqa().build_sample(&row, 1).expect_err("missing column").to_string();
            assert!(err.starts_with("task `docvqa`, sample 1"), "{err}");
            assert!(err.contains(&format!("`{column}` is missing")), "{err}");
        }
    }

    #[test]
    fn path_only_image_is_an_error() {
        let mut row = row();
        row.insert("image".into(), Cell::Image(ImageCell { bytes: vec![], path: Some("a.png".into()) }));
        let err = docvqa().build_sample(&row, 0).expect_err("no bytes").to_string();
        assert!(err.contains("has no bytes"), "{err}");
    }
}

// Scoring generations.
mod scoring {
    use super::*;

    #[test]
    fn trace_records_each_step() {
        let task = builtin_task("docvqa").expect("built in");
        let gold = vec!["Coca Cola".to_string()];
        let scored = task.score("\x1c Coca cola\n", &gold, &Default::default());
        assert_eq!(scored.extracted, "Coca cola");
        assert_eq!(scored.trace.len(), 1);
        assert_eq!(scored.trace[0].step, "strip");
        assert_eq!(scored.trace[0].output, "Coca cola");
        assert_eq!(scored.score, 1.0);
        assert_eq!(task.metric().name, "anls");
        assert!(task.metric().higher_is_better);
    }

    #[test]
    fn with_profile_rescores() {
        let task = builtin_task("docvqa").expect("built in");
        let gold = vec!["Coca Cola".to_string(), "Coca Cola Company".to_string()];
        assert_eq!(task.profile(), MetricProfile::Official);
        let official = task.score("CocaCola", &gold, &Default::default()).score;
        let vlm = task.clone().with_profile(MetricProfile::VlmEvalKit);
        assert_eq!(vlm.profile(), MetricProfile::VlmEvalKit);
        assert_eq!(vlm.def().scoring.profile, MetricProfile::Official);
        // The pipeline strips before the metric, so both profiles agree here.
        assert_eq!(vlm.score("CocaCola", &gold, &Default::default()).score, official);
    }
}

// Built-in tasks and suites.
mod registry {
    use super::*;

    #[test]
    fn image_suite_lists_the_nine_paper_benchmarks_in_order() {
        let expected = ["ocrbench", "ai2d", "chartqa", "textvqa", "docvqa", "scienceqa", "mmmu", "mathvista", "mmstar"];
        assert_eq!(suite("image").expect("exists"), expected);
        assert_eq!(builtin_task_names()[..9], expected);
        for name in suite("image").expect("exists") {
            builtin_task(name).expect("every suite task loads");
        }
    }

    #[test]
    fn video_suite_lists_video_mme_mlvu_and_the_mvbench_configs() {
        let tasks = suite("video").expect("available");
        assert_eq!(tasks[..3], ["videomme", "videomme_w_subtitle", "mlvu"]);
        assert_eq!(tasks.iter().filter(|t| t.starts_with("mvbench_")).count(), 20);
        for name in ["worldsense", "tempcompass_multi_choice", "tempcompass_yes_no", "tempcompass_caption_matching"] {
            assert!(tasks.contains(&name), "{name} is in the video suite");
        }
        for name in tasks {
            let task = builtin_task(name).expect("every suite task loads");
            assert!(task.def().video.is_some(), "{name} reads videos");
            // Every video task has VLMEvalKit's SmolVLM2 prompt too.
            assert!(task.prompt_profiles().contains(&"vlmevalkit-smolvlm"), "{name}");
        }
    }

    #[test]
    fn unknown_names_suggest_the_nearest() {
        let err = builtin_task("docvq").expect_err("unknown").to_string();
        assert!(err.contains("unknown task `docvq`; did you mean `docvqa`?"), "{err}");
        let err = suite("imgae").expect_err("unknown").to_string();
        assert!(err.contains("did you mean `image`?"), "{err}");
        let err = builtin_task("egoschema").expect_err("unknown").to_string();
        assert!(!err.contains("did you mean"), "{err}");
        assert!(err.contains("known: ocrbench, ai2d, chartqa"), "{err}");
    }
}
