//! The embedded default model: a tiny, randomly initialised Idefics3 checkpoint.
//!
//! It has SmolVLM's architecture and file set (config, safetensors, tokenizer, processor and
//! generation configs, chat template), so the real loading path of mistral.rs runs on it, but it
//! is small enough (about 0.3 MB) to be generated in milliseconds. Weights come from a seeded
//! ChaCha generator: the same [`TinyGeometry`] and seed always give byte-identical files.
//!
//! The tokenizer is a byte-level BPE restricted to printable ASCII, space and newline, with one
//! token per character and no merges. Every generated token therefore decodes to valid UTF-8
//! (so streams always end with their usage chunk), and a prompt's token count can be computed by
//! hand: one token per character, one per special token.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::error::RunnerError;

/// The special tokens of the tiny vocabulary, in id order after the 96 character tokens.
pub const TINY_SPECIAL_TOKENS: [&str; 7] = [
    "<|im_start|>",
    "<end_of_utterance>",
    "<fake_token_around_image>",
    "<image>",
    "<global-img>",
    "<|endoftext|>",
    "<|im_end|>",
];

/// The SmolVLM chat template as the model repositories ship it (it drops plain-string content;
/// the prepare step replaces it).
pub const STOCK_SMOLVLM_TEMPLATE: &str = "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

/// Sizes of a tiny checkpoint. The defaults follow SmolVLM's layout at toy scale; other
/// geometries (SmolVLM's 512 px / scale 4, the 2.2B's 384 px / patch 14 / scale 3) are made by
/// changing the vision fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TinyGeometry {
    /// Vision hidden size.
    pub vision_hidden: usize,
    /// Vision MLP size.
    pub vision_intermediate: usize,
    /// Vision encoder layers.
    pub vision_layers: usize,
    /// Vision attention heads.
    pub vision_heads: usize,
    /// Side of the square image the vision tower sees (`max_image_size.longest_edge`).
    pub image_size: usize,
    /// Patch side.
    pub patch_size: usize,
    /// Pixel-shuffle scale factor of the connector.
    pub scale_factor: usize,
    /// `size.longest_edge` of the preprocessor (the first resize).
    pub resize_longest_edge: usize,
    /// Text hidden size.
    pub text_hidden: usize,
    /// Text MLP size.
    pub text_intermediate: usize,
    /// Text decoder layers.
    pub text_layers: usize,
    /// Text attention heads.
    pub text_heads: usize,
    /// Text key/value heads.
    pub text_kv_heads: usize,
    /// Context length.
    pub max_position_embeddings: usize,
    /// Whether `do_image_splitting` is written as true (as in real SmolVLM directories).
    pub image_splitting: bool,
}

impl Default for TinyGeometry {
    fn default() -> Self {
        TinyGeometry {
            vision_hidden: 32,
            vision_intermediate: 64,
            vision_layers: 1,
            vision_heads: 2,
            image_size: 64,
            patch_size: 16,
            scale_factor: 2,
            resize_longest_edge: 128,
            text_hidden: 64,
            text_intermediate: 128,
            text_layers: 2,
            text_heads: 4,
            text_kv_heads: 2,
            max_position_embeddings: 4096,
            image_splitting: false,
        }
    }
}

impl TinyGeometry {
    /// SmolVLM-256M/500M's image geometry at toy width: 512 px tiles, patch 16, scale factor 4
    /// (64 tokens per tile), images first resized to a 2048 px longest edge, splitting on.
    pub fn smolvlm_small() -> Self {
        TinyGeometry {
            image_size: 512,
            patch_size: 16,
            scale_factor: 4,
            resize_longest_edge: 2048,
            image_splitting: true,
            ..Default::default()
        }
    }

    /// SmolVLM 2.2B's image geometry at toy width: 384 px tiles, patch 14 (27 x 27 patches),
    /// scale factor 3 (81 tokens per tile), images first resized to 1536 px, splitting on.
    pub fn smolvlm_2_2b() -> Self {
        TinyGeometry {
            image_size: 384,
            patch_size: 14,
            scale_factor: 3,
            resize_longest_edge: 1536,
            image_splitting: true,
            ..Default::default()
        }
    }

    /// Image tokens per tile: `(image_size / patch_size)^2 / scale_factor^2`.
    pub fn image_seq_len(&self) -> usize {
        let side = self.image_size / self.patch_size;
        side * side / (self.scale_factor * self.scale_factor)
    }
}

