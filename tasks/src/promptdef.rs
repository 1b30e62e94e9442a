//! `[prompt]` of a `task.toml`: one table per prompt profile (`[prompt.lmms-eval]`,
//! `[prompt.vlmevalkit-smolvlm]`) and the profile used by default.
//!
//! A profile is the exact user-turn text one reference framework sends for a row: a template,
//! optional cases that pick another template by column values (MMMU open questions, MathVista
//! answer types), optional sections, literal or regex replacements applied afterwards, the option
//! block format, and the token budget where that framework's differs. A profile may also open
//! with a system turn (`system`) and, for a video task, say how frames and text are laid out in
//! the user turn (`video-layout`, [`VideoLayout`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::MetricProfile;
use crate::taskdef::ColumnsDef;
use crate::template::Template;

/// Every prompt profile a task file may define, in listing order.
pub const PROMPT_PROFILES: [&str; 2] = ["lmms-eval", "vlmevalkit-smolvlm"];

/// Placeholders that are not column names: `{question}` (the question column), `{choices}` (the
/// option block), `{stem}` (the question without its embedded options) and `{frames}` (one
/// `<image>` marker per video frame, under [`VideoLayout::VlmevalkitDefault`]).
pub(crate) const RESERVED: [&str; 4] = ["question", "choices", "stem", "frames"];

/// How a video task's frames and text make up the user turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VideoLayout {
    /// SmolVLM2's processor block before the text: `You are provided the following series of
    /// ... frames ...` and `\nFrame from MM:SS:<image>` per frame, timestamps in seconds
    /// ([`smolvlm2_video_block`](crate::video_prompt::smolvlm2_video_block)).
    #[default]
    Smolvlm2,
    /// VLMEvalKit's `SmolVLM2.build_prompt_video`: `Here are some frames sampled from a video:\n`,
    /// `Frame from MM:SS:` and `<image>` per frame (MM:SS counts frames, not seconds), `\n`, then
    /// the text, every part joined by a space
    /// ([`vlmevalkit_smolvlm2_frames`](crate::video_prompt::vlmevalkit_smolvlm2_frames)).
    VlmevalkitSmolvlm2,
    /// VLMEvalKit's `build_prompt_default`: the parts concatenated as the data set lists them,
    /// frames as bare `<image>` markers where the template puts `{frames}`.
    VlmevalkitDefault,
}

/// `[prompt]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PromptDef {
    /// The profile a run uses unless it picks another; after
    /// [`Task::with_prompt_profile`](crate::Task::with_prompt_profile) it is the one picked, so
    /// the task's recorded config names the prompt actually sent.
    pub default: String,
    /// lmms-eval's prompt (the task's `doc_to_text` with its default kwargs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lmms_eval: Option<PromptProfileDef>,
    /// VLMEvalKit's dataset prompt as rewritten by its `SmolVLM`/`SmolVLM2` wrapper, the set-up
    /// the SmolVLM authors published with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlmevalkit_smolvlm: Option<PromptProfileDef>,
}

/// `[prompt.<profile>]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PromptProfileDef {
    /// The user turn's text. `{question}`, `{choices}`, `{stem}` or `{column}` (a column, or
    /// `column.field` inside a struct), each with optional filters (`{question|strip}`);
    /// `{{`/`}}` are literal braces. Used when no case matches.
    pub template: String,
    /// Templates for rows whose columns have given values; the first match wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<PromptCaseDef>,
    /// Sections: placeholder `{name}` renders as this template when column `name` is non-empty,
    /// and as nothing when it is empty or null (e.g. `hint = "Context: {hint}\n"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub optional: BTreeMap<String, String>,
    /// Replacements applied in order to the rendered text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<ReplaceDef>,
    /// One option of `{choices}`: `{letter}` and `{choice}`.
    #[serde(default = "default_choice_format")]
    pub choice_format: String,
    /// Between options of `{choices}`.
    #[serde(default = "default_choice_separator")]
    pub choice_separator: String,
    /// This profile's token budget, where it differs from `[generation]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_new_tokens: Option<usize>,
    /// Text the reference pre-fills the assistant turn with (VLMEvalKit's SmolVLM wrapper sends
    /// `" Answer:"` for multiple-choice sets). Carried on each sample for the runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_prefix: Option<String>,
    /// The prefix is used only when the rendered prompt contains every one of these strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assistant_prefix_if: Vec<String>,
    /// The metric profile that goes with this prompt; absent means `scoring.profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_profile: Option<MetricProfile>,
    /// A system turn sent before the user turn, word for word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// For a video task: how frames and text are laid out (absent: [`VideoLayout::Smolvlm2`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_layout: Option<VideoLayout>,
}

/// `[[prompt.<profile>.cases]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PromptCaseDef {
    /// Column (or `column.field`) to the text it must equal; all must hold. Values compare as
    /// Python's `str()` renders them (`1.0` for a float one, `""` for null).
    pub when: BTreeMap<String, String>,
    /// The template for matching rows.
    pub template: String,
}

/// One replacement: `{ find = "...", with = "..." }` (literal, every occurrence) or
/// `{ regex = "...", with = "..." }` (`$1`/`${1}` name groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReplaceDef {
    /// Literal text to replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<String>,
    /// A regular expression (Rust `regex` syntax) to replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// The replacement.
    pub with: String,
}

fn default_choice_format() -> String {
    "{letter}. {choice}".into()
}

fn default_choice_separator() -> String {
    "\n".into()
}

