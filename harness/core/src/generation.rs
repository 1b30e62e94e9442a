//! The request a task hands to a runner, and the generation a runner hands back.

use serde::{Deserialize, Serialize};

/// An image as the data set stores it: encoded bytes (PNG, JPEG...), decoded by the runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedImage {
    /// The encoded file contents.
    pub bytes: Vec<u8>,
}

/// One prompt for a model: an optional system turn, the user's text, the images that precede it
/// (or stand at its `<image>` markers), and a token budget.
///
/// Decoding is always greedy; the budget is mandatory because generating past a model's context
/// is an error in mistral.rs rather than a stop.
#[derive(Debug, Clone, Default)]
pub struct GenerationRequest {
    /// A system turn before the user turn (VLMEvalKit's SmolVLM2 video prompt opens with one),
    /// sent as the chat's `system` message; `None` sends none.
    pub system: Option<String>,
    /// The user turn's text, already rendered from the task's prompt template.
    pub prompt: String,
    /// Images placed before the text in the user turn, in order.
    pub images: Vec<EncodedImage>,
    /// The most tokens the model may generate (a runner lowers it to what the model's context
    /// leaves after the prompt, and says so in [`Generation::budget_capped_to`]).
    pub max_new_tokens: usize,
    /// Text the assistant turn starts with, as part of the prompt (VLMEvalKit's SmolVLM wrapper
    /// pre-fills `" Answer:"` on multiple-choice prompts). The model continues after it; the
    /// prediction is what it generates, without the prefix.
    pub assistant_prefix: Option<String>,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced an end-of-sequence token.
    Stop,
    /// The token budget ran out.
    Length,
    /// The stream ended without saying why (for example a final chunk that never came).
    Unknown,
}

/// What a runner measured while answering one request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Generation {
    /// The generated text, exactly as decoded.
    pub text: String,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// Prompt tokens after image expansion, as the engine counted them.
    pub prompt_tokens: usize,
    /// Of the prompt tokens, the `<image>` placeholders, counted as transformers counts them
    /// (`image_seq_len` per tile: 64 for a 512-pixel SmolVLM tile).
    pub image_tokens: usize,
    /// Of the prompt tokens, the markers around the placeholders (`<fake_token_around_image>`,
    /// `<row_r_col_c>`, `<global-img>`), counted apart from [`Generation::image_tokens`].
    #[serde(default)]
    pub image_marker_tokens: usize,
    /// Generated tokens.
    pub completion_tokens: usize,
    /// Wall-clock milliseconds from sending the request to the first streamed token.
    pub ttft_ms: f64,
    /// Wall-clock milliseconds from taking the request (its images' preprocessing included) to
    /// the end of the stream.
    pub e2e_ms: f64,
    /// Decode speed from stream timestamps: (n - 1) / (t_last - t_first); `None` below 2 tokens.
    pub decode_tokens_per_s: Option<f64>,
    /// Where the token counts came from: `"engine"` (the engine's usage report) or `"counted"`.
    pub usage_source: String,
    /// The token budget actually used when the request's `max_new_tokens` did not fit in the
    /// model's context after the prompt; `None` when the request's budget was used as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_capped_to: Option<usize>,
    /// Tiles the vision encoder was given, over all images (each image is one tile without
    /// splitting; `rows x cols + 1` with it).
    #[serde(default)]
    pub image_tiles: usize,
    /// Of those tiles, how many the engine's encoder cache served instead of the vision encoder
    /// (a repeated image looks fast then). `None` when the cache was off.
    #[serde(default)]
    pub encoder_cache_hits: Option<usize>,
    /// Milliseconds spent decoding and preprocessing the images (resize, tiles, normalisation),
    /// apart from the engine's time to first token; [`Generation::e2e_ms`] includes it. `None`
    /// where the runner did not preprocess (a remote endpoint that does not report it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocess_ms: Option<f64>,
    /// The same figures in CPU time this process spent (all its threads), where the runner
    /// computes in-process and answered this request alone; `None` otherwise and in runs made
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuTime>,
    /// How busy the machine was with other work while the sample ran; `None` where it could
    /// not be read (no `/proc/stat`) and in runs made before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineLoad>,
}

/// CPU time one request cost the process: the work done, which other jobs on a busy machine do
/// not stretch the way they stretch wall-clock time (they take turns on the cores, and the
/// time a thread waits for its turn is not its CPU time).
///
/// Milliseconds are summed over all the process's threads (engine, runtime, workers) from the
/// request's start to its end. The in-process runner prepares the next request's images while
/// the engine answers this one: that work counts here, and this request's own preparation,
/// done during the previous one, counted there. Both runs of a comparison count the same way.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct CpuTime {
    /// CPU milliseconds from sending the request to the first streamed token (the twin of
    /// [`Generation::ttft_ms`]).
    pub ttft_ms: f64,
    /// CPU milliseconds of the whole request, its image preparation included (the twin of
    /// [`Generation::e2e_ms`]).
    pub e2e_ms: f64,
    /// Generated tokens per CPU second between the first and the last token; `None` below 2
    /// tokens.
    pub decode_tokens_per_s: Option<f64>,
}

/// The machine's CPU use by others while one sample ran, read from `/proc/stat` around it.
///
/// `others_cpu_ms / machine_cpu_ms` is the share of the machine's CPU capacity that other
/// processes (and, in a virtual machine, the host: steal time) took; summing both over many
/// samples gives a task's share. A single sample's figures are coarse (the kernel counts in
/// ticks of 10 ms) and `others_cpu_ms` may come out slightly negative.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct MachineLoad {
    /// CPU milliseconds all cores offered during the sample (wall time × cores).
    pub machine_cpu_ms: f64,
    /// Of those, the milliseconds cores were busy with anything but this process.
    pub others_cpu_ms: f64,
    /// The one-minute load average when the sample ended (`/proc/loadavg`; this process's
    /// running threads included).
    pub load_avg_1m: f64,
    /// CPU milliseconds a fixed reference work took, measured as the sample started and as it
    /// ended (the mean): how fast the cores ran, which CPU time alone does not show (a core
    /// shared with a busy sibling or host runs the same work slower). `None` in runs made
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_cpu_ms: Option<f64>,
}

impl MachineLoad {
    /// The share (0..1) of the machine's CPU capacity others used, over `loads` together;
    /// `None` when they cover no time.
    pub fn others_share<'a>(loads: impl IntoIterator<Item = &'a MachineLoad>) -> Option<f64> {
        let (others, total) =
            loads.into_iter().fold((0.0, 0.0), |(o, t), l| (o + l.others_cpu_ms, t + l.machine_cpu_ms));
        (total > 0.0).then(|| (others / total).clamp(0.0, 1.0))
    }
}
