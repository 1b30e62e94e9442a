//! Models: the alias registry, finding a model on disk, downloading it, preparing it for
//! mistral.rs, and the generated tiny checkpoint.

mod fetch;
mod prepare;
mod registry;
mod resolve;
pub mod tiny;

pub use fetch::fetch_model;
pub use prepare::{prepare_model_dir, PreparedModel, FIXED_TEMPLATE, TEMPLATE_FILE};
pub use registry::{lookup_alias, ModelAlias, MODEL_ALIASES};
pub use resolve::{check_model_dir, hf_cache_snapshot, resolve_model, ResolvedModel, TINY_SEED};