impl PromptDef {
    /// The profiles this file defines, in [`PROMPT_PROFILES`] order.
    pub fn profiles(&self) -> Vec<(&'static str, &PromptProfileDef)> {
        let all = [(PROMPT_PROFILES[0], &self.lmms_eval), (PROMPT_PROFILES[1], &self.vlmevalkit_smolvlm)];
        all.into_iter().filter_map(|(name, def)| def.as_ref().map(|d| (name, d))).collect()
    }

    /// The profile called `name`, if this file defines it.
    pub fn profile(&self, name: &str) -> Option<(&'static str, &PromptProfileDef)> {
        self.profiles().into_iter().find(|(n, _)| *n == name)
    }

    /// Checks the default, every template and placeholder against `columns`; `video` says whether
    /// the task has a `[video]` table.
    pub(crate) fn validate(&self, columns: &ColumnsDef, video: bool) -> Result<(), String> {
        let defined: Vec<&str> = self.profiles().iter().map(|(n, _)| *n).collect();
        if defined.is_empty() {
            return Err(format!("key `prompt`: define at least one profile ({})", PROMPT_PROFILES.join(", ")));
        }
        if !defined.contains(&self.default.as_str()) {
            return Err(format!(
                "key `prompt.default`: profile `{}` is not defined in this file (defined: {})",
                self.default,
                defined.join(", ")
            ));
        }
        for (name, profile) in self.profiles() {
            profile.validate(columns, video).map_err(|e| format!("key `prompt.{name}.{e}"))?;
        }
        Ok(())
    }
}

impl PromptProfileDef {
    /// Checks this profile; errors start with the key inside the profile, then "`: ...".
    fn validate(&self, columns: &ColumnsDef, video: bool) -> Result<(), String> {
        if self.video_layout.is_some() && !video {
            return Err("video-layout` is for video tasks; this task has no `[video]`".into());
        }
        let frames_placeholder = self.video_layout == Some(VideoLayout::VlmevalkitDefault);
        let mut templates = vec![("template".to_string(), &self.template)];
        for (i, case) in self.cases.iter().enumerate() {
            if case.when.is_empty() {
                return Err(format!("cases[{i}].when` must name at least one column"));
            }
            templates.push((format!("cases[{i}].template"), &case.template));
        }
        for (name, text) in &self.optional {
            if RESERVED.contains(&name.as_str()) {
                return Err(format!("optional.{name}`: `{name}` is not a column and cannot be optional"));
            }
            templates.push((format!("optional.{name}"), text));
        }
        for (key, text) in templates {
            let template = Template::parse(text).map_err(|e| format!("{key}`: {e}"))?;
            let placeholders = template.placeholders();
            for name in &placeholders {
                check_placeholder(name, columns).map_err(|e| format!("{key}`: {e}"))?;
            }
            let has_frames = placeholders.contains(&"frames");
            if has_frames && !frames_placeholder {
                return Err(format!("{key}`: placeholder `{{frames}}` needs `video-layout = \"vlmevalkit-default\"`"));
            }
            if frames_placeholder && !has_frames && !key.starts_with("optional.") {
                return Err(format!(
                    "{key}`: `video-layout = \"vlmevalkit-default\"` puts the frames at `{{frames}}`; add it"
                ));
            }
        }
        let format = Template::parse(&self.choice_format).map_err(|e| format!("choice-format`: {e}"))?;
        if let Some(bad) = format.placeholders().into_iter().find(|p| *p != "letter" && *p != "choice") {
            return Err(format!("choice-format`: placeholder `{{{bad}}}`; only `{{letter}}` and `{{choice}}` exist"));
        }
        for (i, r) in self.replace.iter().enumerate() {
            match (&r.find, &r.regex) {
                (Some(find), None) if !find.is_empty() => {}
                (None, Some(re)) => {
                    regex::Regex::new(re).map_err(|e| format!("replace[{i}].regex`: {}", one_line(&e.to_string())))?;
                }
                _ => return Err(format!("replace[{i}]`: give exactly one of a non-empty `find` or `regex`")),
            }
        }
        if self.max_new_tokens == Some(0) {
            return Err("max-new-tokens` must be at least 1".into());
        }
        if !self.assistant_prefix_if.is_empty() && self.assistant_prefix.is_none() {
            return Err("assistant-prefix-if` needs `assistant-prefix`".into());
        }
        Ok(())
    }
}

/// Whether placeholder `name` can be rendered from a row of `columns`.
fn check_placeholder(name: &str, columns: &ColumnsDef) -> Result<(), String> {
    let root = name.split('.').next().unwrap_or(name);
    if name == "choices" && columns.choices.is_none() && columns.choices_in_question.is_none() {
        return Err("placeholder `{choices}` needs `columns.choices` or `columns.choices-in-question`".into());
    }
    if name == "stem" && columns.choices_in_question.is_none() {
        return Err("placeholder `{stem}` needs `columns.choices-in-question`".into());
    }
    if RESERVED.contains(&name) {
        return Ok(());
    }
    if root == columns.answers {
        return Err(format!("placeholder `{{{name}}}` is the answers column; the prompt would leak the references"));
    }
    if columns.images.iter().chain(&columns.optional_images).any(|c| c == root) {
        return Err(format!(
            "placeholder `{{{name}}}` is an image column; images are sent before the text, not rendered into it"
        ));
    }
    if name.split('.').any(str::is_empty) {
        return Err(format!("placeholder `{{{name}}}` has an empty column or field name"));
    }
    Ok(())
}

fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}
