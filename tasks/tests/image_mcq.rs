//! The multiple-choice image tasks (AI2D, ScienceQA-IMG, MMStar) on hand-made rows in their
//! Hugging Face schemas: exact prompts under both profiles, letter references, options, the
//! extractor field and breakdowns.

mod common;

use common::*;
use smolbench_datasets::Cell;
use smolbench_tasks::builtin_task;

const LMMS_MCQ: &str = "Answer with the option's letter from the given choices directly.";

fn ai2d_row(answer: &str) -> smolbench_datasets::Row {
    row(&[
        ("question", text("Which label shows the sun?")),
        ("options", texts(&["leaf", "sun", "root", "stem"])),
        ("answer", text(answer)),
        ("image", image("diagram")),
    ])
}

#[test]
fn ai2d_both_profiles() {
    let lmms = build("ai2d", LMMS, &ai2d_row("1"), 5);
    assert_eq!(lmms.id, "5");
    assert_eq!(
        lmms.request.prompt,
        format!("Which label shows the sun?\nA. leaf\nB. sun\nC. root\nD. stem\n{LMMS_MCQ}")
    );
    assert_eq!(lmms.request.max_new_tokens, 16);
    assert_eq!(lmms.references, strings(&["B"]), "index 1 is letter B");
    assert_eq!(lmms.context.choices, strings(&["leaf", "sun", "root", "stem"]));
    assert_eq!(rule_fields(&lmms.context.fields), map(&[("extractor", "ai2d")]));
    assert_eq!(lmms.context.fields["judge_question"], "Which label shows the sun?", "what a judge is shown");
    assert_eq!(lmms.request.assistant_prefix, None);
    let vlm = build("ai2d", VLM, &ai2d_row("1"), 5);
    assert_eq!(
        vlm.request.prompt,
        "Question: Which label shows the sun?\nChoices:\nA. leaf\nB. sun\nC. root\nD. stem\nAnswer with the letter."
    );
    assert_eq!(vlm.request.assistant_prefix.as_deref(), Some(" Answer:"));
    assert_eq!(vlm.request.max_new_tokens, 2048);
    assert_eq!(vlm.references, lmms.references);
    // Scored with lmms-eval's AI2D rule: "B. sun" is B, "The answer is B" is not.
    let task = builtin_task("ai2d").expect("built in");
    assert_eq!(task.score("B. sun", &lmms.references, &lmms.context).score, 1.0);
    assert_eq!(task.score("The answer is B", &lmms.references, &lmms.context).score, 0.0);
}

#[test]
fn ai2d_bad_answers_are_errors() {
    let err = build_error("ai2d", &ai2d_row("4"));
    assert!(err.contains("out of range for 4 options"), "{err}");
    let err = build_error("ai2d", &ai2d_row("B"));
    assert!(err.contains("not an option index"), "{err}");
}

fn scienceqa_row(hint: &str) -> smolbench_datasets::Row {
    row(&[
        ("image", image("food web")),
        ("question", text("Which animal eats grass?")),
        ("choices", texts(&["hawk", "snake", "rabbit"])),
        ("answer", Cell::Int(2)),
        ("hint", text(hint)),
        ("task", text("closed choice")),
        ("grade", text("grade4")),
        ("subject", text("natural science")),
        ("topic", text("biology")),
        ("category", text("Ecological interactions")),
        ("skill", text("Interpret food webs")),
        ("lecture", text("A food web is a model.")),
        ("solution", text("Rabbits eat grass.")),
    ])
}

