//! OpenAI chat requests into the [`GenerationRequest`] the in-process path builds, so a sample
//! sent through `bench serve` reaches the engine exactly as it would in `bench run`: the system
//! turn where there is one, the user turn's text, its images in order (the bytes of each `data:` URL, decoded by the runner as
//! usual), the token budget, greedy decoding.

use base64::Engine as _;
use smolbench_core::{EncodedImage, GenerationRequest};
use smolbench_runners::openai::wire::{ChatRequest, ContentPart, MessageContent};

/// The budget when a request sets none (generating past the context is an error in mistral.rs,
/// so there is always one).
pub const DEFAULT_MAX_TOKENS: usize = 512;

/// Decodes `data:[<mime>][;base64],<data>`.
fn decode_data_url(url: &str, index: usize) -> Result<Vec<u8>, String> {
    let Some(rest) = url.strip_prefix("data:") else {
        let shown: String = url.chars().take(40).collect();
        return Err(format!(
            "image {index}: only data: URLs are accepted (got `{shown}`); send the image as data:image/png;base64,..."
        ));
    };
    let (meta, data) = rest.split_once(',').ok_or_else(|| format!("image {index}: data URL without a comma"))?;
    if !meta.ends_with(";base64") {
        return Err(format!("image {index}: data URL is not base64 (`data:{meta},`)"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| format!("image {index}: data URL is not valid base64 ({e})"))
}

/// Converts a chat request; the error is a one-line message for a 400 reply.
pub fn to_generation_request(chat: &ChatRequest) -> Result<GenerationRequest, String> {
    if let Some(n) = chat.n.filter(|n| *n != 1) {
        return Err(format!("n = {n} is not supported: this server returns one choice; send n = 1 or leave it out"));
    }
    let stops = match &chat.stop {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::String(s)) => !s.is_empty(),
        Some(serde_json::Value::Array(list)) => !list.is_empty(),
        Some(_) => true,
    };
    if stops {
        return Err(
            "stop sequences are not supported by this server; leave `stop` out and cut the answer on the client side"
                .into(),
        );
    }
    if let Some(t) = chat.temperature.filter(|t| *t != 0.0) {
        return Err(format!("temperature {t} is not supported: this server decodes greedily; send temperature 0"));
    }
    // An optional system message (plain text), then one user message, optionally followed by an
    // assistant message the model continues (a pre-filled answer prefix, as VLMEvalKit's SmolVLM
    // prompts use).
    let (system, messages) = match chat.messages.split_first() {
        Some((first, rest)) if first.role == "system" => match &first.content {
            MessageContent::Text(text) => (Some(text.clone()), rest),
            MessageContent::Parts(_) => return Err("a system message must be plain text".into()),
        },
        _ => (None, chat.messages.as_slice()),
    };
    let (message, assistant_prefix) = match messages {
        [message] => (message, None),
        [message, prefix] if prefix.role == "assistant" => match &prefix.content {
            MessageContent::Text(text) if chat.continue_final_message != Some(false) => (message, Some(text.clone())),
            _ => return Err("a last assistant message must be plain text to continue".into()),
        },
        other => {
            return Err(format!(
                "expected an optional system message, one user message (and optionally an assistant prefix to continue), got {} messages",
                other.len()
            ))
        }
    };
    if message.role != "user" {
        return Err(format!("expected a user message, got role `{}`", message.role));
    }
    let mut texts = Vec::new();
    let mut images = Vec::new();
    match &message.content {
        MessageContent::Text(text) => texts.push(text.clone()),
        MessageContent::Parts(parts) => {
            for part in parts {
                match part {
                    ContentPart::Text { text } => texts.push(text.clone()),
                    ContentPart::ImageUrl { image_url } => {
                        images.push(EncodedImage { bytes: decode_data_url(&image_url.url, images.len())? })
                    }
                }
            }
        }
    }
    let max_new_tokens = chat.max_completion_tokens.or(chat.max_tokens).unwrap_or(DEFAULT_MAX_TOKENS);
    if max_new_tokens == 0 {
        return Err("max_tokens must be at least 1".into());
    }
    Ok(GenerationRequest { system, prompt: texts.join("\n"), images, max_new_tokens, assistant_prefix })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smolbench_runners::openai::wire::{ChatMessage, ImageUrl};

    fn chat(parts: Vec<ContentPart>, temperature: Option<f64>) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![ChatMessage { role: "user".into(), content: MessageContent::Parts(parts) }],
            max_tokens: Some(7),
            max_completion_tokens: None,
            temperature,
            n: None,
            stop: None,
            stream: false,
            stream_options: None,
            continue_final_message: None,
            add_generation_prompt: None,
            ignore_eos: None,
            min_tokens: None,
        }
    }

    #[test]
    fn images_and_text_come_through_byte_for_byte() {
        let bytes = vec![0u8, 1, 2, 250, 255];
        let url = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&bytes));
        let request = to_generation_request(&chat(
            vec![ContentPart::ImageUrl { image_url: ImageUrl { url } }, ContentPart::Text { text: "What?".into() }],
            Some(0.0),
        ))
        .unwrap();
        assert_eq!(request.prompt, "What?");
        assert_eq!(request.images, vec![EncodedImage { bytes }]);
        assert_eq!(request.max_new_tokens, 7);
    }

    #[test]
    fn unsupported_requests_say_why() {
        let e = to_generation_request(&chat(vec![], Some(0.7))).unwrap_err();
        assert!(e.contains("temperature 0.7"), "{e}");
        let remote = ContentPart::ImageUrl { image_url: ImageUrl { url: "https://example.com/a.png".into() } };
        let e = to_generation_request(&chat(vec![remote], None)).unwrap_err();
        assert!(e.contains("only data: URLs"), "{e}");
        let bad = ContentPart::ImageUrl { image_url: ImageUrl { url: "data:image/png;base64,@@@".into() } };
        assert!(to_generation_request(&chat(vec![bad], None)).unwrap_err().contains("not valid base64"));
        let mut many = chat(vec![], None);
        many.n = Some(2);
        assert!(to_generation_request(&many).unwrap_err().contains("n = 2"));
        many.n = Some(1);
        assert!(to_generation_request(&many).is_ok());
        many.stop = Some(serde_json::json!(["\n"]));
        assert!(to_generation_request(&many).unwrap_err().contains("stop sequences"));
        many.stop = Some(serde_json::json!([]));
        assert!(to_generation_request(&many).is_ok(), "an empty list asks for nothing");
    }

    #[test]
    fn a_leading_system_message_becomes_the_system_turn() {
        let mut request = chat(vec![ContentPart::Text { text: "Q?".into() }], None);
        let system = ChatMessage { role: "system".into(), content: MessageContent::Text("watch closely ".into()) };
        request.messages.insert(0, system);
        let converted = to_generation_request(&request).unwrap();
        assert_eq!(converted.system.as_deref(), Some("watch closely "));
        assert_eq!(converted.prompt, "Q?");
        let parts = ChatMessage { role: "system".into(), content: MessageContent::Parts(vec![]) };
        request.messages[0] = parts;
        assert!(to_generation_request(&request).unwrap_err().contains("system message must be plain text"));
        let without = to_generation_request(&chat(vec![ContentPart::Text { text: "Q?".into() }], None)).unwrap();
        assert_eq!(without.system, None);
    }
}
