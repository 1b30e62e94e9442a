//! The models SmolBench knows by name: short aliases for the SmolVLM and SmolVLM2 checkpoints.

use super::prepare::ImageOptions;
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
    /// Image splitting as the authors evaluated the model (`--image-splitting` default).
    pub image_splitting: bool,
    /// The longest edge the authors evaluated at (`--longest-edge` default); `None` keeps the
    /// checkpoint's `size.longest_edge`.
    pub longest_edge: Option<u32>,
    /// The longest edge of a video frame (`video_sampling.video_size.longest_edge` of a SmolVLM2
    /// checkpoint: 512 for 256M/500M, 384 for 2.2B), for endpoint runs whose model files are not
    /// on this machine; `None` for image-only models and where the files are always local.
    pub video_frame_edge: Option<u32>,
    /// The prompt profile the authors evaluated with (`--prompt-profile` default for the tasks
    /// that define it; the others keep their own default, `lmms-eval`); `None` for `tiny`.
    pub prompt_profile: Option<&'static str>,
}

/// The prompt profile of the SmolVLM authors' evaluation: VLMEvalKit's prompts as rewritten by
/// its SmolVLM/SmolVLM2 wrappers, with their token budgets and VLMEvalKit's scoring.
pub const AUTHORS_PROMPT_PROFILE: &str = "vlmevalkit-smolvlm";

/// The longest edge SmolVLM-256M/500M were evaluated at (SmolVLM paper, Marafioti et al. 2025:
/// images resized to 1920 px, then cut into 512 px tiles).
pub const SMALL_MODELS_EVAL_EDGE: u32 = 1920;
/// The longest edge SmolVLM 2.2B was evaluated at (1536 px, 384 px tiles).
pub const LARGE_MODEL_EVAL_EDGE: u32 = 1536;

