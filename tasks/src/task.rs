//! A runnable task: a validated [`TaskDef`] with its metric, extraction steps and one prompt
//! profile resolved, turning data-set rows into requests (with references, scoring context and
//! breakdown categories) and generations into scores.

use std::collections::BTreeMap;

use smolbench_core::{EncodedImage, ExtractionStep, GenerationRequest, ScoringContext, VideoProvenance};
use std::path::PathBuf;

use smolbench_datasets::video::{Clip, FrameSampler, SamplingSettings, TimeWindow};
use smolbench_datasets::Row;

use crate::columnsdef::push_root;
use crate::error::TaskError;
use crate::extract::{extractor, run_pipeline, Extractor};
use crate::judge::{JudgeAsk, JudgeRule};
use crate::metrics::{metric, Metric, MetricProfile};
use crate::prompt::{CompiledPrompt, RenderInput};
use crate::promptdef::VideoLayout;
use crate::promptdef::PROMPT_PROFILES;
use crate::rowread::{
    self, choices_from_cell, image_bytes, kind, lookup, referenced_images, split_embedded_choices, text_at,
};
use crate::taskdef::TaskDef;
use crate::template::Template;
use crate::video_prompt::{smolvlm2_video_block, vlmevalkit_smolvlm2_frames, IMAGE_MARKER};
use crate::videodef::{WindowDef, SUBTITLES_PLACEHOLDER};

/// One data-set row made ready for a runner.
#[derive(Debug, Clone)]
pub struct PreparedSample {
    /// The sample's id: the data set's id column as text, or the row index where it has none.
    pub id: String,
    /// The prompt, images and token budget.
    pub request: GenerationRequest,
    /// Reference answers; empty where the split has no gold (e.g. a test split).
    pub references: Vec<String>,
    /// Choices and fields the metric reads.
    pub context: ScoringContext,
    /// Categories of the sample, by breakdown name.
    pub breakdown: BTreeMap<String, String>,
    /// For a video task: the video and the frames shown.
    pub video: Option<VideoProvenance>,
}

/// A scored generation and how its scored string was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The string the metric saw.
    pub extracted: String,
    /// Each extraction step's output, in order.
    pub trace: Vec<ExtractionStep>,
    /// The metric's score for this sample.
    pub score: f64,
}

/// A task ready to prepare samples and score generations.
#[derive(Debug, Clone)]
pub struct Task {
    def: TaskDef,
    metric: &'static Metric,
    steps: Vec<&'static Extractor>,
    prompt: CompiledPrompt,
    breakdown: Vec<(String, String, Option<regex::Regex>)>,
    /// Set by [`Task::with_profile`]; otherwise the prompt's or the definition's profile.
    metric_override: Option<MetricProfile>,
    /// Where videos are read from and how frames are sampled (video tasks, after
    /// [`Task::with_video_source`]).
    video_source: Option<VideoSource>,
}

/// Where a video task finds its files, and the sampler that decodes them.
#[derive(Debug, Clone)]
struct VideoSource {
    root: std::path::PathBuf,
    sampler: FrameSampler,
}

