//! The one path from a model name to a loaded in-process model, shared by `bench run` and
//! `bench serve`: resolve the name (alias, cache, directory), choose the image options, write
//! the prepared copy, load it into mistral.rs, and describe it as a [`ModelRecord`].

use std::path::Path;

use anyhow::Result;
use smolbench_core::ModelRecord;
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::{
    image_options_for, prepare_model_dir_with, resolve_model, ImageOptions, PreparedModel, ResolvedModel,
};
use smolbench_runners::{engine_patch, MistralRsRunner, Runner, RunnerOptions};

use crate::plan::hash_dir_files;

/// A model found on this machine and its prepared copy.
#[derive(Debug)]
pub struct LocalModel {
    /// The model as found.
    pub resolved: ResolvedModel,
    /// Its prepared copy.
    pub prepared: PreparedModel,
}

/// Finds `name` (an alias or a directory; `path` overrides where it is read from).
pub fn resolve(name: &str, path: Option<&Path>, fixtures_root: &Path) -> Result<ResolvedModel> {
    Ok(resolve_model(name, path, &smolbench_core::hf_hub_dir(), fixtures_root)?)
}

/// Writes the prepared copy of `resolved` with the image options the model's alias implies
/// under `requested`. With `video`, splitting stays off unless asked for: SmolVLM2's processor
/// feeds video frames unsplit, one tile each, and frames go to the engine as images.
pub fn prepare(resolved: ResolvedModel, name: &str, requested: ImageOptions, video: bool) -> Result<LocalModel> {
    let mut image = image_options_for(name, requested);
    if video && requested.splitting.is_none() {
        if image.splitting == Some(true) {
            tracing::info!("image splitting off: video frames are single tiles, as SmolVLM2's processor makes them");
        }
        image.splitting = Some(false);
    }
    let prepared = prepare_model_dir_with(&resolved.dir, &smolbench_core::smolbench_home().join("prepared"), image)?;
    Ok(LocalModel { resolved, prepared })
}

/// A model loaded into the engine, with the record `run.json` and `/metrics` show.
pub struct LoadedModel {
    /// The engine.
    pub runner: MistralRsRunner,
    /// What was loaded: source, prepared copy, hashes, engine, image settings.
    pub record: ModelRecord,
}

impl LocalModel {
    /// Logs the prepare step's changes and loads the prepared copy on `compute`.
    pub async fn load(&self, compute: ComputeDevice, options: RunnerOptions) -> Result<LoadedModel> {
        for change in &self.prepared.changes {
            tracing::info!("prepare: {change}");
        }
        if self.prepared.source_image_splitting && !self.prepared.image_splitting {
            tracing::warn!("image splitting is off: scores are not comparable with published split-image numbers");
        }
        tracing::info!("loading {} on {compute}", self.prepared.dir.display());
        let runner = MistralRsRunner::load_with(&self.prepared, compute, options).await?;
        let record = self.record(&runner)?;
        Ok(LoadedModel { runner, record })
    }

    fn record(&self, runner: &MistralRsRunner) -> Result<ModelRecord> {
        let description = runner.describe();
        Ok(ModelRecord {
            requested: self.resolved.requested.clone(),
            repo_id: self.resolved.repo_id.clone(),
            source_dir: self.resolved.dir.display().to_string(),
            prepared_dir: self.prepared.dir.display().to_string(),
            prepare_changes: self.prepared.changes.clone(),
            files: hash_dir_files(&self.resolved.dir)?,
            engine: description.engine,
            dtype: description.dtype,
            tokens_per_image: self.prepared.tokens_per_image,
            image_splitting: self.prepared.image_splitting,
            longest_edge: self.prepared.longest_edge,
            tile_size: self.prepared.tile_size,
            encoder_cache: runner.options().encoder_cache,
            engine_patch: Some(engine_patch()),
        })
    }
}
