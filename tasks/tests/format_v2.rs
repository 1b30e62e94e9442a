//! Task format v2: prompt profiles, options, answer formats, fields and breakdowns in `task.toml`,
//! their validation errors, and choosing a profile on a built task.

mod common;

use common::*;
use smolbench_datasets::Cell;
use smolbench_tasks::{
    builtin_task, builtin_task_names, AnswerFormat, BreakdownDef, TaskDef, TaskError, PROMPT_PROFILES,
};

/// A small multiple-choice definition; `extra_columns` and `extra_prompt` are appended to those
/// sections.
fn def_text(extra_columns: &str, lmms_template: &str, extra_prompt: &str) -> String {
    format!(
        r#"name = "toy"
version = 1
description = "toy"

[dataset]
repo-id = "org/toy"
config = "default"
split = "test"

[columns]
question = "question"
choices = "options"
answers = "answer"
answer-format = "index"
images = ["image"]
{extra_columns}

[prompt]
default = "lmms-eval"

[prompt.lmms-eval]
template = "{lmms_template}"
{extra_prompt}

[generation]
max-new-tokens = 8

[scoring]
metric = "mcq"
extraction = ["strip"]
profile = "lmms-eval"
"#
    )
}

fn parse(text: &str) -> Result<TaskDef, String> {
    TaskDef::from_toml_str(text, "toy.toml").map_err(|e| e.to_string())
}

fn error(text: &str) -> String {
    let err = parse(text).expect_err("should be rejected");
    assert!(err.starts_with("task config toy.toml: "), "{err}");
    assert!(!err.contains('\n'), "{err}");
    err
}