impl Task {
    /// Resolves a definition's names with its default prompt profile; fails where
    /// [`TaskDef::from_toml_str`] would.
    pub fn new(def: TaskDef) -> Result<Task, TaskError> {
        let config = |message: String| TaskError::Config { origin: format!("task `{}`", def.name), message };
        def.validate().map_err(config)?;
        let metric = metric(&def.scoring.metric).map_err(|e| config(e.to_string()))?;
        let steps = def
            .scoring
            .extraction
            .iter()
            .map(|name| extractor(name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| config(e.to_string()))?;
        let prompt = compile_prompt(&def, &def.prompt.default).map_err(config)?;
        let mut breakdown = Vec::new();
        for entry in &def.columns.breakdown {
            let regex = entry.regex().map_err(config)?;
            breakdown.push((entry.name().to_string(), entry.column().to_string(), regex));
        }
        Ok(Task { def, metric, steps, prompt, breakdown, metric_override: None, video_source: None })
    }

    /// The same task with prompt profile `name` (e.g. `vlmevalkit-smolvlm`). The definition's
    /// `prompt.default` becomes `name`, so the task's recorded config names the prompt sent.
    pub fn with_prompt_profile(mut self, name: &str) -> Result<Task, TaskError> {
        if !PROMPT_PROFILES.contains(&name) {
            return Err(TaskError::unknown("prompt profile", name, PROMPT_PROFILES));
        }
        let origin = format!("task `{}`", self.def.name);
        self.prompt = compile_prompt(&self.def, name).map_err(|message| TaskError::Config { origin, message })?;
        self.def.prompt.default = self.prompt.name.to_string();
        Ok(self)
    }

    /// The same task with a token budget of `max_new_tokens` whatever its definition and prompt
    /// profile say (`bench run --max-new-tokens`). The definition records the budget used: its
    /// `generation.max-new-tokens` becomes `max_new_tokens` and the prompt profiles' own budgets
    /// are dropped.
    pub fn with_max_new_tokens(mut self, max_new_tokens: usize) -> Result<Task, TaskError> {
        if max_new_tokens == 0 {
            return Err(TaskError::Config {
                origin: format!("task `{}`", self.def.name),
                message: "max-new-tokens must be at least 1".into(),
            });
        }
        self.def.generation.max_new_tokens = max_new_tokens;
        for profile in [&mut self.def.prompt.lmms_eval, &mut self.def.prompt.vlmevalkit_smolvlm].into_iter().flatten() {
            profile.max_new_tokens = None;
        }
        self.prompt.max_new_tokens = None;
        Ok(self)
    }

    /// The same task scored with another metric profile, whatever the prompt profile says (the
    /// definition itself is unchanged, so the records still show the task's own profile).
    pub fn with_profile(mut self, profile: MetricProfile) -> Task {
        self.metric_override = Some(profile);
        self
    }

    /// For a video task: read videos (and subtitles) under `root`, the data set's folder, with
    /// frames resized to a longest edge of `frame_edge` pixels (the model's tile) and cached
    /// under `cache_dir`. A task without `[video]` is returned unchanged.
    pub fn with_video_source(
        mut self,
        root: &std::path::Path,
        frame_edge: u32,
        cache_dir: Option<std::path::PathBuf>,
    ) -> Task {
        if let Some(video) = &self.def.video {
            let settings =
                SamplingSettings { max_frames: video.max_frames, fps: video.fps, skip_secs: 1.0, frame_edge };
            self.video_source =
                Some(VideoSource { root: root.to_path_buf(), sampler: FrameSampler::new(settings, cache_dir) });
        }
        self
    }

    /// The frame sampling settings in use, for video tasks given a source.
    pub fn video_settings(&self) -> Option<SamplingSettings> {
        self.video_source.as_ref().map(|v| *v.sampler.settings())
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// The definition's version.
    pub fn version(&self) -> u32 {
        self.def.version
    }

    /// The definition this task was built from.
    pub fn def(&self) -> &TaskDef {
        &self.def
    }

    /// The metric that scores this task.
    pub fn metric(&self) -> &'static Metric {
        self.metric
    }

    /// The metric profile scores are computed with: [`Task::with_profile`]'s, else the prompt
    /// profile's `metric-profile`, else `scoring.profile`.
    pub fn profile(&self) -> MetricProfile {
        self.metric_override.or(self.prompt.metric_profile).unwrap_or(self.def.scoring.profile)
    }

    /// The prompt profile in use.
    pub fn prompt_profile(&self) -> &'static str {
        self.prompt.name
    }