/// The characters of the tiny vocabulary in id order: printable ASCII `!`..`~`, then space and
/// newline, written in the GPT-2 byte-to-unicode alphabet (`Ġ` for space, `Ċ` for newline).
fn tiny_char_vocab() -> Vec<String> {
    let mut vocab: Vec<String> = (0x21u8..=0x7e).map(|b| (b as char).to_string()).collect();
    vocab.push("\u{0120}".to_string());
    vocab.push("\u{010A}".to_string());
    vocab
}

/// Id of the first special token (after the 96 character tokens).
pub const TINY_FIRST_SPECIAL_ID: usize = 96;

/// The full list of added tokens: the fixed specials, then `<row_r_col_c>` for r, c in 1..=4.
fn tiny_added_tokens() -> Vec<String> {
    let mut tokens: Vec<String> = TINY_SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    for r in 1..=4 {
        for c in 1..=4 {
            tokens.push(format!("<row_{r}_col_{c}>"));
        }
    }
    tokens
}

/// Vocabulary size of the tiny tokenizer (119).
pub fn tiny_vocab_size() -> usize {
    tiny_char_vocab().len() + tiny_added_tokens().len()
}

fn token_id(name: &str) -> usize {
    TINY_FIRST_SPECIAL_ID
        + tiny_added_tokens().iter().position(|t| t == name).expect("token is part of the tiny vocabulary")
}

