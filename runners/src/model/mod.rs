//! Models: the alias registry, finding a model on disk, downloading it, preparing it for
//! mistral.rs, the processor's image-splitting geometry, and the generated tiny checkpoint.

mod fetch;
mod prepare;
mod registry;
mod resolve;
pub mod split;
pub mod tiny;

pub use fetch::fetch_model;
pub use prepare::{
    prepare_model_dir, prepare_model_dir_with, ImageOptions, PreparedModel, FIXED_TEMPLATE, TEMPLATE_FILE,
};
pub use registry::{
    default_prompt_profile, image_options_for, lookup_alias, ModelAlias, AUTHORS_PROMPT_PROFILE, LARGE_MODEL_EVAL_EDGE,
    MODEL_ALIASES, SMALL_MODELS_EVAL_EDGE,
};
pub use resolve::{check_model_dir, hf_cache_snapshot, resolve_model, ResolvedModel, TINY_SEED};