    /// The prompt profiles this task defines.
    pub fn prompt_profiles(&self) -> Vec<&'static str> {
        self.def.prompt.profiles().into_iter().map(|(name, _)| name).collect()
    }

    /// The token budget of the prompt profile in use.
    pub fn max_new_tokens(&self) -> usize {
        self.prompt.max_new_tokens.unwrap_or(self.def.generation.max_new_tokens)
    }

    /// Every column [`Task::build_sample`] reads (top-level names): id, question, answers,
    /// images, options, fields, breakdown, then the prompt's other columns; no duplicates.
    pub fn columns(&self) -> Vec<String> {
        let mut out = self.def.columns.read_columns();
        let subtitles = self.def.video.as_ref().is_some_and(|v| v.subtitles.is_some());
        for path in self.prompt.column_paths() {
            if !(subtitles && path == SUBTITLES_PLACEHOLDER) {
                push_root(&mut out, path);
            }
        }
        for path in self.def.video.iter().flat_map(|v| v.column_paths()) {
            push_root(&mut out, &path);
        }
        if let Some(path) = &self.def.scoring.judge_question {
            push_root(&mut out, path);
        }
        out
    }

    /// Turns row `index` of the data into a request, its references, scoring context and
    /// breakdown categories.
    pub fn build_sample(&self, row: &Row, index: usize) -> Result<PreparedSample, TaskError> {
        let cols = &self.def.columns;
        let fail = |id: Option<&str>, message: String| TaskError::Sample {
            task: self.def.name.clone(),
            index,
            id: id.map(str::to_string),
            message,
        };
        let id = match &cols.id {
            None => index.to_string(),
            Some(column) => match row.get(column) {
                None => return Err(fail(None, format!("id column `{column}` is missing from the row"))),
                Some(cell) => cell.as_text().ok_or_else(|| {
                    fail(None, format!("id column `{column}` holds {}, not text or a number", kind(cell)))
                })?,
            },
        };
        self.sample_parts(row, id.clone()).map_err(|message| fail(Some(&id), message))
    }

    fn sample_parts(&self, row: &Row, id: String) -> Result<PreparedSample, String> {
        let cols = &self.def.columns;
        let video = self.video_input(row)?;
        let subtitles = video.as_ref().and_then(|v| v.subtitles.clone());
        let column = |path: &str| match (&subtitles, path) {
            (Some(text), SUBTITLES_PLACEHOLDER) => Ok(Some(text.clone())),
            _ => text_at(row, path, "prompt"),
        };
        let question = match text_at(row, &cols.question, "question")? {
            Some(q) => q,
            None => return Err(format!("question column `{}` is null", cols.question)),
        };
        let (stem, choices) = match (&cols.choices, &cols.choices_in_question) {
            (Some(path), _) => (None, choices_from_cell(lookup(row, path, "choices")?, path)?),
            (None, Some(marker)) => {
                let (stem, choices) = split_embedded_choices(&question, marker)
                    .map_err(|e| format!("question column `{}`: {e}", cols.question))?;
                (Some(stem), choices)
            }
            (None, None) => (None, Vec::new()),
        };
        let layout = self.prompt.video_layout;
        let frame_markers = match (&video, layout) {
            (Some(v), VideoLayout::VlmevalkitDefault) => Some(IMAGE_MARKER.repeat(v.frames.len())),
            _ => None,
        };
        let input = RenderInput {
            question: &question,
            stem: stem.as_deref(),
            choices: &choices,
            frames: frame_markers.as_deref(),
        };
        let (prompt, assistant_prefix) = self.prompt.render(&input, &column)?;

        let mut images = Vec::new();
        for name in &cols.images {
            match image_bytes(lookup(row, name, "image")?, name)? {
                Some(bytes) => images.push(EncodedImage { bytes }),
                None => return Err(format!("image column `{name}` is null")),
            }
        }
        let wanted: Vec<usize> = if cols.images_by_reference {
            referenced_images(std::iter::once(question.as_str()).chain(choices.iter().map(String::as_str)))
        } else {
            Vec::new()
        };
        if wanted.is_empty() {
            for name in &cols.optional_images {
                images.extend(image_bytes(lookup(row, name, "image")?, name)?.map(|bytes| EncodedImage { bytes }));
            }
        } else {
            for n in wanted {
                let name = cols.optional_images.get(n.wrapping_sub(1)).ok_or_else(|| {
                    format!(
                        "the prompt refers to `<image {n}>` but only {} image columns exist",
                        cols.optional_images.len()
                    )
                })?;
                let bytes = image_bytes(lookup(row, name, "image")?, name)?
                    .ok_or_else(|| format!("the prompt refers to `<image {n}>` but image column `{name}` is null"))?;
                images.push(EncodedImage { bytes });
            }
        }
        let (prompt, provenance) = match video {
            Some(video) => {
                let prompt = match layout {
                    VideoLayout::Smolvlm2 => {
                        format!("{}{prompt}", smolvlm2_video_block(video.duration_s, &video.timestamps_s))
                    }
                    // The wrapper's parts joined by spaces: the frames, the text, and the space
                    // before `<end_of_utterance>`.
                    VideoLayout::VlmevalkitSmolvlm2 => {
                        format!("{}{prompt} ", vlmevalkit_smolvlm2_frames(video.frames.len()))
                    }
                    VideoLayout::VlmevalkitDefault => prompt,
                };
                images.extend(video.frames.into_iter().map(|bytes| EncodedImage { bytes }));
                (prompt, Some(video.provenance))
            }
            None => (prompt, None),
        };
        if images.is_empty() {
            return Err("the row has no image (every image column is null)".into());
        }

        let answers = lookup(row, &cols.answers, "answers")?;
        let mut references = rowread::references(answers, &cols.answers, cols.answer_format, choices.len())?;
        if cols.answer_format == crate::columnsdef::AnswerFormat::ChoiceText {
            references = references
                .iter()
                .map(|answer| match choices.iter().position(|c| c == answer) {
                    Some(i) => rowread::letter(i).map(String::from),
                    None => Err(format!("answer {answer:?} in `{}` is none of the options {choices:?}", cols.answers)),
                })
                .collect::<Result<_, _>>()?;
        }

        let mut fields = self.def.scoring.fields.clone();
        for (field, path) in &cols.fields {
            if let Some(value) = text_at(row, path, "field")? {
                fields.insert(field.clone(), value);
            }
        }
        if self.def.scoring.judge.is_some() {
            // The question a judge prompt quotes, kept with the sample so a rescore can ask too.
            let quoted = match &self.def.scoring.judge_question {
                Some(path) => text_at(row, path, "judge question")?.unwrap_or_default(),
                None => stem.clone().unwrap_or_else(|| question.clone()),
            };
            fields.insert(crate::judge::JUDGE_QUESTION_FIELD.to_string(), quoted);
        }
        let mut breakdown = BTreeMap::new();
        for (name, path, regex) in &self.breakdown {
            let Some(value) = text_at(row, path, "breakdown")? else { continue };
            let value = match regex {
                None => value,
                Some(re) => re
                    .captures(&value)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_string())
                    .ok_or_else(|| format!("breakdown `{name}`: `{value}` in `{path}` does not match `{re}`"))?,
            };
            breakdown.insert(name.clone(), value);
        }

        Ok(PreparedSample {
            id,
            request: GenerationRequest {
                system: self.prompt.system.clone(),
                prompt,
                images,
                max_new_tokens: self.max_new_tokens(),
                assistant_prefix,
            },
            references,
            context: ScoringContext { choices, fields },
            breakdown,
            video: provenance,
        })
    }

    /// Where `row`'s video may be, relative to the data set's folder, in the order a run tries
    /// them: each of `video.path` (with the extensions), then `[video.window]`'s, and the
    /// subtitle file; `None` for image tasks. `bench fetch` downloads the first the repository
    /// has.
    pub fn video_files(&self, row: &Row) -> Result<Option<VideoFiles>, String> {
        let Some(def) = &self.def.video else { return Ok(None) };
        let fill = |template: &str, key: &str| -> Result<String, String> {
            let t = Template::parse(template).map_err(|e| format!("video.{key}: {e}"))?;
            t.render(|name| text_at(row, name, "video")?.ok_or_else(|| format!("video column `{name}` is null")))
        };
        let candidates = |templates: &[String], key: &str| -> Result<Vec<String>, String> {
            let mut out = Vec::new();
            for template in templates {
                let base = fill(template, key)?;
                if def.extensions.is_empty() {
                    out.push(base);
                } else {
                    out.extend(def.extensions.iter().map(|ext| format!("{base}{ext}")));
                }
            }
            Ok(out)
        };
        Ok(Some(VideoFiles {
            whole: candidates(def.path.templates(), "path")?,
            windowed: match &def.window {
                Some(window) => candidates(window.path.templates(), "window.path")?,
                None => Vec::new(),
            },
            subtitles: def.subtitles.as_deref().map(|t| fill(t, "subtitles")).transpose()?,
        }))
    }

    /// A video task's frames, prompt block and subtitles for `row`; `None` for image tasks.
    ///
    /// The video is the first of `video.path` (each with the extensions) that is present; where
    /// none is and the task has a `[video.window]`, the first present of its paths, cut to the
    /// row's window. A folder is read as frames at `video.frames-fps`.
    fn video_input(&self, row: &Row) -> Result<Option<VideoInput>, String> {
        let (Some(def), Some(files)) = (&self.def.video, self.video_files(row)?) else { return Ok(None) };
        let source = self.video_source.as_ref().ok_or_else(|| {
            "this video task has no video folder; give it one with Task::with_video_source".to_string()
        })?;
        let whole: Vec<PathBuf> = files.whole.iter().map(|p| source.root.join(p)).collect();
        let cut: Vec<PathBuf> = files.windowed.iter().map(|p| source.root.join(p)).collect();
        let (path, window) = match whole.iter().find(|p| p.exists()) {
            Some(path) => (path, None),
            None => match (cut.iter().find(|p| p.exists()), &def.window) {
                (Some(path), Some(w)) => (path, Some(window_of(row, w)?)),
                _ => return Err(missing_video(&whole, &cut)),
            },
        };
        let folder_fps = match (path.is_dir(), def.frames_fps) {
            (false, _) => None,
            (true, Some(fps)) => Some(fps),
            (true, None) => {
                return Err(format!(
                    "{} is a folder; a task whose videos are frame folders sets video.frames-fps",
                    path.display()
                ))
            }
        };
        let clip = Clip { path, window, folder_fps };
        let sampled = source.sampler.sample_clip(&clip).map_err(|e| e.to_string())?;
        let timestamps_s: Vec<f64> = sampled.frames.iter().map(|f| f.timestamp_s).collect();
        let duration_s = sampled.duration_s();
        let subtitles = match &files.subtitles {
            None => None,
            Some(relative) => {
                let srt = source.root.join(relative);
                let text = smolbench_datasets::video::subtitles::videomme_subtitle_text(
                    Some(&srt),
                    sampled.info.total_frames,
                    sampled.info.fps,
                    def.subtitle_frames,
                )
                .map_err(|e| e.to_string())?;
                Some(text)
            }
        };
        let provenance = VideoProvenance {
            path: path.strip_prefix(&source.root).unwrap_or(path).to_string_lossy().into_owned(),
            window_s: window.map(|w| (w.start_s, w.end_s)),
            frames: sampled.frames.iter().map(|f| f.index).collect(),
            fps: sampled.info.fps,
        };
        Ok(Some(VideoInput {
            duration_s,
            timestamps_s,
            frames: sampled.frames.into_iter().map(|f| f.png).collect(),
            subtitles,
            provenance,
        }))
    }

    /// The LLM judge this task's reference asks where its rules cannot read an answer, if any.
    pub fn judge_rule(&self) -> Option<JudgeRule> {
        self.def.scoring.judge
    }

    /// What to ask the task's judge about a raw generation, or `None` where the reference would
    /// not ask (no judge, or its rules read the answer).
    pub fn judge_ask(&self, prediction: &str, context: &ScoringContext) -> Option<JudgeAsk> {
        let rule = self.def.scoring.judge?;
        let (extracted, _) = run_pipeline(&self.steps, prediction);
        crate::judge::judge_ask(rule, &extracted, context)
    }

    /// Scores a raw generation with the judge's `reply`: the rule-based [`Scored`] with the
    /// judge's step added, and the judge's extraction and score where the reply is readable
    /// (the rule-based ones where it is not). The bool says whether the reply was readable.
    pub fn score_judged(
        &self,
        prediction: &str,
        reply: &str,
        references: &[String],
        context: &ScoringContext,
    ) -> (Scored, bool) {
        let mut scored = self.score(prediction, references, context);
        let Some(rule) = self.def.scoring.judge else { return (scored, false) };
        let judged = crate::judge::judged_score(rule, reply, references, context, self.profile());
        scored.trace.push(judged.step);
        match (judged.extracted, judged.score) {
            (Some(extracted), Some(score)) => {
                scored.extracted = extracted;
                scored.score = score;
                (scored, true)
            }
            _ => (scored, false),
        }
    }

    /// Extracts the answer from a raw generation and scores it against the references.
    pub fn score(&self, prediction: &str, references: &[String], context: &ScoringContext) -> Scored {
        let (extracted, trace) = run_pipeline(&self.steps, prediction);
        let score = self.metric.score(&extracted, references, context, self.profile());
        Scored { extracted, trace, score }
    }
}

