//! The models SmolBench knows by name: short aliases for the SmolVLM and SmolVLM2 checkpoints.

use crate::error::{did_you_mean, RunnerError};

/// A model known by alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelAlias {
    /// The short name used on the command line, e.g. `256m`.
    pub alias: &'static str,
    /// The Hugging Face repository; `None` for the generated tiny model.
    pub repo_id: Option<&'static str>,
    /// Whether it is a SmolVLM2 model (video capable, `SmolVLMForConditionalGeneration`).
    pub smolvlm2: bool,
    /// One line for `bench models`.
    pub description: &'static str,
}

/// Every alias, in the order `bench models` lists them.
pub const MODEL_ALIASES: &[ModelAlias] = &[
    ModelAlias {
        alias: "256m",
        repo_id: Some("HuggingFaceTB/SmolVLM-256M-Instruct"),
        smolvlm2: false,
        description: "SmolVLM-256M-Instruct (512 px tiles, 64 tokens per tile)",
    },
    ModelAlias {
        alias: "500m",
        repo_id: Some("HuggingFaceTB/SmolVLM-500M-Instruct"),
        smolvlm2: false,
        description: "SmolVLM-500M-Instruct (512 px tiles, 64 tokens per tile)",
    },
    ModelAlias {
        alias: "2.2b",
        repo_id: Some("HuggingFaceTB/SmolVLM-Instruct"),
        smolvlm2: false,
        description: "SmolVLM-Instruct, 2.2B (384 px tiles, 81 tokens per tile)",
    },
    ModelAlias {
        alias: "256m-video",
        repo_id: Some("HuggingFaceTB/SmolVLM2-256M-Video-Instruct"),
        smolvlm2: true,
        description: "SmolVLM2-256M-Video-Instruct",
    },
    ModelAlias {
        alias: "500m-video",
        repo_id: Some("HuggingFaceTB/SmolVLM2-500M-Video-Instruct"),
        smolvlm2: true,
        description: "SmolVLM2-500M-Video-Instruct",
    },
    ModelAlias {
        alias: "2.2b-video",
        repo_id: Some("HuggingFaceTB/SmolVLM2-2.2B-Instruct"),
        smolvlm2: true,
        description: "SmolVLM2-2.2B-Instruct",
    },
    ModelAlias {
        alias: "tiny",
        repo_id: None,
        smolvlm2: false,
        description: "generated, randomly initialised Idefics3 checkpoint for tests and the demo",
    },
];

/// Finds an alias (case-insensitive), suggesting the nearest one when there is no match.
pub fn lookup_alias(name: &str) -> Result<&'static ModelAlias, RunnerError> {
    let lower = name.to_ascii_lowercase();
    MODEL_ALIASES.iter().find(|m| m.alias == lower).ok_or_else(|| RunnerError::UnknownModel {
        name: name.to_string(),
        suggestion: did_you_mean(name, MODEL_ALIASES.iter().map(|m| m.alias)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_and_typos_get_suggestions() {
        assert_eq!(lookup_alias("256M").unwrap().repo_id, Some("HuggingFaceTB/SmolVLM-256M-Instruct"));
        let err = lookup_alias("265m").unwrap_err().to_string();
        assert!(err.contains("did you mean `256m`"), "{err}");
    }
}
