//! MMMU and MathVista on hand-made rows in their Hugging Face schemas: options as a Python list
//! literal, null `image_k`, images chosen by `<image N>`, prompt cases by question and answer type,
//! and struct-field breakdowns.

mod common;

use common::*;
use smolbench_datasets::{Cell, Row};
use smolbench_tasks::builtin_task;

fn mmmu_row(id: &str, question: &str, options: &str, answer: &str, kind: &str, images: &[Option<&str>]) -> Row {
    let mut r = row(&[
        ("id", text(id)),
        ("question", text(question)),
        ("options", text(options)),
        ("explanation", text("")),
        ("img_type", text("['Paintings']")),
        ("answer", text(answer)),
        ("topic_difficulty", text("Medium")),
        ("question_type", text(kind)),
        ("subfield", text("Art History")),
    ]);
    for k in 1..=7 {
        let cell = images.get(k - 1).copied().flatten().map_or(Cell::Null, image);
        r.insert(format!("image_{k}"), cell);
    }
    r
}

fn mmmu_mc() -> Row {
    mmmu_row(
        "validation_Art_Theory_3",
        "<image 1> Which style is shown? Compare with <image 2>.",
        r#"['Baroque', "Monet's style", 'Cubism']"#,
        "B",
        "multiple-choice",
        &[Some("painting"), Some("sketch"), Some("unused")],
    )
}

#[test]
fn mmmu_multiple_choice_both_profiles() {
    let lmms = build("mmmu", LMMS, &mmmu_mc(), 0);
    assert_eq!(lmms.id, "validation_Art_Theory_3");
    assert_eq!(
        lmms.request.prompt,
        "<image 1> Which style is shown? Compare with <image 2>.\nA. Baroque\nB. Monet's style\nC. Cubism\n\nAnswer \
         with the option's letter from the given choices directly."
    );
    assert_eq!(image_tags(&lmms), vec!["painting", "sketch"], "image_3 is not referenced");
    assert_eq!(lmms.request.max_new_tokens, 128);
    assert_eq!(lmms.references, strings(&["B"]));
    assert_eq!(lmms.context.choices, strings(&["Baroque", "Monet's style", "Cubism"]));
    assert_eq!(rule_fields(&lmms.context.fields), map(&[("question_type", "multiple-choice")]));
    assert_eq!(lmms.breakdown, map(&[("subject", "Art_Theory"), ("subfield", "Art History")]));

    let vlm = build("mmmu", VLM, &mmmu_mc(), 0);
    assert_eq!(
        vlm.request.prompt,
        " <image 1> Which style is shown? Compare with <image 2> .\nChoices:\nA. Baroque\nB. Monet's style\nC. \
         Cubism\nAnswer with the letter."
    );
    assert_eq!(vlm.request.assistant_prefix.as_deref(), Some(" Answer:"));
    assert_eq!(image_tags(&vlm), vec!["painting", "sketch"]);
    assert_eq!(vlm.request.max_new_tokens, 2048);
}

#[test]
fn mmmu_open_question_both_profiles() {
    let row = mmmu_row(
        "validation_Math_12",
        "What is the perimeter of the rectangle in <image 1>, in cm?",
        "[]",
        "['14', '14 cm']",
        "open",
        &[Some("rectangle"), Some("unreferenced")],
    );
    let lmms = build("mmmu", LMMS, &row, 0);
    assert_eq!(
        lmms.request.prompt,
        "What is the perimeter of the rectangle in <image 1>, in cm?\n\nAnswer the question using a single word or \
         phrase."
    );
    assert_eq!(image_tags(&lmms), vec!["rectangle"]);
    assert_eq!(lmms.references, strings(&["14", "14 cm"]), "a list-literal answer is its items");
    assert!(lmms.context.choices.is_empty());
    assert_eq!(rule_fields(&lmms.context.fields), map(&[("question_type", "open")]));
    assert_eq!(lmms.breakdown["subject"], "Math");
    let vlm = build("mmmu", VLM, &row, 0);
    assert_eq!(vlm.request.prompt, "What is the perimeter of the rectangle in <image 1> , in cm?");
    assert_eq!(vlm.request.assistant_prefix, None, "no options, no pre-filled answer");
}

#[test]
fn mmmu_images_in_options_and_bad_rows() {
    let row = mmmu_row(
        "validation_Design_1",
        "Which sketch matches the building?",
        "['<image 3>', '<image 1>']",
        "A",
        "multiple-choice",
        &[Some("one"), None, Some("three")],
    );
    let sample = build("mmmu", LMMS, &row, 0);
    assert_eq!(image_tags(&sample), vec!["one", "three"], "sorted by N, null image_2 not referenced");

    let err = build_error(
        "mmmu",
        &mmmu_row("validation_Art_1", "See <image 2>.", "['a', 'b']", "A", "multiple-choice", &[Some("x")]),
    );
    assert!(err.contains("`<image 2>` but image column `image_2` is null"), "{err}");
    let err = build_error(
        "mmmu",
        &mmmu_row("validation_Art_1", "Q <image 1>", "['a', 'b'", "A", "multiple-choice", &[Some("x")]),
    );
    assert!(err.contains("not a Python list of strings"), "{err}");
    let err = build_error("mmmu", &mmmu_row("validation_Art_1", "Q <image 1>", "[]", "1", "open", &[]));
    assert!(err.contains("image column `image_1` is null"), "{err}");
    let err = build_error("mmmu", &mmmu_row("Art1", "Q <image 1>", "[]", "1", "open", &[Some("x")]));
    assert!(err.contains("breakdown `subject`"), "{err}");
    // No reference at all: every non-null image is sent.
    let none =
        mmmu_row("validation_Art_2", "Which is older?", "['a', 'b']", "A", "multiple-choice", &[None, Some("y")]);
    assert_eq!(image_tags(&build("mmmu", LMMS, &none, 0)), vec!["y"]);
}

