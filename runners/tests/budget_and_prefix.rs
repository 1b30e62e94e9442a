//! The in-process runner on a real tiny checkpoint: a pre-filled assistant turn is part of the
//! prompt, and a token budget longer than the context leaves is lowered instead of failing.

use smolbench_core::{FinishReason, GenerationRequest};
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::prepare_model_dir;
use smolbench_runners::model::tiny::{tiny_token_count, write_tiny_checkpoint, TinyGeometry};
use smolbench_runners::MistralRsRunner;

fn request(prompt: &str, max_new_tokens: usize, assistant_prefix: Option<&str>) -> GenerationRequest {
    GenerationRequest {
        prompt: prompt.into(),
        images: vec![],
        max_new_tokens,
        assistant_prefix: assistant_prefix.map(str::to_string),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_is_prompt_and_budget_fits_the_context() {
    let dir = tempfile::tempdir().unwrap();
    let context = 96;
    let geometry = TinyGeometry { max_position_embeddings: context, ..TinyGeometry::default() };
    write_tiny_checkpoint(&dir.path().join("model"), &geometry, 7).unwrap();
    let prepared = prepare_model_dir(&dir.path().join("model"), &dir.path().join("prepared")).unwrap();
    let runner = MistralRsRunner::load(&prepared, ComputeDevice::Cpu).await.unwrap();

    let question = "Which option is right? A. red B. blue";
    let plain = runner.generate(&request(question, 4, None)).await.unwrap();
    let prefixed = runner.generate(&request(question, 4, Some(" Answer:"))).await.unwrap();
    // The tiny tokenizer gives one token per character or special token, so the templates'
    // counts are exact: `...<end_of_utterance>\nAssistant:` against `...Assistant: Answer:`.
    let user = format!("<|im_start|>User: {question}<end_of_utterance>\n");
    assert_eq!(plain.prompt_tokens, tiny_token_count(&format!("{user}Assistant:")));
    assert_eq!(prefixed.prompt_tokens, tiny_token_count(&format!("{user}Assistant: Answer:")));
    assert_eq!(prefixed.prompt_tokens - plain.prompt_tokens, " Answer:".len());
    assert_eq!(plain.budget_capped_to, None);

    // A budget far past the context: lowered so prompt + generation fit, and the sample succeeds.
    let long = runner.generate(&request(question, 100_000, None)).await.unwrap();
    let cap = long.budget_capped_to.expect("the budget was lowered");
    assert!(cap < context - plain.prompt_tokens + 1, "cap {cap} prompt {}", plain.prompt_tokens);
    assert!(cap + plain.prompt_tokens >= context - 8, "the margin stays small: cap {cap}");
    assert!(long.completion_tokens <= cap);
    if long.finish_reason == FinishReason::Length {
        assert_eq!(long.completion_tokens, cap);
    }

    // A prompt longer than the context is refused with a sentence, not sent.
    let too_long = "x".repeat(context * 2);
    let err = runner.generate(&request(&too_long, 4, None)).await.unwrap_err().to_string();
    assert!(err.contains("does not fit the model's context of 96 tokens"), "{err}");
}