fn tokenizer_json() -> Value {
    let vocab: serde_json::Map<String, Value> = tiny_char_vocab()
        .into_iter()
        .enumerate()
        .map(|(id, tok)| (tok, json!(id)))
        .chain(tiny_added_tokens().into_iter().enumerate().map(|(i, tok)| (tok, json!(TINY_FIRST_SPECIAL_ID + i))))
        .collect();
    let added: Vec<Value> = tiny_added_tokens()
        .into_iter()
        .enumerate()
        .map(|(i, tok)| {
            json!({"id": TINY_FIRST_SPECIAL_ID + i, "content": tok, "single_word": false,
                   "lstrip": false, "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "ignore_merges": false, "vocab": vocab, "merges": []}
    })
}

fn config_json(g: &TinyGeometry) -> Value {
    json!({
        "architectures": ["Idefics3ForConditionalGeneration"],
        "model_type": "idefics3",
        "image_token_id": token_id("<image>"),
        "scale_factor": g.scale_factor,
        "tie_word_embeddings": false,
        "vision_config": {
            "model_type": "idefics3_vision",
            "hidden_size": g.vision_hidden,
            "intermediate_size": g.vision_intermediate,
            "num_hidden_layers": g.vision_layers,
            "num_attention_heads": g.vision_heads,
            "num_channels": 3,
            "image_size": g.image_size,
            "patch_size": g.patch_size,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6
        },
        "text_config": {
            "model_type": "llama",
            "hidden_act": "silu",
            "hidden_size": g.text_hidden,
            "intermediate_size": g.text_intermediate,
            "vocab_size": tiny_vocab_size(),
            "num_hidden_layers": g.text_layers,
            "num_attention_heads": g.text_heads,
            "num_key_value_heads": g.text_kv_heads,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "max_position_embeddings": g.max_position_embeddings,
            "tie_word_embeddings": false
        }
    })
}

fn preprocessor_json(g: &TinyGeometry) -> Value {
    json!({
        "image_processor_type": "Idefics3ImageProcessor",
        "processor_class": "Idefics3Processor",
        "do_convert_rgb": true,
        "do_resize": true,
        "size": {"longest_edge": g.resize_longest_edge},
        "resample": 1,
        "do_image_splitting": g.image_splitting,
        "max_image_size": {"longest_edge": g.image_size},
        "do_rescale": true,
        "rescale_factor": 1.0 / 255.0,
        "do_normalize": true,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "do_pad": true
    })
}

/// Every tensor of the checkpoint with its shape, in a fixed order, and whether it is a norm
/// weight (ones), a bias (zeros) or a matrix (random).
fn tensor_specs(g: &TinyGeometry) -> Vec<(String, Vec<usize>, Init)> {
    let (dv, iv, p) = (g.vision_hidden, g.vision_intermediate, g.patch_size);
    let np = (g.image_size / p) * (g.image_size / p);
    let (dt, it) = (g.text_hidden, g.text_intermediate);
    let hd = dt / g.text_heads;
    let v = tiny_vocab_size();
    let s = g.scale_factor;
    let mut specs = vec![
        ("model.vision_model.embeddings.patch_embedding.weight".to_string(), vec![dv, 3, p, p], Init::Random),
        ("model.vision_model.embeddings.patch_embedding.bias".to_string(), vec![dv], Init::Zeros),
        ("model.vision_model.embeddings.position_embedding.weight".to_string(), vec![np, dv], Init::Random),
    ];
    for i in 0..g.vision_layers {
        let l = format!("model.vision_model.encoder.layers.{i}");
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            specs.push((format!("{l}.self_attn.{proj}.weight"), vec![dv, dv], Init::Random));
            specs.push((format!("{l}.self_attn.{proj}.bias"), vec![dv], Init::Zeros));
        }
        for norm in ["layer_norm1", "layer_norm2"] {
            specs.push((format!("{l}.{norm}.weight"), vec![dv], Init::Ones));
            specs.push((format!("{l}.{norm}.bias"), vec![dv], Init::Zeros));
        }
        specs.push((format!("{l}.mlp.fc1.weight"), vec![iv, dv], Init::Random));
        specs.push((format!("{l}.mlp.fc1.bias"), vec![iv], Init::Zeros));
        specs.push((format!("{l}.mlp.fc2.weight"), vec![dv, iv], Init::Random));
        specs.push((format!("{l}.mlp.fc2.bias"), vec![dv], Init::Zeros));
    }
    specs.push(("model.vision_model.post_layernorm.weight".to_string(), vec![dv], Init::Ones));
    specs.push(("model.vision_model.post_layernorm.bias".to_string(), vec![dv], Init::Zeros));
    specs.push(("model.connector.modality_projection.proj.weight".to_string(), vec![dt, dv * s * s], Init::Random));
    specs.push(("model.text_model.embed_tokens.weight".to_string(), vec![v, dt], Init::Random));
    for j in 0..g.text_layers {
        let l = format!("model.text_model.layers.{j}");
        specs.push((format!("{l}.self_attn.q_proj.weight"), vec![g.text_heads * hd, dt], Init::Random));
        specs.push((format!("{l}.self_attn.k_proj.weight"), vec![g.text_kv_heads * hd, dt], Init::Random));
        specs.push((format!("{l}.self_attn.v_proj.weight"), vec![g.text_kv_heads * hd, dt], Init::Random));
        specs.push((format!("{l}.self_attn.o_proj.weight"), vec![dt, g.text_heads * hd], Init::Random));
        specs.push((format!("{l}.mlp.gate_proj.weight"), vec![it, dt], Init::Random));
        specs.push((format!("{l}.mlp.up_proj.weight"), vec![it, dt], Init::Random));
        specs.push((format!("{l}.mlp.down_proj.weight"), vec![dt, it], Init::Random));
        specs.push((format!("{l}.input_layernorm.weight"), vec![dt], Init::Ones));
        specs.push((format!("{l}.post_attention_layernorm.weight"), vec![dt], Init::Ones));
    }
    specs.push(("model.text_model.norm.weight".to_string(), vec![dt], Init::Ones));
    specs.push(("lm_head.weight".to_string(), vec![v, dt], Init::Random));
    specs
}

#[derive(Debug, Clone, Copy)]
enum Init {
    Random,
    Ones,
    Zeros,
}

/// A normal sample scaled by 0.02, by the Box-Muller transform (so the values depend only on the
/// seeded stream, not on a distribution crate's algorithm).
fn normal_02(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * 0.02) as f32
}

fn write_json(dir: &Path, name: &str, value: &Value) -> Result<(), RunnerError> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value).expect("JSON values always serialise");
    std::fs::write(&path, text + "\n").map_err(|source| RunnerError::Io { path, source })
}

