//! The open-answer image tasks (DocVQA, TextVQA, ChartQA, OCRBench) on hand-made rows in their
//! Hugging Face schemas: exact prompts under both profiles, references, context and breakdown.

mod common;

use common::*;
use smolbench_datasets::Cell;
use smolbench_tasks::{builtin_task, MetricProfile};

const VQA_POST: &str = "\nAnswer the question using a single word or phrase.";

fn docvqa_row(question: &str) -> smolbench_datasets::Row {
    row(&[
        ("questionId", text("57349")),
        ("question", text(question)),
        ("question_types", texts(&["form"])),
        ("image", image("page")),
        ("docId", Cell::Int(4)),
        ("answers", texts(&["$12", "12"])),
    ])
}

#[test]
fn docvqa_both_profiles() {
    let row = docvqa_row(" What is the total?");
    let lmms = build("docvqa", LMMS, &row, 0);
    assert_eq!(lmms.request.prompt, format!(" What is the total?{VQA_POST}"));
    assert_eq!(lmms.request.max_new_tokens, 32);
    assert_eq!(lmms.request.assistant_prefix, None);
    let vlm = build("docvqa", VLM, &row, 0);
    assert_eq!(
        vlm.request.prompt,
        format!(
            "Give a short and terse answer to the following question. Do not paraphrase or reformat the text you \
             see in the image. Do not include any full stops. Just give the answer without additional \
             explanation. Question: What is the total?{VQA_POST}"
        )
    );
    assert_eq!(vlm.request.max_new_tokens, 2048);
    assert_eq!(vlm.references, strings(&["$12", "12"]));
    assert_eq!(image_tags(&vlm), vec!["page"]);
    assert!(vlm.context.choices.is_empty() && vlm.context.fields.is_empty() && vlm.breakdown.is_empty());
    // The VLMEvalKit prompt goes with VLMEvalKit's scorer unless a profile is forced.
    let task = task("docvqa", VLM);
    assert_eq!(task.profile(), MetricProfile::VlmEvalKit);
    assert_eq!(task.clone().with_profile(MetricProfile::Official).profile(), MetricProfile::Official);
    assert_eq!(builtin_task("docvqa").expect("built in").profile(), MetricProfile::Official);
}

#[test]
fn textvqa_both_profiles() {
    let answers = ["nokia", "nokia", "Nokia", "nokia", "nokia", "nokia", "NOKIA", "nokia", "nokia", "nokia"];
    let row = row(&[
        ("image_id", text("0054c91397f2fe05")),
        ("question_id", Cell::Int(34602)),
        ("question", text("what is the BRAND of this phone?")),
        ("question_tokens", texts(&["what", "is", "the", "brand"])),
        ("image", image("phone")),
        ("image_width", Cell::Int(1024)),
        ("image_height", Cell::Int(768)),
        ("flickr_original_url", text("https://example.org/a.jpg")),
        ("flickr_300k_url", text("https://example.org/b.jpg")),
        ("answers", texts(&answers)),
        ("image_classes", texts(&["Mobile phone"])),
        ("set_name", text("val")),
        ("ocr_tokens", texts(&["NOKIA"])),
    ]);
    let lmms = build("textvqa", LMMS, &row, 3);
    assert_eq!(lmms.id, "34602");
    // Python's str.capitalize() lower-cases the rest.
    assert_eq!(lmms.request.prompt, format!("What is the brand of this phone?{VQA_POST}"));
    assert_eq!(lmms.request.max_new_tokens, 1024);
    assert_eq!(lmms.references.len(), 10);
    let vlm = build("textvqa", VLM, &row, 3);
    assert_eq!(
        vlm.request.prompt,
        format!(
            "Answer the following question about the image using as few words as possible. Follow these \
             additional instructions:\n-Always answer a binary question with Yes or No.\n-When asked what time \
             it is, reply with the time seen in the image.\n-Do not put any full stops at the end of the \
             answer.\n-Do not put quotation marks around the answer.\n-An answer with one or two words is \
             favorable.\n-Do not apply common sense knowledge. The answer can be found in the image.\nQuestion: \
             what is the BRAND of this phone?{VQA_POST}"
        )
    );
    assert_eq!(vlm.request.max_new_tokens, 2048);
}

