//! Images placed where the prompt's `<image>` markers are, instead of before the text.
//!
//! SmolVLM2 reads a video as frames interleaved with their timestamps (`Frame from 00:01:<image>`).
//! mistral.rs 0.8.1 has no video input for this architecture and always lists a message's images
//! before its text, so the chat template would render every `<image>` first. When a request's
//! prompt holds exactly one `<image>` marker per image, [`InlineImages`] rewrites the message's
//! content parts in prompt order (text, image, text, ...): the project's chat template renders
//! each image part as `<image>` where it stands, and the engine expands each marker to that
//! image's tokens in order (`mistralrs-0.8.1.md` §2.6).

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

/// A request whose image messages are rewritten with the images at their markers.
pub struct InlineImages(pub RequestBuilder);

/// Rewrites each message whose text has one marker per image part into interleaved parts.
fn interleave(messages: &mut [IndexMap<String, MessageContent>]) {
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

impl RequestLike for InlineImages {
    fn messages_ref(&self) -> &[IndexMap<String, MessageContent>] {
        RequestLike::messages_ref(&self.0)
    }

    fn images_ref(&self) -> &[image::DynamicImage] {
        RequestLike::images_ref(&self.0)
    }

    fn take_messages(&mut self) -> RequestMessage {
        let mut message = RequestLike::take_messages(&mut self.0);
        if let RequestMessage::MultimodalChat { messages, .. } = &mut message {
            interleave(messages);
        }
        message
    }

    fn take_logits_processors(&mut self) -> Option<Vec<Arc<dyn CustomLogitsProcessor>>> {
        RequestLike::take_logits_processors(&mut self.0)
    }

    fn take_adapters(&mut self) -> Option<Vec<String>> {
        RequestLike::take_adapters(&mut self.0)
    }

    fn return_logprobs(&self) -> bool {
        RequestLike::return_logprobs(&self.0)
    }

    fn enable_search(&self) -> Option<bool> {
        RequestLike::enable_search(&self.0)
    }

    fn take_constraint(&mut self) -> Constraint {
        RequestLike::take_constraint(&mut self.0)
    }

    fn take_tools(&mut self) -> Option<(Vec<Tool>, ToolChoice)> {
        RequestLike::take_tools(&mut self.0)
    }

    fn take_sampling_params(&mut self) -> SamplingParams {
        RequestLike::take_sampling_params(&mut self.0)
    }

    fn take_web_search_options(&mut self) -> Option<WebSearchOptions> {
        RequestLike::take_web_search_options(&mut self.0)
    }

    fn truncate_sequence(&self) -> bool {
        RequestLike::truncate_sequence(&self.0)
    }

    fn resolve_pending_prefixes(&mut self, category: &ModelCategory) {
        RequestLike::resolve_pending_prefixes(&mut self.0, category)
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
        let message = InlineImages(builder).take_messages();
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
        let message = InlineImages(builder).take_messages();
        assert_eq!(parts(&message), ["<img>", "<img>", "a<image>b"]);
    }
}
