//! The evaluation setting of a run's task and of a published number, and their comparison field
//! by field: harness, prompt profile, image splitting, data split and checkpoint.
//!
//! A run's setting is read from its `run.json` only (the task's recorded prompt and metric
//! profiles and data split, the model's splitting and checkpoint). A published number's comes
//! from `published.toml`; a field its source does not give is "not published", which is neither
//! a match nor a difference. A difference between a run's score and a published one is shown as a
//! difference only where every field matches.
//!
//! ```
//! use smolbench_reports::setting::{FieldMatch, Setting};
//! let run = Setting { harness: Some("lmms-eval".into()), ..Setting::default() };
//! let published = Setting { harness: Some("VLMEvalKit".into()), ..Setting::default() };
//! let c = run.compare(&published);
//! assert!(!c.same_setting());
//! assert!(matches!(c.field("harness"), Some(FieldMatch::Differs { .. })));
//! ```

use smolbench_core::{ModelRecord, TaskRecord};

use crate::baselines::PublishedResult;

/// The fields of a setting, in the order pages list them.
pub const FIELDS: [&str; 5] = ["harness", "prompt profile", "image splitting", "data split", "checkpoint"];

/// An evaluation setting; `None` where it is not known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Setting {
    /// The framework whose prompts and scoring rules were followed (`VLMEvalKit`, `lmms-eval`).
    pub harness: Option<String>,
    /// The SmolBench prompt profile (`vlmevalkit-smolvlm`, `lmms-eval`).
    pub prompt_profile: Option<String>,
    /// Whether images were split into tiles.
    pub image_splitting: Option<bool>,
    /// The data split (`val`, `test`, `testmini`).
    pub split: Option<String>,
    /// The Hugging Face checkpoint.
    pub checkpoint: Option<String>,
}

/// How one field of a run's setting compares with a published number's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldMatch {
    /// Both give the same value.
    Same(String),
    /// They differ.
    Differs {
        /// The published number's value.
        published: String,
        /// The run's value.
        run: String,
    },
    /// The source of the published number does not give it.
    NotPublished {
        /// The run's value.
        run: String,
    },
    /// The run does not record it.
    NotRecorded,
}

/// A run's setting against a published number's, field by field (in [`FIELDS`] order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Each field and how it compares.
    pub fields: Vec<(&'static str, FieldMatch)>,
}

impl Comparison {
    /// Whether every field is known on both sides and equal: only then is a score difference a
    /// difference of the model or the tool rather than of the setting.
    pub fn same_setting(&self) -> bool {
        self.fields.iter().all(|(_, m)| matches!(m, FieldMatch::Same(_)))
    }

    /// How `name` compares.
    pub fn field(&self, name: &str) -> Option<&FieldMatch> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, m)| m)
    }

    /// The fields that differ.
    pub fn differing(&self) -> Vec<&'static str> {
        self.fields.iter().filter(|(_, m)| matches!(m, FieldMatch::Differs { .. })).map(|(n, _)| *n).collect()
    }

    /// One line for a page: `same setting`, or what differs (`prompt profile: published
    /// vlmevalkit-smolvlm, this run lmms-eval`), or what the source does not say.
    pub fn verdict(&self) -> String {
        if self.same_setting() {
            return "same setting".into();
        }
        let differs: Vec<String> = self
            .fields
            .iter()
            .filter_map(|(n, m)| match m {
                FieldMatch::Differs { published, run } => Some(format!("{n}: published {published}, this run {run}")),
                _ => None,
            })
            .collect();
        if !differs.is_empty() {
            return format!("different setting: {}", differs.join("; "));
        }
        let unknown: Vec<&str> = self
            .fields
            .iter()
            .filter(|(_, m)| matches!(m, FieldMatch::NotPublished { .. } | FieldMatch::NotRecorded))
            .map(|(n, _)| *n)
            .collect();
        format!("setting not comparable: {} not published or not recorded", unknown.join(", "))
    }
}

fn on_off(v: bool) -> String {
    if v { "on" } else { "off" }.to_string()
}

/// Split names as sources write them, read alike (`validation` is `val`).
pub fn normalise_split(split: &str) -> String {
    match split.to_ascii_lowercase().as_str() {
        "validation" | "dev_val" => "val".into(),
        other => other.to_string(),
    }
}