#[test]
fn chartqa_both_profiles() {
    let row = row(&[
        ("type", text("human_test")),
        ("question", text("Which year has the highest value?")),
        ("answer", text("2019")),
        ("image", image("chart")),
    ]);
    let lmms = build("chartqa", LMMS, &row, 41);
    assert_eq!(lmms.id, "41", "no id column: the row index");
    assert_eq!(lmms.request.prompt, "Which year has the highest value?\nAnswer the question with a single word.");
    assert_eq!(lmms.request.max_new_tokens, 16);
    assert_eq!(lmms.references, strings(&["2019"]));
    assert_eq!(lmms.breakdown, map(&[("type", "human_test")]));
    let vlm = build("chartqa", VLM, &row, 41);
    assert_eq!(
        vlm.request.prompt,
        format!(
            "For the question below, follow the following instructions:\n-The answer should contain as few words \
             as possible.\n-Don't paraphrase or reformat the text you see in the image.\n-Answer a binary \
             question with Yes or No.\n-When asked to give a numerical value, provide a number like 2 instead of \
             Two.\n-If the final answer has two or more items, provide it in the list format like [1, 2].\n-When \
             asked to give a ratio, give out the decimal value like 0.25 instead of 1:4.\n-When asked to give a \
             percentage, give out the whole value like 17 instead of decimal like 0.17%.\n-Don't include any \
             units in the answer.\n-Do not include any full stops at the end of the answer.\n-Try to include the \
             full label from the graph when asked about an entity.\nQuestion: Which year has the highest \
             value?{VQA_POST}"
        )
    );
    assert_eq!(vlm.breakdown, map(&[("type", "human_test")]));
}

#[test]
fn ocrbench_both_profiles() {
    let row = row(&[
        ("dataset", text("HME100k")),
        ("question", text(" Please write out the expression of the formula in the image using LaTeX format.\n")),
        ("question_type", text("Handwritten Mathematical Expression Recognition")),
        ("answer", texts(&["x ^ { 2 } + 1"])),
        ("image", image("formula")),
    ]);
    let lmms = build("ocrbench", LMMS, &row, 7);
    let question = "Please write out the expression of the formula in the image using LaTeX format.";
    assert_eq!(lmms.request.prompt, question);
    assert_eq!(lmms.request.max_new_tokens, 128);
    assert_eq!(lmms.references, strings(&["x ^ { 2 } + 1"]));
    assert_eq!(rule_fields(&lmms.context.fields), map(&[("dataset", "HME100k")]));
    assert_eq!(lmms.breakdown, map(&[("question_type", "Handwritten Mathematical Expression Recognition")]));
    let vlm = build("ocrbench", VLM, &row, 7);
    assert_eq!(vlm.request.prompt, format!("{question}\nGive a very brief answer."));
    assert_eq!(vlm.context, lmms.context);
    // The HME100k rule (no spaces, case-sensitive) comes from the context field.
    let task = builtin_task("ocrbench").expect("built in");
    assert_eq!(task.score("x^{2}+1", &lmms.references, &lmms.context).score, 1.0);
    assert_eq!(task.score("X^{2}+1", &lmms.references, &lmms.context).score, 0.0);
}

#[test]
fn columns_cover_everything_read() {
    let chartqa = builtin_task("chartqa").expect("built in");
    assert_eq!(chartqa.columns(), vec!["question", "answer", "image", "type"]);
    let ocr = builtin_task("ocrbench").expect("built in");
    assert_eq!(ocr.columns(), vec!["question", "answer", "image", "dataset", "question_type"]);
    let mathvista = task("mathvista", VLM);
    assert!(mathvista.columns().contains(&"query".to_string()), "{:?}", mathvista.columns());
    // The lmms-eval profile reads `query` too: it is what the optional judge is shown.
    assert!(builtin_task("mathvista").expect("built in").columns().contains(&"query".to_string()));
}
