//! Turning a SmolVLM or SmolVLM2 directory into one that mistral.rs 0.8.1 loads and runs.
//!
//! mistral.rs 0.8.1 parses configs strictly, does not know SmolVLM2's architecture name, needs
//! `do_pad` and `do_resize` spelled out, falls back to a wrong `image_seq_len` and ships a chat
//! template that drops plain-text messages. [`prepare_model_dir_with`] writes a normalised copy
//! (weights are symlinked, not copied) with the image splitting and resize edge a run asks for
//! ([`ImageOptions`]), and returns every change it made, so a run's record says exactly how the
//! model was altered before loading. Splitting itself runs on the patched engine
//! (`runners/patches/`); stock 0.8.1 panics on it.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::split::{image_layout, ImageLayout, SplitSettings};
use crate::error::RunnerError;

/// The chat template the prepared directory uses: SmolVLM's layout, keeping string content
/// (text-only turns, system prompts) instead of dropping it.
pub const FIXED_TEMPLATE: &str = include_str!("../../templates/smolvlm_fixed.jinja");

/// File name of the fixed template inside a prepared directory.
pub const TEMPLATE_FILE: &str = "smolbench_chat_template.jinja";

/// How a run wants images processed. `None` keeps what the source directory's
/// `preprocessor_config.json` says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// Image splitting on or off (`do_image_splitting`).
    pub splitting: Option<bool>,
    /// The longest edge images are resized to before splitting (`size.longest_edge`).
    pub longest_edge: Option<u32>,
}

/// The outcome of preparing a model directory.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedModel {
    /// The normalised directory the engine loads.
    pub dir: PathBuf,
    /// The chat template file to pass to the engine.
    pub template: PathBuf,
    /// Every change made, one sentence each.
    pub changes: Vec<String>,
    /// Image tokens per tile after the change (`image_seq_len`).
    pub image_seq_len: usize,
    /// Prompt tokens one unsplit image adds: its placeholders plus the three markers
    /// `<fake_token_around_image><global-img>...<fake_token_around_image>`.
    pub tokens_per_image: usize,
    /// Whether the source directory asked for image splitting.
    pub source_image_splitting: bool,
    /// Whether the prepared directory splits images.
    pub image_splitting: bool,
    /// The longest edge images are first resized to (`None`: no first resize).
    pub longest_edge: Option<u32>,
    /// The tile edge in pixels (`max_image_size.longest_edge`).
    pub tile_size: u32,
}

impl PreparedModel {
    /// The processor settings that decide an image's tiles.
    pub fn split_settings(&self) -> SplitSettings {
        SplitSettings {
            splitting: self.image_splitting,
            longest_edge: self.longest_edge,
            tile: self.tile_size,
            image_seq_len: self.image_seq_len,
        }
    }

    /// What an image of `width` x `height` pixels becomes under this model's processor.
    pub fn image_layout(&self, width: u32, height: u32) -> ImageLayout {
        image_layout(&self.split_settings(), width, height)
    }
}

fn read_json(path: &Path) -> Result<Value, RunnerError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunnerError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text)
        .map_err(|e| RunnerError::BadModelConfig { path: path.to_path_buf(), problem: format!("not valid JSON ({e})") })
}

fn write_json(path: &Path, value: &Value) -> Result<(), RunnerError> {
    let text = serde_json::to_string_pretty(value).expect("JSON values always serialise");
    write_atomically(path, (text + "\n").as_bytes())
}

/// A temporary name beside `path`, unique to this process.
fn temporary_beside(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp.{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `path` through a temporary file and a rename, so processes preparing the same model at
/// once (shards on one machine) never see a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RunnerError> {
    let tmp = temporary_beside(path);
    std::fs::write(&tmp, bytes).map_err(|source| RunnerError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| RunnerError::Io { path: path.to_path_buf(), source })
}

/// Keys without a sensible default: they fix tensor shapes, so a config without them is unusable.
const REQUIRED_TEXT_KEYS: [&str; 5] =
    ["hidden_size", "intermediate_size", "vocab_size", "num_hidden_layers", "num_attention_heads"];
const REQUIRED_VISION_KEYS: [&str; 3] = ["hidden_size", "patch_size", "num_attention_heads"];

/// transformers' defaults for keys that Hugging Face leaves out of saved configs when they equal
/// the class default (`SmolVLMVisionConfig`, `LlamaConfig`).
fn vision_defaults() -> [(&'static str, Value); 6] {
    [
        ("intermediate_size", json!(3072)),
        ("num_hidden_layers", json!(12)),
        ("num_channels", json!(3)),
        ("image_size", json!(224)),
        ("hidden_act", json!("gelu_pytorch_tanh")),
        ("layer_norm_eps", json!(1e-6)),
    ]
}

fn fill(section: &mut Map<String, Value>, prefix: &str, key: &str, value: Value, changes: &mut Vec<String>) {
    if section.get(key).is_none_or(Value::is_null) {
        changes.push(format!("config.json: set {prefix}.{key} = {value} (transformers default, absent from the file)"));
        section.insert(key.to_string(), value);
    }
}

fn section<'a>(config: &'a mut Value, name: &str, path: &Path) -> Result<&'a mut Map<String, Value>, RunnerError> {
    config.get_mut(name).and_then(Value::as_object_mut).ok_or_else(|| RunnerError::BadModelConfig {
        path: path.to_path_buf(),
        problem: format!("missing required key `{name}`"),
    })
}

