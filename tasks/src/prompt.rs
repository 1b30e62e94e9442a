//! A prompt profile made ready to render: templates parsed, replacements compiled.
//!
//! Rendering a row: pick the first case whose `when` columns match (else the base template),
//! fill its placeholders (`{question}`, `{choices}` as the option block, `{stem}`, optional
//! sections, other columns), apply the replacements in order, then decide the assistant prefix.

use std::collections::BTreeMap;

use crate::metrics::MetricProfile;
use crate::promptdef::{PromptProfileDef, VideoLayout};
use crate::template::Template;

/// One compiled replacement.
#[derive(Debug, Clone)]
enum Replacement {
    Literal { find: String, with: String },
    Regex { regex: regex::Regex, with: String },
}

/// A compiled `[prompt.<profile>]`.
#[derive(Debug, Clone)]
pub(crate) struct CompiledPrompt {
    /// The profile's name.
    pub(crate) name: &'static str,
    base: Template,
    cases: Vec<(Vec<(String, String)>, Template)>,
    optional: BTreeMap<String, Template>,
    replace: Vec<Replacement>,
    choice_format: Template,
    choice_separator: String,
    /// The profile's token budget, if it sets one.
    pub(crate) max_new_tokens: Option<usize>,
    prefix: Option<String>,
    prefix_if: Vec<String>,
    /// The metric profile this prompt goes with, if it names one.
    pub(crate) metric_profile: Option<MetricProfile>,
    /// The system turn, if the profile opens with one.
    pub(crate) system: Option<String>,
    /// How a video's frames and the text make up the user turn.
    pub(crate) video_layout: VideoLayout,
}

/// What a row provides to a rendering.
pub(crate) struct RenderInput<'a> {
    /// The question column's text.
    pub(crate) question: &'a str,
    /// The question without its embedded options, where the task has them.
    pub(crate) stem: Option<&'a str>,
    /// The option texts.
    pub(crate) choices: &'a [String],
    /// What `{frames}` renders as (a video's `<image>` markers), where the layout places frames
    /// in the text.
    pub(crate) frames: Option<&'a str>,
}

impl CompiledPrompt {
    /// Compiles a profile that [`PromptProfileDef`] validation accepted.
    pub(crate) fn new(name: &'static str, def: &PromptProfileDef) -> Result<CompiledPrompt, String> {
        let parse =
            |key: &str, text: &str| Template::parse(text).map_err(|e| format!("key `prompt.{name}.{key}`: {e}"));
        let mut cases = Vec::new();
        for (i, case) in def.cases.iter().enumerate() {
            let when = case.when.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            cases.push((when, parse(&format!("cases[{i}].template"), &case.template)?));
        }
        let mut optional = BTreeMap::new();
        for (key, text) in &def.optional {
            optional.insert(key.clone(), parse(&format!("optional.{key}"), text)?);
        }
        let mut replace = Vec::new();
        for r in &def.replace {
            replace.push(match (&r.find, &r.regex) {
                (Some(find), _) => Replacement::Literal { find: find.clone(), with: r.with.clone() },
                (None, Some(re)) => Replacement::Regex {
                    regex: regex::Regex::new(re).map_err(|e| format!("key `prompt.{name}.replace`: {e}"))?,
                    with: r.with.clone(),
                },
                (None, None) => return Err(format!("key `prompt.{name}.replace`: an entry has no `find` or `regex`")),
            });
        }
        Ok(CompiledPrompt {
            name,
            base: parse("template", &def.template)?,
            cases,
            optional,
            replace,
            choice_format: parse("choice-format", &def.choice_format)?,
            choice_separator: def.choice_separator.clone(),
            max_new_tokens: def.max_new_tokens,
            prefix: def.assistant_prefix.clone(),
            prefix_if: def.assistant_prefix_if.clone(),
            metric_profile: def.metric_profile,
            system: def.system.clone(),
            video_layout: def.video_layout.unwrap_or_default(),
        })
    }

    /// Every column path the profile reads besides the question and options: case conditions,
    /// placeholders of every template and optional section.
    pub(crate) fn column_paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = Vec::new();
        for (when, _) in &self.cases {
            paths.extend(when.iter().map(|(k, _)| k.as_str()));
        }
        let templates =
            std::iter::once(&self.base).chain(self.cases.iter().map(|(_, t)| t)).chain(self.optional.values());
        for template in templates {
            paths.extend(template.placeholders().into_iter().filter(|p| !crate::promptdef::RESERVED.contains(p)));
        }
        paths
    }

    /// The option block: each option through `choice-format`, joined by `choice-separator`.
    pub(crate) fn choice_block(&self, choices: &[String]) -> Result<String, String> {
        let mut parts = Vec::with_capacity(choices.len());
        for (i, choice) in choices.iter().enumerate() {
            let letter = crate::rowread::letter(i)?;
            parts.push(
                self.choice_format.render(|name| {
                    Ok::<_, String>(if name == "letter" { letter.to_string() } else { choice.clone() })
                })?,
            );
        }
        Ok(parts.join(&self.choice_separator))
    }

    /// Renders the prompt and the assistant prefix for a row. `column` gives a column path's
    /// text (`None` for null) and is also used to match case conditions.
    pub(crate) fn render(
        &self,
        input: &RenderInput<'_>,
        column: &dyn Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<(String, Option<String>), String> {
        let mut template = &self.base;
        for (when, case) in &self.cases {
            let mut matched = true;
            for (path, want) in when {
                if column(path)?.unwrap_or_default() != *want {
                    matched = false;
                    break;
                }
            }
            if matched {
                template = case;
                break;
            }
        }
        let plain = |name: &str| -> Result<String, String> {
            match name {
                "question" => Ok(input.question.to_string()),
                "stem" => Ok(input.stem.unwrap_or(input.question).to_string()),
                "choices" => self.choice_block(input.choices),
                "frames" => Ok(input.frames.unwrap_or_default().to_string()),
                _ => column(name)?.ok_or_else(|| format!("prompt column `{name}` is null")),
            }
        };
        let mut prompt = template.render(|name| match self.optional.get(name) {
            Some(section) => match column(name)? {
                Some(value) if !value.is_empty() => section.render(&plain),
                _ => Ok(String::new()),
            },
            None => plain(name),
        })?;
        for replacement in &self.replace {
            prompt = match replacement {
                Replacement::Literal { find, with } => prompt.replace(find.as_str(), with),
                Replacement::Regex { regex, with } => regex.replace_all(&prompt, with.as_str()).into_owned(),
            };
        }
        let prefix = self.prefix.clone().filter(|_| self.prefix_if.iter().all(|s| prompt.contains(s.as_str())));
        Ok((prompt, prefix))
    }
}