/// The harness a run followed, from its task's prompt and metric profiles.
pub fn run_harness(prompt_profile: &str, metric_profile: &str) -> Option<String> {
    let prompts = match prompt_profile {
        p if p.starts_with("vlmevalkit") => "VLMEvalKit",
        "lmms-eval" => "lmms-eval",
        "" => return None,
        other => other,
    };
    let scoring_matches = match prompts {
        "VLMEvalKit" => metric_profile == "vlmevalkit",
        // lmms-eval's tasks score with their benchmark's official rule or lmms-eval's own.
        "lmms-eval" => matches!(metric_profile, "lmms-eval" | "official" | ""),
        _ => false,
    };
    Some(if scoring_matches { prompts.to_string() } else { format!("{prompts} prompts with {metric_profile} scoring") })
}

impl Setting {
    /// The setting of one task of a run, from its `run.json` records.
    pub fn of_run_task(model: &ModelRecord, task: &TaskRecord) -> Setting {
        let split = task.config.pointer("/dataset/split").and_then(|v| v.as_str()).map(normalise_split);
        Setting {
            harness: run_harness(&task.prompt_profile, &task.metric_profile),
            prompt_profile: (!task.prompt_profile.is_empty()).then(|| task.prompt_profile.clone()),
            image_splitting: Some(model.image_splitting),
            split,
            checkpoint: model.repo_id.clone(),
        }
    }

    /// The setting of a published number, as far as its source gives it.
    pub fn of_published(r: &PublishedResult) -> Setting {
        Setting {
            harness: r.harness.clone(),
            prompt_profile: r.prompt_profile.clone(),
            image_splitting: r.image_splitting,
            split: (!r.split.is_empty()).then(|| normalise_split(&r.split)),
            checkpoint: Some(r.checkpoint.clone()),
        }
    }

    fn values(&self) -> [Option<String>; 5] {
        [
            self.harness.clone(),
            self.prompt_profile.clone(),
            self.image_splitting.map(on_off),
            self.split.clone(),
            self.checkpoint.clone(),
        ]
    }

    /// This (a run's) setting against `published`, field by field.
    pub fn compare(&self, published: &Setting) -> Comparison {
        let fields = FIELDS
            .iter()
            .zip(self.values().into_iter().zip(published.values()))
            .map(|(name, (run, publ))| {
                let m = match (run, publ) {
                    (None, _) => FieldMatch::NotRecorded,
                    (Some(run), None) => FieldMatch::NotPublished { run },
                    (Some(run), Some(publ)) if run.eq_ignore_ascii_case(&publ) => FieldMatch::Same(run),
                    (Some(run), Some(published)) => FieldMatch::Differs { published, run },
                };
                (*name, m)
            })
            .collect();
        Comparison { fields }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::Baselines;

    fn run_setting(prompt: &str, metric: &str, splitting: bool) -> Setting {
        Setting {
            harness: run_harness(prompt, metric),
            prompt_profile: Some(prompt.into()),
            image_splitting: Some(splitting),
            split: Some(normalise_split("validation")),
            checkpoint: Some("HuggingFaceTB/SmolVLM-256M-Instruct".into()),
        }
    }

    #[test]
    fn the_authors_setting_matches_the_card_and_lmms_eval_names_what_differs() {
        let b = Baselines::builtin();
        let card = b.scores_for_checkpoint("HuggingFaceTB/SmolVLM-256M-Instruct", "docvqa")[0];
        let published = Setting::of_published(card);

        let authors = run_setting("vlmevalkit-smolvlm", "vlmevalkit", true).compare(&published);
        assert!(authors.same_setting(), "{authors:?}");
        assert_eq!(authors.verdict(), "same setting");

        let lmms = run_setting("lmms-eval", "official", true).compare(&published);
        assert!(!lmms.same_setting());
        assert_eq!(lmms.differing(), vec!["harness", "prompt profile"]);
        let verdict = lmms.verdict();
        assert!(verdict.contains("prompt profile: published vlmevalkit-smolvlm, this run lmms-eval"), "{verdict}");

        let unsplit = run_setting("vlmevalkit-smolvlm", "vlmevalkit", false).compare(&published);
        assert_eq!(unsplit.differing(), vec!["image splitting"]);
        assert!(unsplit.verdict().contains("image splitting: published on, this run off"));
    }

    #[test]
    fn unpublished_fields_are_neither_a_match_nor_a_difference() {
        let run = run_setting("vlmevalkit-smolvlm", "vlmevalkit", true);
        let published = Setting { split: None, ..run.clone() };
        let c = run.compare(&published);
        assert!(!c.same_setting());
        assert!(c.differing().is_empty());
        assert!(c.verdict().contains("data split not published"), "{}", c.verdict());
        // A prompt profile with another profile's scoring is a harness of its own.
        assert_eq!(
            run_harness("vlmevalkit-smolvlm", "lmms-eval").as_deref(),
            Some("VLMEvalKit prompts with lmms-eval scoring")
        );
    }
}
