//! The optional LLM judge: where a task's reference asks a judge (MathVista's answer extraction,
//! VLMEvalKit's option matching), the task writes the prompt and reads the reply
//! ([`smolbench_tasks::judge`]); this module sends the prompt to any OpenAI-compatible server
//! through the endpoint runner and keeps every reply in the run's judge cache, so rescoring
//! never asks the same question twice.
//!
//! A judge that fails (no answer, an error status after the runner's retries) fails only that
//! sample's judgement: the record keeps its rule-based score and says why the judge did not
//! answer.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use smolbench_core::{GenerationRequest, JudgeInfo, JudgeRecord, SampleRecord, SampleStatus};
use smolbench_runners::openai::pool::HealthPolicy;
use smolbench_runners::openai::retry::RetryPolicy;
use smolbench_runners::openai::Endpoint;
use smolbench_runners::{OpenAiConfig, OpenAiRunner, Runner};
use smolbench_tasks::Task;

/// The cache file in a run directory: one JSON line per judge reply.
pub const JUDGE_CACHE_FILE: &str = "judge-cache.jsonl";

/// One cached reply.
#[derive(Debug, Serialize, Deserialize)]
struct CacheLine {
    /// The judge's model id.
    model: String,
    /// SHA-256 of the prompt.
    prompt_sha256: String,
    /// The reply.
    reply: String,
}

/// The replies a run's judge gave, by model and prompt, backed by [`JUDGE_CACHE_FILE`].
#[derive(Debug)]
struct JudgeCache {
    path: PathBuf,
    entries: Mutex<HashMap<(String, String), String>>,
}

fn prompt_key(prompt: &str) -> String {
    hex::encode(Sha256::digest(prompt.as_bytes()))
}

impl JudgeCache {
    /// Reads the cache of `run_dir` (empty where there is none).
    fn open(run_dir: &Path) -> Result<JudgeCache> {
        let path = run_dir.join(JUDGE_CACHE_FILE);
        let mut entries = HashMap::new();
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let entry: CacheLine = serde_json::from_str(line).with_context(|| {
                    format!("{} line {}: not a judge cache entry; delete the line to ask again", path.display(), n + 1)
                })?;
                entries.insert((entry.model, entry.prompt_sha256), entry.reply);
            }
        }
        Ok(JudgeCache { path, entries: Mutex::new(entries) })
    }

    fn get(&self, model: &str, prompt: &str) -> Option<String> {
        self.entries.lock().expect("never poisoned").get(&(model.to_string(), prompt_key(prompt))).cloned()
    }

    fn put(&self, model: &str, prompt: &str, reply: &str) -> Result<()> {
        let line = CacheLine { model: model.to_string(), prompt_sha256: prompt_key(prompt), reply: reply.to_string() };
        let mut entries = self.entries.lock().expect("never poisoned");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        writeln!(file, "{}", serde_json::to_string(&line)?)
            .with_context(|| format!("writing {}", self.path.display()))?;
        entries.insert((line.model, line.prompt_sha256), line.reply);
        Ok(())
    }
}

/// An OpenAI-compatible server asked as a judge, with the run's cache.
#[derive(Debug)]
pub struct Judge {
    runner: OpenAiRunner,
    info: JudgeInfo,
    cache: JudgeCache,
}

impl Judge {
    /// Connects to the judge at `endpoint`, sending `model`; replies are cached in `run_dir`.
    pub async fn connect(endpoint: &str, model: &str, run_dir: &Path) -> Result<Judge> {
        let parsed = Endpoint::parse(endpoint, 4).with_context(|| format!("--judge-endpoint {endpoint}"))?;
        let config = OpenAiConfig {
            endpoints: vec![parsed.clone()],
            model: Some(model.to_string()),
            timeout: Duration::from_secs(120),
            retry: RetryPolicy { max_retries: 2, ..RetryPolicy::default() },
            health: HealthPolicy::default(),
            api_key: std::env::var("SMOLBENCH_JUDGE_API_KEY").ok(),
            fixed_output: false,
        };
        let runner = OpenAiRunner::connect(config)
            .await
            .with_context(|| format!("the judge at {endpoint} does not answer; start it or drop --judge-endpoint"))?;
        let info = JudgeInfo { endpoint: parsed.base, model: model.to_string() };
        Ok(Judge { runner, info, cache: JudgeCache::open(run_dir)? })
    }

    /// The judge's endpoint and model, for `run.json`.
    pub fn info(&self) -> &JudgeInfo {
        &self.info
    }

    /// Asks the judge about `record` where its task's reference would (a scored sample whose
    /// answer the rules cannot read), and rescores it with the reply; otherwise leaves it alone.
    /// The cache answers a prompt asked before.
    pub async fn judge_record(&self, task: &Task, record: &mut SampleRecord) {
        let Some(prediction) = record.prediction.clone().filter(|_| record.status == SampleStatus::Ok) else {
            return;
        };
        let Some(ask) = task.judge_ask(&prediction, &record.context) else {
            record.judge = None;
            return;
        };
        let model = self.info.model.clone();
        let mut judged = JudgeRecord {
            rule: ask.rule.name().to_string(),
            model: model.clone(),
            prompt: ask.prompt.clone(),
            ..JudgeRecord::default()
        };
        match self.cache.get(&model, &ask.prompt) {
            Some(reply) => {
                judged.reply = Some(reply);
                judged.cached = true;
            }
            None => {
                let request = GenerationRequest {
                    prompt: ask.prompt.clone(),
                    max_new_tokens: ask.max_new_tokens,
                    ..GenerationRequest::default()
                };
                match self.runner.generate(&request).await.generation {
                    Ok(generation) => {
                        if let Err(e) = self.cache.put(&model, &ask.prompt, &generation.text) {
                            tracing::warn!("the judge's reply could not be cached: {e:#}");
                        }
                        judged.reply = Some(generation.text);
                    }
                    Err(e) => {
                        tracing::warn!(task = %record.task, sample = %record.sample_id, "the judge failed: {e}");
                        judged.error = Some(e.to_string());
                    }
                }
            }
        }
        if let Some(reply) = &judged.reply {
            let (scored, used) = task.score_judged(&prediction, reply, &record.references, &record.context);
            judged.used = used;
            record.score = Some(scored.score);
            record.extracted = Some(scored.extracted);
            record.extraction_trace = scored.trace;
        }
        record.judge = Some(judged);
    }
}

/// How a run or rescore scored answers, in one line for the terminal and `run.json`.
pub fn scoring_line(judge: Option<&JudgeInfo>) -> String {
    match judge {
        None => "scoring: rule-based (no LLM judge)".to_string(),
        Some(info) => format!(
            "scoring: rule-based, with LLM judge `{}` at {} where the reference asks one",
            info.model, info.endpoint
        ),
    }
}