/// Every alias, in the order `bench models` lists them. The tiny model's default is splitting
/// off so the demo and tests stay fast; `--image-splitting on` exercises splitting on it.
pub const MODEL_ALIASES: &[ModelAlias] = &[
    ModelAlias {
        alias: "256m",
        repo_id: Some("HuggingFaceTB/SmolVLM-256M-Instruct"),
        smolvlm2: false,
        description: "SmolVLM-256M-Instruct (512 px tiles, 64 tokens per tile)",
        image_splitting: true,
        longest_edge: Some(SMALL_MODELS_EVAL_EDGE),
        video_frame_edge: None,
        prompt_profile: Some(AUTHORS_PROMPT_PROFILE),
    },
    ModelAlias {
        alias: "500m",
        repo_id: Some("HuggingFaceTB/SmolVLM-500M-Instruct"),
        smolvlm2: false,
        description: "SmolVLM-500M-Instruct (512 px tiles, 64 tokens per tile)",
        image_splitting: true,
        longest_edge: Some(SMALL_MODELS_EVAL_EDGE),
        video_frame_edge: None,
        prompt_profile: Some(AUTHORS_PROMPT_PROFILE),
    },
    ModelAlias {
        alias: "2.2b",
        repo_id: Some("HuggingFaceTB/SmolVLM-Instruct"),
        smolvlm2: false,
        description: "SmolVLM-Instruct, 2.2B (384 px tiles, 81 tokens per tile)",
        image_splitting: true,
        longest_edge: Some(LARGE_MODEL_EVAL_EDGE),
        video_frame_edge: None,
        prompt_profile: Some(AUTHORS_PROMPT_PROFILE),
    },
    ModelAlias {
        alias: "256m-video",
        repo_id: Some("HuggingFaceTB/SmolVLM2-256M-Video-Instruct"),
        smolvlm2: true,
        description: "SmolVLM2-256M-Video-Instruct",
        image_splitting: true,
        longest_edge: Some(SMALL_MODELS_EVAL_EDGE),
        video_frame_edge: Some(512),
        prompt_profile: Some(AUTHORS_PROMPT_PROFILE),
    },
    ModelAlias {
        alias: "500m-video",
        repo_id: Some("HuggingFaceTB/SmolVLM2-500M-Video-Instruct"),
        smolvlm2: true,
        description: "SmolVLM2-500M-Video-Instruct",
        image_splitting: true,
        longest_edge: Some(SMALL_MODELS_EVAL_EDGE),
        video_frame_edge: Some(512),
        prompt_profile: Some(AUTHORS_PROMPT_PROFILE),
    },
    ModelAlias {
        alias: "2.2b-video",
        repo_id: Some("HuggingFaceTB/SmolVLM2-2.2B-Instruct"),
        smolvlm2: true,
        description: "SmolVLM2-2.2B-Instruct",
        image_splitting: true,
        longest_edge: Some(LARGE_MODEL_EVAL_EDGE),
        video_frame_edge: Some(384),
        prompt_profile: Some(AUTHORS_PROMPT_PROFILE),
    },
    ModelAlias {
        alias: "tiny",
        repo_id: None,
        smolvlm2: false,
        description: "generated, randomly initialised Idefics3 checkpoint for tests and the demo",
        image_splitting: false,
        longest_edge: None,
        video_frame_edge: None,
        prompt_profile: None,
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

/// The image options a run uses: what was asked for, else the alias's evaluation defaults,
/// else (`None`) the checkpoint's own processor settings.
pub fn image_options_for(model_name: &str, requested: ImageOptions) -> ImageOptions {
    let alias = MODEL_ALIASES.iter().find(|m| m.alias.eq_ignore_ascii_case(model_name));
    ImageOptions {
        splitting: requested.splitting.or(alias.map(|a| a.image_splitting)),
        longest_edge: requested.longest_edge.or(alias.and_then(|a| a.longest_edge)),
    }
}

/// The prompt profile a run of `model_name` uses for a task that defines `profiles`, when no
/// `--prompt-profile` is given: the alias's evaluation profile where the task has it, else
/// `None` (the task's own default).
pub fn default_prompt_profile(model_name: &str, profiles: &[&str]) -> Option<&'static str> {
    let alias = MODEL_ALIASES.iter().find(|m| m.alias.eq_ignore_ascii_case(model_name))?;
    alias.prompt_profile.filter(|p| profiles.contains(p))
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

    #[test]
    fn video_frame_edges_are_those_of_the_smolvlm2_checkpoints() {
        for alias in MODEL_ALIASES {
            let expected = match alias.repo_id {
                Some(repo) if alias.smolvlm2 && repo.contains("2.2B") => Some(384),
                Some(_) if alias.smolvlm2 => Some(512),
                _ => None,
            };
            assert_eq!(alias.video_frame_edge, expected, "{}", alias.alias);
        }
        assert_eq!(lookup_alias("2.2b-video").unwrap().video_frame_edge, Some(384));
    }

    #[test]
    fn smolvlm_aliases_default_to_the_authors_prompts_where_a_task_has_them() {
        let both = ["lmms-eval", "vlmevalkit-smolvlm"];
        for alias in MODEL_ALIASES.iter().filter(|a| a.repo_id.is_some()) {
            assert_eq!(default_prompt_profile(alias.alias, &both), Some("vlmevalkit-smolvlm"), "{}", alias.alias);
            assert_eq!(default_prompt_profile(alias.alias, &["lmms-eval"]), None, "{}", alias.alias);
        }
        assert_eq!(default_prompt_profile("256M", &both), Some("vlmevalkit-smolvlm"));
        assert_eq!(default_prompt_profile("tiny", &both), None);
        assert_eq!(default_prompt_profile("/some/dir", &both), None);
    }

    #[test]
    fn image_defaults_follow_the_paper_unless_asked_otherwise() {
        let none = ImageOptions::default();
        assert_eq!(image_options_for("256m", none), ImageOptions { splitting: Some(true), longest_edge: Some(1920) });
        assert_eq!(image_options_for("2.2B", none), ImageOptions { splitting: Some(true), longest_edge: Some(1536) });
        assert_eq!(image_options_for("tiny", none), ImageOptions { splitting: Some(false), longest_edge: None });
        assert_eq!(image_options_for("/models/x", none), none);
        let asked = ImageOptions { splitting: Some(false), longest_edge: Some(1024) };
        assert_eq!(image_options_for("500m", asked), asked);
    }
}