/// Writes a tiny checkpoint into `dir` (created if needed) and returns the directory.
pub fn write_tiny_checkpoint(dir: &Path, geometry: &TinyGeometry, seed: u64) -> Result<PathBuf, RunnerError> {
    std::fs::create_dir_all(dir).map_err(|source| RunnerError::Io { path: dir.to_path_buf(), source })?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tensors = HashMap::new();
    for (name, shape, init) in tensor_specs(geometry) {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = match init {
            Init::Random => (0..n).map(|_| normal_02(&mut rng)).collect(),
            Init::Ones => vec![1.0; n],
            Init::Zeros => vec![0.0; n],
        };
        let tensor = Tensor::from_vec(data, shape, &Device::Cpu)
            .map_err(|e| RunnerError::Fixture(format!("tensor {name}: {e}")))?;
        tensors.insert(name, tensor);
    }
    let weights = dir.join("model.safetensors");
    candle_core::safetensors::save(&tensors, &weights)
        .map_err(|e| RunnerError::Fixture(format!("writing {}: {e}", weights.display())))?;

    write_json(dir, "config.json", &config_json(geometry))?;
    write_json(dir, "tokenizer.json", &tokenizer_json())?;
    write_json(
        dir,
        "tokenizer_config.json",
        &json!({
            "bos_token": "<|im_start|>",
            "eos_token": "<end_of_utterance>",
            "unk_token": "<|endoftext|>",
            "pad_token": "<|im_end|>",
            "model_max_length": geometry.max_position_embeddings,
            "chat_template": STOCK_SMOLVLM_TEMPLATE
        }),
    )?;
    write_json(dir, "chat_template.json", &json!({"chat_template": STOCK_SMOLVLM_TEMPLATE}))?;
    write_json(dir, "preprocessor_config.json", &preprocessor_json(geometry))?;
    write_json(
        dir,
        "processor_config.json",
        &json!({"image_seq_len": geometry.image_seq_len(), "processor_class": "Idefics3Processor"}),
    )?;
    write_json(
        dir,
        "generation_config.json",
        &json!({"bos_token_id": token_id("<|im_start|>"), "eos_token_id": token_id("<end_of_utterance>"),
                "pad_token_id": token_id("<|im_end|>")}),
    )?;
    Ok(dir.to_path_buf())
}

/// Counts the tokens the tiny tokenizer gives `text`: one per special token, one per other
/// character. Only meaningful for ASCII text.
pub fn tiny_token_count(text: &str) -> usize {
    let specials = tiny_added_tokens();
    let mut rest = text;
    let mut count = 0;
    while !rest.is_empty() {
        if let Some(tok) = specials.iter().find(|t| rest.starts_with(t.as_str())) {
            rest = &rest[tok.len()..];
        } else {
            let c = rest.chars().next().expect("rest is not empty");
            rest = &rest[c.len_utf8()..];
        }
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_matches_the_ascii_recipe() {
        assert_eq!(tiny_vocab_size(), 119);
        assert_eq!(token_id("<image>"), 99);
        assert_eq!(token_id("<end_of_utterance>"), 97);
        assert_eq!(token_id("<row_4_col_4>"), 118);
    }

    #[test]
    fn seq_len_follows_the_processor_formula() {
        assert_eq!(TinyGeometry::default().image_seq_len(), 4);
        let smolvlm = TinyGeometry { image_size: 512, patch_size: 16, scale_factor: 4, ..Default::default() };
        assert_eq!(smolvlm.image_seq_len(), 64);
        let big = TinyGeometry { image_size: 384, patch_size: 14, scale_factor: 3, ..Default::default() };
        assert_eq!(big.image_seq_len(), 81);
    }

    #[test]
    fn same_seed_gives_identical_files() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_tiny_checkpoint(a.path(), &TinyGeometry::default(), 7).unwrap();
        write_tiny_checkpoint(b.path(), &TinyGeometry::default(), 7).unwrap();
        for f in ["model.safetensors", "config.json", "tokenizer.json", "preprocessor_config.json"] {
            let x = std::fs::read(a.path().join(f)).unwrap();
            let y = std::fs::read(b.path().join(f)).unwrap();
            assert_eq!(x, y, "{f} differs between two writes with the same seed");
        }
        let c = tempfile::tempdir().unwrap();
        write_tiny_checkpoint(c.path(), &TinyGeometry::default(), 8).unwrap();
        assert_ne!(
            std::fs::read(a.path().join("model.safetensors")).unwrap(),
            std::fs::read(c.path().join("model.safetensors")).unwrap()
        );
    }

    #[test]
    fn token_count_treats_specials_as_one_token() {
        assert_eq!(tiny_token_count("<|im_start|>User:<image>ab<end_of_utterance>\n"), 1 + 5 + 1 + 2 + 1 + 1);
    }
}
