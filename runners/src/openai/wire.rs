//! The OpenAI chat-completions wire format, as much of it as SmolBench sends and reads. The
//! client ([`super::OpenAiRunner`]) and the project's own server (`bench serve`) share these
//! types, so the two cannot drift apart.
//!
//! Replies are read leniently (unknown fields ignored, most fields optional) because other
//! servers (mistral.rs, vLLM, llama.cpp...) fill them differently. SmolBench's server adds one
//! non-standard object, `smolbench`, to the final chunk: the image tokens and the peak memory it
//! measured while answering; other clients ignore it.

use serde::{Deserialize, Serialize};
use smolbench_core::MemorySource;

/// `POST /v1/chat/completions` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model id (`/v1/models`).
    #[serde(default)]
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Token budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<usize>,
    /// Newer name of `max_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<usize>,
    /// Sampling temperature; 0 is greedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Choices to generate (SmolBench's server makes one; other values are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Stop sequences: a string or a list (SmolBench's server refuses any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<serde_json::Value>,
    /// Stream the reply as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Continue the last (assistant) message instead of opening a new turn: how a pre-filled
    /// assistant prefix is sent (vLLM's and SmolBench's name for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_final_message: Option<bool>,
    /// Whether the server should open an assistant turn after the messages (false when the last
    /// message is continued).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_generation_prompt: Option<bool>,
    /// Keep generating past end-of-sequence tokens (vLLM's extension; a performance sweep holds
    /// the output length fixed with it). Servers that do not know it ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_eos: Option<bool>,
    /// Generate at least this many tokens (vLLM's extension, sent with `ignore_eos`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tokens: Option<usize>,
}

/// `stream_options`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Ask for `usage` in the final chunk.
    #[serde(default)]
    pub include_usage: bool,
}

/// One message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `user`, `system` or `assistant`.
    pub role: String,
    /// Text, or a list of text and image parts.
    pub content: MessageContent,
}

/// A message's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Text and image parts, in order.
    Parts(Vec<ContentPart>),
}

/// One part of a message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image by URL (SmolBench sends `data:` URLs).
    ImageUrl {
        /// The URL.
        image_url: ImageUrl,
    },
}

/// `image_url`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageUrl {
    /// `data:image/png;base64,...` or a URL.
    pub url: String,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens (after image expansion, for mistral.rs).
    #[serde(default)]
    pub prompt_tokens: usize,
    /// Generated tokens.
    #[serde(default)]
    pub completion_tokens: usize,
    /// The sum.
    #[serde(default)]
    pub total_tokens: usize,
}

/// What SmolBench's own server measured for one request (the `smolbench` extension).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServerMeasurements {
    /// Prompt tokens that are `<image>` placeholders.
    #[serde(default)]
    pub image_tokens: Option<usize>,
    /// Prompt tokens that are image markers.
    #[serde(default)]
    pub image_marker_tokens: Option<usize>,
    /// Milliseconds the server spent preprocessing the request's images.
    #[serde(default)]
    pub preprocess_ms: Option<f64>,
    /// Peak memory on the server while the request ran.
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
    /// What that memory figure measured.
    #[serde(default)]
    pub memory_source: Option<MemorySource>,
    /// Where the server's model computes (`cpu`, `cuda:0`).
    #[serde(default)]
    pub compute: Option<String>,
    /// Tiles the vision encoder was given.
    #[serde(default)]
    pub image_tiles: Option<usize>,
    /// Tiles the encoder cache served (when the server runs with it on).
    #[serde(default)]
    pub encoder_cache_hits: Option<usize>,
    /// The token budget the server lowered the request's to, to fit the model's context.
    #[serde(default)]
    pub budget_capped_to: Option<usize>,
}

/// A streamed delta.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Delta {
    /// Set on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// New text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// One choice of a chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Choice index.
    #[serde(default)]
    pub index: usize,
    /// New text.
    #[serde(default)]
    pub delta: Delta,
    /// `stop`, `length`, or null until the end.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// `chat.completion.chunk`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatChunk {
    /// Completion id.
    #[serde(default)]
    pub id: String,
    /// `chat.completion.chunk`.
    #[serde(default)]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// Model id.
    #[serde(default)]
    pub model: String,
    /// Choices (empty on a usage-only final chunk).
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the final chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// SmolBench's server measurements, on the final chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smolbench: Option<ServerMeasurements>,
}

/// A non-streamed reply's message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplyMessage {
    /// `assistant`.
    #[serde(default)]
    pub role: String,
    /// The text.
    #[serde(default)]
    pub content: Option<String>,
}

/// One choice of a non-streamed reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Choice {
    /// Choice index.
    #[serde(default)]
    pub index: usize,
    /// The message.
    #[serde(default)]
    pub message: ReplyMessage,
    /// Why generation stopped.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// `chat.completion`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// Completion id.
    #[serde(default)]
    pub id: String,
    /// `chat.completion`.
    #[serde(default)]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// Model id.
    #[serde(default)]
    pub model: String,
    /// Choices.
    pub choices: Vec<Choice>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// SmolBench's server measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smolbench: Option<ServerMeasurements>,
}

/// `{"error": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error's details.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// What went wrong.
    pub message: String,
    /// A category, e.g. `invalid_request_error`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// `GET /v1/models`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelList {
    /// `list`.
    #[serde(default)]
    pub object: String,
    /// The models.
    pub data: Vec<ModelEntry>,
}

/// One model of `/v1/models`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    /// The id to send as `model`.
    pub id: String,
    /// `model`.
    #[serde(default)]
    pub object: String,
    /// Who serves it.
    #[serde(default)]
    pub owned_by: String,
}