#[test]
fn scienceqa_both_profiles_with_and_without_hint() {
    let options = "A. hawk\nB. snake\nC. rabbit";
    let with_hint = scienceqa_row("The diagram shows a food web.");
    let lmms = build("scienceqa", LMMS, &with_hint, 0);
    assert_eq!(
        lmms.request.prompt,
        format!("Context: The diagram shows a food web.\nWhich animal eats grass?\n{options}\n{LMMS_MCQ}")
    );
    assert_eq!(lmms.references, strings(&["C"]));
    assert_eq!(lmms.context.choices, strings(&["hawk", "snake", "rabbit"]));
    assert_eq!(rule_fields(&lmms.context.fields), map(&[("extractor", "scienceqa")]));
    assert_eq!(lmms.breakdown, map(&[("subject", "natural science"), ("grade", "grade4")]));
    let no_hint = build("scienceqa", LMMS, &scienceqa_row(""), 0);
    assert_eq!(no_hint.request.prompt, format!("Which animal eats grass?\n{options}\n{LMMS_MCQ}"));

    let vlm = build("scienceqa", VLM, &with_hint, 0);
    assert_eq!(
        vlm.request.prompt,
        format!(
            "Hint: The diagram shows a food web.\nQuestion: Which animal eats grass?\nChoices:\n{options}\nAnswer \
             with the letter."
        )
    );
    assert_eq!(vlm.request.assistant_prefix.as_deref(), Some(" Answer:"));
    let no_hint = build("scienceqa", VLM, &scienceqa_row(""), 0);
    assert_eq!(
        no_hint.request.prompt,
        format!("Question: Which animal eats grass?\nChoices:\n{options}\nAnswer with the letter.")
    );
    // A null hint is no hint.
    let mut null_hint = scienceqa_row("");
    null_hint.insert("hint".into(), Cell::Null);
    assert_eq!(build("scienceqa", VLM, &null_hint, 0).request.prompt, no_hint.request.prompt);
}

fn mmstar_row(question: &str, answer: &str) -> smolbench_datasets::Row {
    row(&[
        ("index", Cell::Int(7)),
        ("question", text(question)),
        ("image", image("shapes")),
        ("answer", text(answer)),
        ("category", text("fine-grained perception")),
        ("l2_category", text("object counting")),
        ("meta_info", record(&[("source", text("SEEDBench")), ("split", text("val")), ("image_path", text("7.jpg"))])),
    ])
}

#[test]
fn mmstar_both_profiles() {
    let question = "How many circles are there?\nOptions: A: 2, B: 3, C: four, or more, D: 5";
    let lmms = build("mmstar", LMMS, &mmstar_row(question, "C"), 0);
    assert_eq!(lmms.id, "7");
    assert_eq!(
        lmms.request.prompt,
        format!("{question}\nAnswer with the option's letter from the given choices directly"),
        "no final period"
    );
    assert_eq!(lmms.request.max_new_tokens, 1024);
    assert_eq!(lmms.references, strings(&["C"]));
    assert_eq!(lmms.context.choices, strings(&["2", "3", "four, or more", "5"]));
    assert_eq!(rule_fields(&lmms.context.fields), map(&[("extractor", "mmstar")]));
    assert_eq!(lmms.breakdown, map(&[("category", "fine-grained perception"), ("l2_category", "object counting")]));
    let vlm = build("mmstar", VLM, &mmstar_row(question, "C"), 0);
    assert_eq!(
        vlm.request.prompt,
        "Question: How many circles are there?\nChoices:\nA. 2\nB. 3\nC. four, or more\nD. 5\nAnswer with the letter."
    );
    assert_eq!(vlm.request.assistant_prefix.as_deref(), Some(" Answer:"));
}

#[test]
fn mmstar_lmms_removes_the_yes_no_instruction_after_stripping() {
    let question = "  Is the cup red? Please answer yes or no.\nOptions: A: yes, B: no\n";
    let lmms = build("mmstar", LMMS, &mmstar_row(question, "A"), 0);
    assert_eq!(
        lmms.request.prompt,
        "Is the cup red?\nOptions: A: yes, B: no\nAnswer with the option's letter from the given choices directly"
    );
    assert_eq!(lmms.context.choices, strings(&["yes", "no"]));
}

#[test]
fn mmstar_bad_rows_are_errors() {
    let err = build_error("mmstar", &mmstar_row("How many circles are there?", "A"));
    assert!(err.contains("no embedded options"), "{err}");
    let err = build_error("mmstar", &mmstar_row("Q?\nOptions: A: 1, B: 2", "C"));
    assert!(err.contains("out of range for 2 options"), "{err}");
    let err = build_error("mmstar", &mmstar_row("Q?\nOptions: A: 1, B: 2", "b"));
    assert!(err.contains("not an option letter"), "{err}");
}