fn metadata() -> Cell {
    record(&[
        ("category", text("math-targeted-vqa")),
        ("context", text("geometry diagram")),
        ("grade", text("high school")),
        ("img_height", Cell::Int(300)),
        ("img_width", Cell::Int(400)),
        ("language", text("english")),
        ("skills", texts(&["arithmetic reasoning"])),
        ("source", text("Geometry3K")),
        ("split", text("testmini")),
        ("task", text("geometry problem solving")),
    ])
}

#[allow(clippy::too_many_arguments)]
fn mathvista_row(
    question: &str,
    choices: Cell,
    unit: Cell,
    precision: Cell,
    answer: &str,
    qt: &str,
    at: &str,
    query: &str,
) -> Row {
    row(&[
        ("pid", text("12")),
        ("question", text(question)),
        ("image", text("images/12.jpg")),
        ("decoded_image", image("figure")),
        ("choices", choices),
        ("unit", unit),
        ("precision", precision),
        ("answer", text(answer)),
        ("question_type", text(qt)),
        ("answer_type", text(at)),
        ("metadata", metadata()),
        ("query", text(query)),
    ])
}

#[test]
fn mathvista_multiple_choice_both_profiles() {
    let query = "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the \
                 end.\nQuestion: What fraction of the shape is blue?\nChoices:\n(A) 3/11\n(B) 8/11\n(C) 6/11\n(D) 3/5";
    let choices = texts(&["3/11", "8/11", "6/11", "3/5"]);
    let row = mathvista_row(
        "What fraction of the shape is blue?",
        choices,
        Cell::Null,
        Cell::Null,
        "8/11",
        "multi_choice",
        "text",
        query,
    );
    let lmms = build("mathvista", LMMS, &row, 0);
    assert_eq!(
        lmms.request.prompt,
        "What fraction of the shape is blue?\nA. 3/11\nB. 8/11\nC. 6/11\nD. 3/5\nAnswer with the option's letter \
         from the given choices directly."
    );
    assert_eq!(lmms.request.max_new_tokens, 1024);
    assert_eq!(image_tags(&lmms), vec!["figure"]);
    assert_eq!(lmms.references, strings(&["8/11"]), "the answer text, not a letter");
    assert_eq!(lmms.context.choices, strings(&["3/11", "8/11", "6/11", "3/5"]));
    assert_eq!(rule_fields(&lmms.context.fields), map(&[("question_type", "multi_choice"), ("answer_type", "text")]));
    assert_eq!(lmms.breakdown, map(&[("category", "math-targeted-vqa"), ("task", "geometry problem solving")]));
    let vlm = build("mathvista", VLM, &row, 0);
    assert_eq!(
        vlm.request.prompt,
        "Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\nQuestion: \
         What fraction of the shape is blue?\nChoices:\nA. 3/11\nB. 8/11\nC. 6/11\nD. 3/5"
    );
    assert_eq!(vlm.request.assistant_prefix.as_deref(), Some(" Answer:"));
    assert_eq!(vlm.request.max_new_tokens, 2048);
    let task = builtin_task("mathvista").expect("built in");
    assert_eq!(task.score("B", &lmms.references, &lmms.context).score, 1.0);
}

#[test]
fn mathvista_free_form_cases() {
    let query = "Hint: Please answer the question requiring a floating-point number with two decimal places and \
                 provide the final value, e.g., 1.23, 1.34, 1.45, at the end.\nQuestion: How much money does Luca \
                 need? (Unit: $)";
    let q = "How much money does Luca need?";
    let float2 = mathvista_row(q, Cell::Null, text("$"), Cell::Float(2.0), "1.45", "free_form", "float", query);
    let lmms = build("mathvista", LMMS, &float2, 0);
    assert_eq!(
        lmms.request.prompt,
        "How much money does Luca need? (Unit: $)\nAnswer the question using a single floating-point number with \
         two decimal places."
    );
    assert!(lmms.context.choices.is_empty());
    assert_eq!(
        rule_fields(&lmms.context.fields),
        map(&[("question_type", "free_form"), ("answer_type", "float"), ("precision", "2.0"), ("unit", "$")])
    );
    let vlm = build("mathvista", VLM, &float2, 0);
    assert_eq!(
        vlm.request.prompt,
        "Please answer the question requiring a floating-point number with two decimal places and provide the final \
         value, e.g., 1.23, 1.34, 1.45, at the end.\nQuestion: How much money does Luca need? (Unit: $)"
    );
    assert_eq!(vlm.request.assistant_prefix, None);

    let float1 = mathvista_row(q, Cell::Null, Cell::Null, Cell::Float(1.0), "1.5", "free_form", "float", "x");
    assert!(build("mathvista", LMMS, &float1, 0).request.prompt.ends_with("with one decimal place."));
    // An empty unit is no unit, as `if unit:` in lmms-eval.
    let integer = mathvista_row(" How many cubes?", Cell::Null, text(""), Cell::Null, "7", "free_form", "integer", "x");
    let sample = build("mathvista", LMMS, &integer, 0);
    assert_eq!(sample.request.prompt, "How many cubes?\nAnswer the question using a single integer number.");
    assert_eq!(sample.context.fields.get("unit").map(String::as_str), Some(""));
    let list =
        mathvista_row("Which years?", Cell::Null, Cell::Null, Cell::Null, "[2007, 2008]", "free_form", "list", "x");
    assert_eq!(
        build("mathvista", LMMS, &list, 0).request.prompt,
        "Which years?\nAnswer the question using a Python list."
    );
}