fn require(section: &Map<String, Value>, prefix: &str, keys: &[&str], path: &Path) -> Result<(), RunnerError> {
    match keys.iter().find(|k| section.get(**k).is_none_or(Value::is_null)) {
        Some(k) => Err(RunnerError::BadModelConfig {
            path: path.to_path_buf(),
            problem: format!("missing required key `{prefix}.{k}`"),
        }),
        None => Ok(()),
    }
}

fn normalise_config(
    config: &mut Value,
    path: &Path,
    image_token_id: Option<u64>,
    changes: &mut Vec<String>,
) -> Result<(), RunnerError> {
    let top_tie = config.get("tie_word_embeddings").cloned();
    {
        let vision = section(config, "vision_config", path)?;
        require(vision, "vision_config", &REQUIRED_VISION_KEYS, path)?;
        for (key, value) in vision_defaults() {
            fill(vision, "vision_config", key, value, changes);
        }
    }
    {
        let text = section(config, "text_config", path)?;
        require(text, "text_config", &REQUIRED_TEXT_KEYS, path)?;
        fill(text, "text_config", "hidden_act", json!("silu"), changes);
        fill(text, "text_config", "rms_norm_eps", json!(1e-6), changes);
        // transformers 5 writes rope_theta inside rope_parameters.
        let rope = text.get("rope_parameters").and_then(|r| r.get("rope_theta")).cloned();
        fill(text, "text_config", "rope_theta", rope.unwrap_or(json!(10000.0)), changes);
        fill(text, "text_config", "max_position_embeddings", json!(2048), changes);
        let heads = text.get("num_attention_heads").cloned().unwrap_or(Value::Null);
        fill(text, "text_config", "num_key_value_heads", heads, changes);
        fill(text, "text_config", "tie_word_embeddings", top_tie.unwrap_or(json!(false)), changes);
    }
    let top = config.as_object_mut().ok_or_else(|| RunnerError::BadModelConfig {
        path: path.to_path_buf(),
        problem: "the top level is not a JSON object".into(),
    })?;
    fill(top, "(top)", "scale_factor", json!(2), changes);
    fill(top, "(top)", "image_token_id", json!(image_token_id.unwrap_or(128257)), changes);
    let arch = json!(["Idefics3ForConditionalGeneration"]);
    if top.get("architectures") != Some(&arch) {
        changes.push(format!(
            "config.json: architectures {} -> [\"Idefics3ForConditionalGeneration\"] (mistral.rs 0.8.1 loads SmolVLM2 only through the Idefics3 loader)",
            top.get("architectures").unwrap_or(&Value::Null)
        ));
        top.insert("architectures".into(), arch);
    }
    Ok(())
}

fn image_token_id(tokenizer: &Value) -> Option<u64> {
    tokenizer
        .get("added_tokens")?
        .as_array()?
        .iter()
        .find(|t| t.get("content").and_then(Value::as_str) == Some("<image>"))?
        .get("id")?
        .as_u64()
}

fn longest_edge(value: Option<&Value>) -> Option<u64> {
    value?.get("longest_edge")?.as_u64()
}

/// Writes the prepared copy of `source` under `prepared_root`, keeping the source's image
/// settings, and returns what was done.
pub fn prepare_model_dir(source: &Path, prepared_root: &Path) -> Result<PreparedModel, RunnerError> {
    prepare_model_dir_with(source, prepared_root, ImageOptions::default())
}