#[test]
fn every_builtin_task_parses_with_both_profiles() {
    assert_eq!(PROMPT_PROFILES, ["lmms-eval", "vlmevalkit-smolvlm"]);
    // Every task, image and video, has both (the video tasks' VLMEvalKit SmolVLM2 prompts).
    for name in builtin_task_names() {
        let task = builtin_task(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(task.prompt_profiles(), PROMPT_PROFILES, "{name}");
        assert_eq!(task.prompt_profile(), "lmms-eval", "{name}");
        let json = task.def().to_json();
        let back: TaskDef = serde_json::from_value(json).expect("the config JSON reads back");
        assert_eq!(&back, task.def(), "{name}");
    }
}

#[test]
fn minimal_definition_and_defaults() {
    let def = parse(&def_text("", "{question}\\n{choices}", "")).expect("parses");
    assert_eq!(def.columns.id, None);
    assert_eq!(def.columns.answer_format, AnswerFormat::Index);
    let profile = def.prompt.lmms_eval.as_ref().expect("defined");
    assert_eq!(profile.choice_format, "{letter}. {choice}");
    assert_eq!(profile.choice_separator, "\n");
    assert!(def.prompt.vlmevalkit_smolvlm.is_none());
    let json = def.to_json();
    assert_eq!(json["columns"]["answer-format"], "index");
    assert!(json["prompt"].get("vlmevalkit-smolvlm").is_none());
}

#[test]
fn custom_choice_format_and_separator() {
    let extra = "choice-format = \"({letter}) {choice}\"\nchoice-separator = \" \"";
    let def = parse(&def_text("", "{question} {choices}", extra)).expect("parses");
    let task = smolbench_tasks::Task::new(def).expect("task");
    let row = row(&[
        ("question", text("Q?")),
        ("options", texts(&["x", "y"])),
        ("answer", Cell::Int(1)),
        ("image", image("i")),
    ]);
    let sample = task.build_sample(&row, 0).expect("builds");
    assert_eq!(sample.request.prompt, "Q? (A) x (B) y");
    assert_eq!(sample.references, strings(&["B"]));
}

#[test]
fn prompt_errors_name_the_key() {
    let err = error(&def_text("", "{question}", "").replace("[prompt.lmms-eval]", "[prompt.lmms]"));
    assert!(err.contains("unknown key `prompt.lmms`"), "{err}");
    let err =
        error(&def_text("", "{question}", "").replace("default = \"lmms-eval\"", "default = \"vlmevalkit-smolvlm\""));
    assert!(err.contains("key `prompt.default`: profile `vlmevalkit-smolvlm` is not defined"), "{err}");
    let err = error(&def_text("", "{question|trim}", ""));
    assert!(err.contains("key `prompt.lmms-eval.template`: placeholder `{question|trim}`: unknown filter"), "{err}");
    let err = error(&def_text("", "{question} {stem}", ""));
    assert!(err.contains("`{stem}` needs `columns.choices-in-question`"), "{err}");
    let err = error(&def_text("", "{answer}", ""));
    assert!(err.contains("leak"), "{err}");
    let err = error(&def_text("", "{question}", "replace = [{ regex = \"(\", with = \"\" }]"));
    assert!(err.contains("key `prompt.lmms-eval.replace[0].regex`"), "{err}");
    let err = error(&def_text("", "{question}", "replace = [{ find = \"a\", regex = \"b\", with = \"\" }]"));
    assert!(err.contains("exactly one of"), "{err}");
    let err = error(&def_text("", "{question}", "optional = { choices = \"{choices}\" }"));
    assert!(err.contains("cannot be optional"), "{err}");
    let err = error(&def_text("", "{question}", "assistant-prefix-if = [\"A.\"]"));
    assert!(err.contains("needs `assistant-prefix`"), "{err}");
    let err = error(&def_text("", "{question}", "[[prompt.lmms-eval.cases]]\nwhen = {}\ntemplate = \"x\""));
    assert!(err.contains("key `prompt.lmms-eval.cases[0].when`"), "{err}");
    let err = error(&def_text("", "{question}", "max-new-tokens = 0"));
    assert!(err.contains("key `prompt.lmms-eval.max-new-tokens`"), "{err}");
}

#[test]
fn column_errors_name_the_key() {
    let no_choices = def_text("", "{question} {choices}", "").replace("choices = \"options\"\n", "");
    let err = error(&no_choices);
    assert!(err.contains("`index` needs `columns.choices`"), "{err}");
    let err =
        error(&def_text("answer-format = \"letters\"", "{question}", "").replace("answer-format = \"index\"\n", ""));
    assert!(err.contains("key `columns.answer-format`"), "{err}");
    let err = error(&def_text("breakdown = [{ name = \"s\", column = \"id\", pattern = \"^x$\" }]", "{question}", ""));
    assert!(err.contains("no capture group"), "{err}");
    let err = error(&def_text("breakdown = [\"a\", \"a\"]", "{question}", ""));
    assert!(err.contains("repeated"), "{err}");
    let err = error(&def_text("choices-in-question = \"\\nOptions: \"", "{question}", ""));
    assert!(err.contains("exclude each other"), "{err}");
    let err = error(&def_text("images-by-reference = true", "{question}", ""));
    assert!(err.contains("needs `columns.optional-images`"), "{err}");
    let err = error(
        &def_text("fields = { extractor = \"x\" }", "{question}", "")
            .replace("profile = \"lmms-eval\"", "profile = \"lmms-eval\"\nfields = { extractor = \"ai2d\" }"),
    );
    assert!(err.contains("key `scoring.fields`"), "{err}");
}

#[test]
fn breakdown_entries_are_columns_or_derived() {
    let def = builtin_task("mmmu").expect("built in").def().clone();
    let names: Vec<&str> = def.columns.breakdown.iter().map(BreakdownDef::name).collect();
    assert_eq!(names, vec!["subject", "subfield"]);
    assert!(matches!(&def.columns.breakdown[1], BreakdownDef::Column(c) if c == "subfield"));
    assert_eq!(def.columns.breakdown[0].column(), "id");
}

#[test]
fn choosing_a_prompt_profile() {
    let task = builtin_task("ai2d").expect("built in");
    let err = task.clone().with_prompt_profile("lmms-evl").expect_err("unknown").to_string();
    assert!(err.contains("unknown prompt profile `lmms-evl`; did you mean `lmms-eval`?"), "{err}");
    assert!(err.contains("(known: lmms-eval, vlmevalkit-smolvlm)"), "{err}");
    let chosen = task.with_prompt_profile("vlmevalkit-smolvlm").expect("defined");
    assert_eq!(chosen.prompt_profile(), "vlmevalkit-smolvlm");
    assert_eq!(chosen.max_new_tokens(), 2048);
    assert_eq!(chosen.def().prompt.default, "vlmevalkit-smolvlm");
    assert_eq!(chosen.def().to_json()["prompt"]["default"], "vlmevalkit-smolvlm");

    let only_lmms = smolbench_tasks::Task::new(parse(&def_text("", "{question}", "")).expect("parses")).expect("task");
    let err = only_lmms.with_prompt_profile("vlmevalkit-smolvlm").expect_err("not defined");
    assert!(matches!(err, TaskError::Config { .. }), "{err}");
    assert!(err.to_string().contains("not defined for this task (defined: lmms-eval)"), "{err}");
}
