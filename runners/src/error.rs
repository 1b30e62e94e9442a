//! Errors of model resolution, preparation and generation. Each message is one line that names
//! the file, directory or model involved and says what to do.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// An alias that is not in the registry.
    #[error("unknown model `{name}`{suggestion}; `bench models` lists the aliases, or pass --model-path DIR")]
    UnknownModel {
        /// What the user typed.
        name: String,
        /// A formatted "did you mean" clause, or empty.
        suggestion: String,
    },
    /// A known model that is not on disk.
    #[error("model `{alias}` ({repo_id}) is not available locally: looked in {looked}; run `bench fetch {alias}` where a network exists, or pass --model-path DIR")]
    ModelNotFound {
        /// The alias.
        alias: String,
        /// Its repository.
        repo_id: String,
        /// Where it looked.
        looked: String,
    },
    /// A `--model-path` that does not exist or is not a model directory.
    #[error("model directory {path} {problem}; pass a directory holding config.json, tokenizer.json and *.safetensors (a Hugging Face snapshot)")]
    BadModelDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A model config file that cannot be used.
    #[error(
        "model config {path}: {problem}; the file is incomplete or damaged, fetch the model again (`bench fetch`)"
    )]
    BadModelConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Downloading failed.
    #[error("cannot download {repo_id} from {endpoint}: {reason}; without a network, download it elsewhere (`bench fetch {alias}`) and copy {cache_dir} to this machine")]
    Fetch {
        /// The repository.
        repo_id: String,
        /// The alias used.
        alias: String,
        /// The hub endpoint.
        endpoint: String,
        /// The underlying error.
        reason: String,
        /// The cache folder the files belong in.
        cache_dir: PathBuf,
    },
    /// A file-system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the tiny checkpoint failed.
    #[error("writing the tiny checkpoint: {0}")]
    Fixture(String),
    /// The engine failed to load the model.
    #[error("mistral.rs could not load {path}: {reason}")]
    Load {
        /// The prepared directory.
        path: PathBuf,
        /// The engine's error.
        reason: String,
    },
    /// An image could not be decoded.
    #[error("image {index} of the request could not be decoded: {reason}")]
    Image {
        /// Position of the image in the request.
        index: usize,
        /// The decoder's error.
        reason: String,
    },
    /// The prompt (text and image tokens) leaves no room in the model's context.
    #[error("the prompt (about {prompt_tokens} tokens) does not fit the model's context of {context} tokens")]
    PromptTooLong {
        /// The prompt's estimated tokens.
        prompt_tokens: usize,
        /// The model's context.
        context: usize,
    },
    /// The engine failed while answering; the sample fails, the run goes on.
    #[error("generation failed: {0}")]
    Generation(String),
    /// An endpoint given on the command line or in an endpoints file that cannot be used.
    #[error("endpoint {endpoint}: {problem}; give a URL such as http://HOST:PORT (one per line in an endpoints file)")]
    BadEndpoint {
        /// The endpoint as written (or the file and line).
        endpoint: String,
        /// What is wrong with it.
        problem: String,
    },
    /// No endpoint can take the request.
    #[error("no endpoint answers: {0}; check that the servers are up (`bench serve` prints its address)")]
    NoEndpoint(String),
    /// An endpoint's reply was an error or unusable, after the retries: one line naming the URL.
    #[error("{0}")]
    Endpoint(String),
    /// The engine thread is gone (a panic inside mistral.rs); the model must be reloaded.
    #[error("the mistral.rs engine stopped answering ({0}); it has to be restarted")]
    EngineDead(String),
    /// The engine died on this request and was reloaded; this request fails, the next runs on
    /// the fresh engine.
    #[error("the mistral.rs engine died on this sample ({reason}); it was restarted (restart {restarts} of this run)")]
    EngineRestarted {
        /// Why the engine was found dead.
        reason: String,
        /// Restarts so far in this run.
        restarts: usize,
    },
    /// The engine died and could not be reloaded.
    #[error("the mistral.rs engine died on this sample ({reason}) and reloading it failed: {error}")]
    EngineRestartFailed {
        /// Why the engine was found dead.
        reason: String,
        /// The reload's error.
        error: String,
    },
}

impl RunnerError {
    /// Whether the request itself is at fault (an image that does not decode, a prompt too long
    /// for the model), so that sending it again cannot help: a server answers these with 4xx.
    pub fn is_request_fault(&self) -> bool {
        matches!(self, RunnerError::Image { .. } | RunnerError::PromptTooLong { .. })
    }
}

/// Formats ", did you mean `x`?" for the candidate closest to `name`, or an empty string.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    smolbench_core::did_you_mean(name, candidates).map(|c| format!(", did you mean `{c}`?")).unwrap_or_default()
}