/// Writes the prepared copy of `source` under `prepared_root` with the image settings of
/// `options`, and returns what was done.
pub fn prepare_model_dir_with(
    source: &Path,
    prepared_root: &Path,
    options: ImageOptions,
) -> Result<PreparedModel, RunnerError> {
    let source = std::fs::canonicalize(source).map_err(|e| RunnerError::BadModelDir {
        path: source.to_path_buf(),
        problem: format!("cannot be read ({e})"),
    })?;
    let mut changes = Vec::new();

    let tokenizer = read_json(&source.join("tokenizer.json"))?;
    let config_path = source.join("config.json");
    let mut config = read_json(&config_path)?;
    normalise_config(&mut config, &config_path, image_token_id(&tokenizer), &mut changes)?;

    // Image processor settings: preprocessor_config.json, or (transformers 5) the
    // `image_processor` section of processor_config.json.
    let processor_path = source.join("processor_config.json");
    let mut processor = if processor_path.is_file() { read_json(&processor_path)? } else { json!({}) };
    let pre_path = source.join("preprocessor_config.json");
    let mut pre = if pre_path.is_file() {
        read_json(&pre_path)?
    } else if let Some(section) = processor.get("image_processor") {
        changes.push(
            "preprocessor_config.json: written from processor_config.json[\"image_processor\"] (transformers 5 layout)"
                .into(),
        );
        section.clone()
    } else {
        return Err(RunnerError::BadModelDir {
            path: source.clone(),
            problem: "has neither preprocessor_config.json nor an image_processor section in processor_config.json"
                .into(),
        });
    };
    let pre_obj = pre.as_object_mut().ok_or_else(|| RunnerError::BadModelConfig {
        path: pre_path.clone(),
        problem: "the top level is not a JSON object".into(),
    })?;
    // transformers treats an absent do_image_splitting as true.
    let source_image_splitting = pre_obj.get("do_image_splitting").and_then(Value::as_bool).unwrap_or(true);
    let image_splitting = options.splitting.unwrap_or(source_image_splitting);
    if pre_obj.get("do_image_splitting") != Some(&json!(image_splitting)) {
        let why = match options.splitting {
            Some(_) => "--image-splitting",
            None => "the processor's default, written out",
        };
        changes.push(format!(
            "preprocessor_config.json: do_image_splitting {} -> {image_splitting} ({why})",
            pre_obj.get("do_image_splitting").map(Value::to_string).unwrap_or_else(|| "absent (true)".into())
        ));
        pre_obj.insert("do_image_splitting".into(), json!(image_splitting));
    }
    if pre_obj.get("do_pad") != Some(&json!(true)) {
        changes.push(
            "preprocessor_config.json: do_pad -> true (mistral.rs 0.8.1 builds the pixel mask only when padding)"
                .into(),
        );
        pre_obj.insert("do_pad".into(), json!(true));
    }

    let vision = &config["vision_config"];
    let patch = vision["patch_size"].as_u64().unwrap_or(1).max(1);
    let tile = longest_edge(pre_obj.get("max_image_size")).or_else(|| vision["image_size"].as_u64()).unwrap_or(patch);
    if longest_edge(pre_obj.get("max_image_size")).is_none() {
        changes.push(format!(
            "preprocessor_config.json: max_image_size -> {{\"longest_edge\": {tile}}} (the vision encoder's image_size)"
        ));
        pre_obj.insert("max_image_size".into(), json!({ "longest_edge": tile }));
    }
    // The first resize: transformers resizes unless do_resize is false; mistral.rs 0.8.1 only
    // when do_resize is written out.
    let source_resize = pre_obj.get("do_resize").and_then(Value::as_bool).unwrap_or(true);
    let source_edge = longest_edge(pre_obj.get("size"));
    let resize_edge = match (options.longest_edge, source_resize, source_edge) {
        (Some(edge), _, _) => Some(edge as u64),
        (None, false, _) => None,
        (None, true, Some(edge)) => Some(edge),
        // The processor class default is four tiles.
        (None, true, None) => Some(4 * tile),
    };
    if let Some(edge) = resize_edge {
        if pre_obj.get("do_resize") != Some(&json!(true)) {
            changes.push(format!(
                "preprocessor_config.json: do_resize {} -> true (mistral.rs 0.8.1 resizes only when it is written out)",
                pre_obj.get("do_resize").map(Value::to_string).unwrap_or_else(|| "absent (true)".into())
            ));
            pre_obj.insert("do_resize".into(), json!(true));
        }
        if source_edge != Some(edge) || pre_obj.get("size").and_then(|s| s.get("height")).is_some() {
            let why =
                if options.longest_edge.is_some() { "--longest-edge" } else { "the processor default of 4 tiles" };
            changes.push(format!(
                "preprocessor_config.json: size {} -> {{\"longest_edge\": {edge}}} ({why})",
                pre_obj.get("size").map(Value::to_string).unwrap_or_else(|| "absent".into())
            ));
            pre_obj.insert("size".into(), json!({ "longest_edge": edge }));
        }
    }
    let scale = config["scale_factor"].as_u64().unwrap_or(1).max(1);
    let side = tile / patch;
    let image_seq_len = (side * side / (scale * scale)) as usize;

    let proc_obj = processor.as_object_mut().ok_or_else(|| RunnerError::BadModelConfig {
        path: processor_path.clone(),
        problem: "the top level is not a JSON object".into(),
    })?;
    let current = proc_obj.get("image_seq_len").or_else(|| proc_obj.get("image_seq_length")).and_then(Value::as_u64);
    if current != Some(image_seq_len as u64) {
        changes.push(format!(
            "processor_config.json: image_seq_len {} -> {image_seq_len} ((tile {tile} / patch {patch})^2 / scale {scale}^2)",
            current.map(|c| c.to_string()).unwrap_or_else(|| "absent".into())
        ));
        proc_obj.insert("image_seq_len".into(), json!(image_seq_len));
    }
    if proc_obj.remove("chat_template").is_some() {
        changes.push("processor_config.json: removed chat_template (it would override the fixed template)".into());
    }
    changes.push(format!(
        "chat template: {TEMPLATE_FILE} keeps plain-string message content (the stock SmolVLM template drops it)"
    ));

    // The prepared folder is keyed by the source path and its config contents.
    let mut hasher = Sha256::new();
    hasher.update(source.to_string_lossy().as_bytes());
    hasher.update(config.to_string());
    hasher.update(pre.to_string());
    hasher.update(processor.to_string());
    let key = hex::encode(&hasher.finalize()[..8]);
    let name = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let dir = prepared_root.join(format!("{name}-{key}"));
    std::fs::create_dir_all(&dir).map_err(|source| RunnerError::Io { path: dir.clone(), source })?;

    write_json(&dir.join("config.json"), &config)?;
    write_json(&dir.join("preprocessor_config.json"), &pre)?;
    write_json(&dir.join("processor_config.json"), &processor)?;
    let template = dir.join(TEMPLATE_FILE);
    write_atomically(&template, FIXED_TEMPLATE.as_bytes())?;
    link_remaining_files(&source, &dir)?;

    Ok(PreparedModel {
        dir,
        template,
        changes,
        image_seq_len,
        tokens_per_image: image_seq_len + 3,
        source_image_splitting,
        image_splitting,
        longest_edge: resize_edge.map(|e| e as u32),
        tile_size: tile as u32,
    })
}

