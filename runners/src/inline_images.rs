//! Images placed where the prompt's `<image>` markers are, instead of before the text.
//!
//! SmolVLM2 reads a video as frames interleaved with their timestamps (`Frame from 00:01:<image>`).
//! mistral.rs 0.8.1 has no video input for this architecture and always lists a message's images
//! before its text, so the chat template would render every `<image>` first. When a request's
//! prompt holds exactly one `<image>` marker per image, [`inline_images`] rewrites the message's
//! content parts in prompt order (text, image, text, ...): the project's chat template renders
//! each image part as `<image>` where it stands, and the engine expands each marker to that
//! image's tokens in order (`mistralrs-0.8.1.md` §2.6).
//!
//! [`RewrittenMessages`] is the one way this crate changes a request's chat messages on their way
//! into the engine: [`inline_images`] uses it, and so does the runner's engine-failure test hook.

use std::sync::Arc;

use indexmap::IndexMap;
use mistralrs::core::RequestMessage;
use mistralrs::{
    Constraint, CustomLogitsProcessor, MessageContent, ModelCategory, RequestBuilder, RequestLike, SamplingParams,
    Tool, ToolChoice, WebSearchOptions,
};
use serde_json::Value;

/// The marker of one image in a prompt.
pub const IMAGE_MARKER: &str = "<image>";

/// Whether `prompt` places its `n_images` images itself: one `<image>` marker per image.
pub fn places_images_inline(prompt: &str, n_images: usize) -> bool {
    n_images > 0 && prompt.matches(IMAGE_MARKER).count() == n_images
}

/// Rewrites each message whose text has one marker per image part into interleaved parts.
fn interleave(messages: &mut ChatMessages) {
    for message in messages {
        let Some(parts) = message.get_mut("content").and_then(|c| c.as_mut().right()) else { continue };
        let is = |part: &IndexMap<String, Value>, kind: &str| part.get("type").and_then(Value::as_str) == Some(kind);
        let images: Vec<IndexMap<String, Value>> = parts.iter().filter(|p| is(p, "image")).cloned().collect();
        let texts: Vec<&IndexMap<String, Value>> = parts.iter().filter(|p| is(p, "text")).collect();
        let [text_part] = texts.as_slice() else { continue };
        let Some(text) = text_part.get("text").and_then(Value::as_str) else { continue };
        if !places_images_inline(text, images.len()) || parts.len() != images.len() + 1 {
            continue;
        }
        let template = (*text_part).clone();
        let mut rebuilt = Vec::with_capacity(2 * images.len() + 1);
        let mut images = images.into_iter();
        for (i, segment) in text.split(IMAGE_MARKER).enumerate() {
            if i > 0 {
                rebuilt.extend(images.next());
            }
            if !segment.is_empty() {
                let mut part = template.clone();
                part.insert("text".to_string(), Value::String(segment.to_string()));
                rebuilt.push(part);
            }
        }
        *parts = rebuilt;
    }
}

/// Chat messages as the engine receives them.
pub type ChatMessages = [IndexMap<String, MessageContent>];

/// A request whose chat messages `rewrite` changes when the engine takes them; everything else
/// passes through unchanged.
pub struct RewrittenMessages {
    request: RequestBuilder,
    rewrite: fn(&mut ChatMessages),
}

impl RewrittenMessages {
    /// `request`, with its messages rewritten by `rewrite`.
    pub fn new(request: RequestBuilder, rewrite: fn(&mut ChatMessages)) -> Self {
        RewrittenMessages { request, rewrite }
    }
}

/// `request` with each image placed at its `<image>` marker.
pub fn inline_images(request: RequestBuilder) -> RewrittenMessages {
    RewrittenMessages::new(request, interleave)
}

impl RequestLike for RewrittenMessages {
    fn messages_ref(&self) -> &[IndexMap<String, MessageContent>] {
        RequestLike::messages_ref(&self.request)
    }

    fn images_ref(&self) -> &[image::DynamicImage] {
        RequestLike::images_ref(&self.request)
    }

    fn take_messages(&mut self) -> RequestMessage {
        let mut message = RequestLike::take_messages(&mut self.request);
        if let RequestMessage::MultimodalChat { messages, .. } = &mut message {
            (self.rewrite)(messages);
        }
        message
    }

    fn take_logits_processors(&mut self) -> Option<Vec<Arc<dyn CustomLogitsProcessor>>> {
        RequestLike::take_logits_processors(&mut self.request)
    }

    fn take_adapters(&mut self) -> Option<Vec<String>> {
        RequestLike::take_adapters(&mut self.request)
    }

    fn return_logprobs(&self) -> bool {
        RequestLike::return_logprobs(&self.request)
    }

    fn enable_search(&self) -> Option<bool> {
        RequestLike::enable_search(&self.request)
    }

    fn take_constraint(&mut self) -> Constraint {
        RequestLike::take_constraint(&mut self.request)
    }

    fn take_tools(&mut self) -> Option<(Vec<Tool>, ToolChoice)> {
        RequestLike::take_tools(&mut self.request)
    }

    fn take_sampling_params(&mut self) -> SamplingParams {
        RequestLike::take_sampling_params(&mut self.request)
    }

    fn take_web_search_options(&mut self) -> Option<WebSearchOptions> {
        RequestLike::take_web_search_options(&mut self.request)
    }

    fn truncate_sequence(&self) -> bool {
        RequestLike::truncate_sequence(&self.request)
    }

    fn resolve_pending_prefixes(&mut self, category: &ModelCategory) {
        RequestLike::resolve_pending_prefixes(&mut self.request, category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mistralrs::TextMessageRole;

    fn parts(message: &RequestMessage) -> Vec<String> {
        let RequestMessage::MultimodalChat { messages, .. } = message else { panic!("not multimodal") };
        let content = messages[0].get("content").unwrap().as_ref().right().unwrap();
        content
            .iter()
            .map(|p| match p.get("type").and_then(Value::as_str) {
                Some("image") => "<img>".to_string(),
                _ => p.get("text").and_then(Value::as_str).unwrap().to_string(),
            })
            .collect()
    }

    fn image() -> image::DynamicImage {
        image::DynamicImage::new_rgb8(2, 2)
    }

    #[test]
    fn markers_become_image_parts_in_order() {
        let prompt = "Video:\nFrame from 00:00:<image>\nFrame from 00:01:<image>\n\nQ?";
        let builder = RequestBuilder::new().add_image_message(TextMessageRole::User, prompt, vec![image(), image()]);
        let message = inline_images(builder).take_messages();
        assert_eq!(parts(&message), ["Video:\nFrame from 00:00:", "<img>", "\nFrame from 00:01:", "<img>", "\n\nQ?"]);
    }

    #[test]
    fn prompts_without_one_marker_per_image_keep_images_first() {
        assert!(places_images_inline("a<image>b<image>", 2));
        assert!(!places_images_inline("a<image>b", 2));
        assert!(!places_images_inline("no markers", 1));
        assert!(!places_images_inline("<image>", 0));
        let builder =
            RequestBuilder::new().add_image_message(TextMessageRole::User, "a<image>b", vec![image(), image()]);
        let message = inline_images(builder).take_messages();
        assert_eq!(parts(&message), ["<img>", "<img>", "a<image>b"]);
    }
}
