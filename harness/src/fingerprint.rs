//! A run's config fingerprint: the SHA-256 of the part of `run.json` that decides its results.
//!
//! Two run directories with the same fingerprint ran the same tasks (names, versions, full
//! definitions, prompt and metric profiles, data files and their hashes, sample counts and
//! `--limit`), the same model files (by hash) through the same engine and dtype, with the same
//! image settings (splitting, longest edge, tile size) and encoder cache, with the same SmolBench
//! version, split into the same number of shards. What may differ: the machine, the paths, the
//! times, the run id and the command line. Parts of a sharded run must agree on it to be merged,
//! and a resumed run must agree with the run it continues: [`resume_difference`] names the
//! command-line option that differs.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use smolbench_core::RunManifest;

/// The fields of `manifest` that decide its results, as JSON (see the module doc).
pub fn config_of(manifest: &RunManifest, shard_count: usize) -> Value {
    let model = &manifest.model;
    let tasks: Vec<Value> = manifest
        .tasks
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "version": t.version,
                "config": t.config,
                "data_revision": t.data_revision,
                "data_files": t.data_files,
                "available_samples": t.available_samples,
                "selected_samples": t.selected_samples,
                "prompt_profile": t.prompt_profile,
                "metric_profile": t.metric_profile,
            })
        })
        .collect();
    json!({
        "format_version": manifest.format_version,
        "smolbench_version": manifest.smolbench_version,
        "limit": manifest.limit,
        "shard_count": shard_count,
        "tasks": tasks,
        "model": {
            "repo_id": model.repo_id,
            "files": model.files,
            "prepare_changes": model.prepare_changes,
            "engine": model.engine,
            "dtype": model.dtype,
            "tokens_per_image": model.tokens_per_image,
            "image_splitting": model.image_splitting,
            "longest_edge": model.longest_edge,
            "tile_size": model.tile_size,
            "encoder_cache": model.encoder_cache,
        },
    })
}

/// The parts of the config each command-line option decides, in the order they are checked: the
/// option's name and the JSON of what it set.
fn option_parts(manifest: &RunManifest, shard_count: usize) -> Vec<(&'static str, Value)> {
    let tasks = |f: &dyn Fn(&smolbench_core::TaskRecord) -> Value| Value::Array(manifest.tasks.iter().map(f).collect());
    let model = &manifest.model;
    vec![
        ("--suite/--task", json!({"tasks": tasks(&|t| json!(t.name))})),
        ("--prompt-profile", json!({"prompt_profile": tasks(&|t| json!(t.prompt_profile))})),
        ("--metric-profile", json!({"metric_profile": tasks(&|t| json!(t.metric_profile))})),
        ("--limit", json!({"limit": manifest.limit})),
        ("--shard", json!({"shard_count": shard_count})),
        ("--encoder-cache", json!({"encoder_cache": model.encoder_cache})),
        ("--image-splitting", json!({"image_splitting": model.image_splitting})),
        ("--longest-edge", json!({"longest_edge": model.longest_edge, "tile_size": model.tile_size})),
        ("--model/--model-path", json!({"repo_id": model.repo_id, "files": model.files})),
        ("--endpoint/--cpu", json!({"engine": model.engine, "dtype": model.dtype})),
        (
            "--data-dir",
            json!({"data": tasks(&|t| json!({
                "revision": t.data_revision, "files": t.data_files, "samples": t.available_samples
            }))}),
        ),
    ]
}

/// Why `fresh` cannot continue the run recorded as `stored`: the option that differs and how,
/// e.g. `--encoder-cache (encoder_cache (false vs true))`; `None` when their configs agree.
pub fn resume_difference(stored: &RunManifest, fresh: &RunManifest, shard_count: usize) -> Option<String> {
    let named = option_parts(stored, shard_count)
        .into_iter()
        .zip(option_parts(fresh, shard_count))
        .find_map(|((option, a), (_, b))| first_difference(&a, &b).map(|diff| format!("{option} ({diff})")));
    named.or_else(|| {
        first_difference(&config_of(stored, shard_count), &config_of(fresh, shard_count))
            .map(|diff| format!("the recorded config ({diff})"))
    })
}

/// Lower-case hex SHA-256 of the canonical (key-sorted, compact) JSON of [`config_of`].
pub fn config_fingerprint(manifest: &RunManifest, shard_count: usize) -> String {
    let mut canonical = Vec::new();
    write_canonical(&config_of(manifest, shard_count), &mut canonical);
    hex::encode(Sha256::digest(canonical))
}

/// Compact JSON with every object's keys sorted, whatever order serde_json keeps them in (the
/// `preserve_order` feature may be on in the dependency graph).
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(serde_json::to_vec(key).expect("strings serialise"));
                out.push(b':');
                write_canonical(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend(serde_json::to_vec(scalar).expect("scalars serialise")),
    }
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// The first place where two configs differ, as `path (a vs b)`, e.g.
/// `tasks[0].data_files[1].sha256 (3fa1… vs 9c2e…)`; `None` when they are equal.
pub fn first_difference(a: &Value, b: &Value) -> Option<String> {
    fn walk(path: &str, a: &Value, b: &Value) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|k| {
                    let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(&sub, x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null))
                })
            }
            (Value::Array(x), Value::Array(y)) => {
                let common = x.iter().zip(y).enumerate().find_map(|(i, (p, q))| walk(&format!("{path}[{i}]"), p, q));
                common.or_else(|| (x.len() != y.len()).then(|| format!("{path} ({} vs {} entries)", x.len(), y.len())))
            }
            _ if a == b => None,
            _ => Some(format!("{path} ({} vs {})", short(a), short(b))),
        }
    }
    walk("", a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_ignores_key_order() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_canonical(&serde_json::from_str(r#"{"b": [1, {"y": 2, "x": "q"}], "a": null}"#).unwrap(), &mut a);
        write_canonical(&serde_json::from_str(r#"{"a": null, "b": [1, {"x": "q", "y": 2}]}"#).unwrap(), &mut b);
        assert_eq!(String::from_utf8(a).unwrap(), r#"{"a":null,"b":[1,{"x":"q","y":2}]}"#);
        assert_eq!(String::from_utf8(b).unwrap(), r#"{"a":null,"b":[1,{"x":"q","y":2}]}"#);
    }

    #[test]
    fn differences_are_named_by_path() {
        let a = json!({"limit": 4, "tasks": [{"name": "docvqa", "files": [{"sha256": "aa"}]}]});
        let mut b = a.clone();
        assert_eq!(first_difference(&a, &b), None);
        b["tasks"][0]["files"][0]["sha256"] = json!("bb");
        assert_eq!(first_difference(&a, &b).unwrap(), "tasks[0].files[0].sha256 (aa vs bb)");
        let c = json!({"limit": null, "tasks": []});
        assert_eq!(first_difference(&a, &c).unwrap(), "limit (4 vs null)");
        let d = json!({"limit": 4, "tasks": []});
        assert_eq!(first_difference(&a, &d).unwrap(), "tasks (1 vs 0 entries)");
    }
}