/// The row's window, from the columns `[video.window]` names (numbers, or numeric text).
fn window_of(row: &Row, def: &WindowDef) -> Result<TimeWindow, String> {
    let seconds = |column: &str| -> Result<f64, String> {
        let text =
            text_at(row, column, "video window")?.ok_or_else(|| format!("video window column `{column}` is null"))?;
        text.trim()
            .parse::<f64>()
            .map_err(|_| format!("video window column `{column}` holds {text:?}, not a number of seconds"))
    };
    Ok(TimeWindow { start_s: seconds(&def.start)?, end_s: seconds(&def.end)? })
}

/// The error for a row none of whose video paths is present: the first path, and the others.
fn missing_video(whole: &[PathBuf], cut: &[PathBuf]) -> String {
    let mut paths = whole.iter().chain(cut);
    let first = paths.next().map(|p| p.display().to_string()).unwrap_or_default();
    let others: Vec<String> = paths.map(|p| p.display().to_string()).collect();
    let also = if others.is_empty() { String::new() } else { format!(" (nor {})", others.join(", ")) };
    format!("video file {first} does not exist{also}; check the data set's video folder")
}

/// Where a row's video may be, relative to the data set's folder ([`Task::video_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFiles {
    /// The video file or frame folder, read whole, in the order tried.
    pub whole: Vec<String>,
    /// The whole recording, cut to the row's window, tried after `whole`.
    pub windowed: Vec<String>,
    /// The subtitle file, where the task reads one.
    pub subtitles: Option<String>,
}

/// What a video contributes to a sample.
struct VideoInput {
    /// The video's duration (of the window, for a cut clip), in seconds.
    duration_s: f64,
    /// Each frame's time, in seconds.
    timestamps_s: Vec<f64>,
    /// The frames as PNG, in order.
    frames: Vec<Vec<u8>>,
    /// The subtitle text, where the task reads subtitles.
    subtitles: Option<String>,
    /// Which file and frames.
    provenance: VideoProvenance,
}

/// Compiles prompt profile `name` of `def`, or says which profiles the file defines.
fn compile_prompt(def: &TaskDef, name: &str) -> Result<CompiledPrompt, String> {
    match def.prompt.profile(name) {
        Some((name, profile)) => CompiledPrompt::new(name, profile),
        None => {
            let defined: Vec<&str> = def.prompt.profiles().into_iter().map(|(n, _)| n).collect();
            Err(format!("prompt profile `{name}` is not defined for this task (defined: {})", defined.join(", ")))
        }
    }
}