/// Symlinks every other file of the source (weights, tokenizer, generation config) into the
/// prepared folder. `chat_template.json` is left out: the fixed template replaces it.
fn link_remaining_files(source: &Path, dir: &Path) -> Result<(), RunnerError> {
    let rewritten =
        ["config.json", "preprocessor_config.json", "processor_config.json", "chat_template.json", TEMPLATE_FILE];
    let entries = std::fs::read_dir(source).map_err(|e| RunnerError::Io { path: source.to_path_buf(), source: e })?;
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        if rewritten.iter().any(|r| name == *r) || !entry.path().is_file() {
            continue;
        }
        // A new link under a temporary name renamed over the old one: another process preparing
        // the same model at the same time never finds the file missing.
        let link = dir.join(&name);
        let tmp = temporary_beside(&link);
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(entry.path(), &tmp).map_err(|e| RunnerError::Io { path: tmp.clone(), source: e })?;
        std::fs::rename(&tmp, &link).map_err(|e| RunnerError::Io { path: link.clone(), source: e })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tiny::{write_tiny_checkpoint, TinyGeometry};

    fn tiny() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_checkpoint(dir.path(), &TinyGeometry::default(), 3).unwrap();
        dir
    }

    #[test]
    fn smolvlm2_style_config_gets_defaults_and_the_idefics3_architecture() {
        let src = tiny();
        let path = src.path().join("config.json");
        let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["architectures"] = json!(["SmolVLMForConditionalGeneration"]);
        for key in ["intermediate_size", "num_hidden_layers", "num_channels", "hidden_act", "layer_norm_eps"] {
            config["vision_config"].as_object_mut().unwrap().remove(key);
        }
        config["text_config"].as_object_mut().unwrap().remove("hidden_act");
        std::fs::write(&path, config.to_string()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let prepared = prepare_model_dir(src.path(), out.path()).unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(prepared.dir.join("config.json")).unwrap()).unwrap();
        assert_eq!(written["vision_config"]["intermediate_size"], json!(3072));
        assert_eq!(written["text_config"]["hidden_act"], json!("silu"));
        assert_eq!(written["architectures"], json!(["Idefics3ForConditionalGeneration"]));
        assert!(prepared.changes.iter().any(|c| c.contains("vision_config.layer_norm_eps")));
        assert!(prepared.dir.join("model.safetensors").exists());
    }

    fn read_pre(prepared: &PreparedModel) -> Value {
        serde_json::from_str(&std::fs::read_to_string(prepared.dir.join("preprocessor_config.json")).unwrap()).unwrap()
    }

    #[test]
    fn splitting_can_be_turned_off_and_is_recorded() {
        let src = tiny();
        let path = src.path().join("preprocessor_config.json");
        let mut pre: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        pre.as_object_mut().unwrap().remove("do_image_splitting");
        std::fs::write(&path, pre.to_string()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let off = ImageOptions { splitting: Some(false), longest_edge: None };
        let prepared = prepare_model_dir_with(src.path(), out.path(), off).unwrap();
        assert!(prepared.source_image_splitting);
        assert!(!prepared.image_splitting);
        assert!(prepared
            .changes
            .iter()
            .any(|c| c.contains("do_image_splitting absent (true) -> false (--image-splitting)")));
        assert_eq!(read_pre(&prepared)["do_image_splitting"], json!(false));
        assert_eq!((prepared.image_seq_len, prepared.tokens_per_image), (4, 7));
        // Without an option the source's setting (absent = true, as in transformers) is kept.
        let kept = prepare_model_dir(src.path(), out.path()).unwrap();
        assert!(kept.image_splitting);
        assert_eq!(read_pre(&kept)["do_image_splitting"], json!(true));
    }

    #[test]
    fn longest_edge_and_splitting_options_are_written_and_recorded() {
        let src = tiny();
        let out = tempfile::tempdir().unwrap();
        let options = ImageOptions { splitting: Some(true), longest_edge: Some(192) };
        let prepared = prepare_model_dir_with(src.path(), out.path(), options).unwrap();
        let pre = read_pre(&prepared);
        assert_eq!(pre["do_image_splitting"], json!(true));
        assert_eq!(pre["size"], json!({"longest_edge": 192}));
        assert_eq!(pre["do_resize"], json!(true));
        assert_eq!((prepared.image_splitting, prepared.longest_edge, prepared.tile_size), (true, Some(192), 64));
        assert!(
            prepared
                .changes
                .iter()
                .any(|c| c.contains("size {\"longest_edge\":128} -> {\"longest_edge\": 192} (--longest-edge)")),
            "{:?}",
            prepared.changes
        );
        assert!(prepared.changes.iter().any(|c| c.contains("do_image_splitting false -> true")));
        // 192 px of 64 px tiles: a square image is 3 x 3 tiles plus the global view.
        assert_eq!(prepared.image_layout(50, 50).tiles(), 10);
        // Different options never share a prepared directory.
        let other = prepare_model_dir_with(src.path(), out.path(), ImageOptions::default()).unwrap();
        assert_ne!(other.dir, prepared.dir);
    }

    #[test]
    fn absent_resize_settings_get_the_processor_defaults() {
        let src = tiny();
        let path = src.path().join("preprocessor_config.json");
        let mut pre: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for key in ["do_resize", "size", "max_image_size"] {
            pre.as_object_mut().unwrap().remove(key);
        }
        std::fs::write(&path, pre.to_string()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let prepared = prepare_model_dir(src.path(), out.path()).unwrap();
        let written = read_pre(&prepared);
        assert_eq!(written["max_image_size"], json!({"longest_edge": 64}));
        assert_eq!(written["size"], json!({"longest_edge": 256}));
        assert_eq!(written["do_resize"], json!(true));
        assert_eq!(prepared.longest_edge, Some(256));
    }

    #[test]
    fn a_config_without_required_keys_names_the_key_and_the_file() {
        let src = tiny();
        let path = src.path().join("config.json");
        let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["text_config"].as_object_mut().unwrap().remove("vocab_size");
        std::fs::write(&path, config.to_string()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let err = prepare_model_dir(src.path(), out.path()).unwrap_err().to_string();
        assert!(err.contains("missing required key `text_config.vocab_size`"), "{err}");
        assert!(err.contains("config.json"), "{err}");
    }
}
