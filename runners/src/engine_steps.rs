//! The batches the engine really ran, from its scheduler.
//!
//! mistral.rs 0.8.1 schedules sequences itself: `max_num_seqs` bounds how many it admits while
//! others run, and same-length prompts that arrive together are prefilled as one batch. In debug
//! mode (`MISTRALRS_DEBUG=1`, read when an engine is built) its engine logs every scheduler step
//! as `Prompt[44, 44] Completion[51] - 12.3ms`: the sequences of the prompt pass and of the decode
//! pass it ran together (their lengths). [`EngineStepLayer`] is a `tracing` layer that reads those
//! events and counts forward passes per batch size; [`snapshot`] reads the counts, and
//! [`EngineBatches::since`] the passes of one stretch of work.
//!
//! The engine runs on its own thread, so the layer must be part of the global subscriber. Once one
//! exists, [`crate::MistralRsRunner`] turns the engine's step reports on when it loads a model.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use smolbench_core::perf::EngineBatches;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

static COUNTS: Mutex<EngineBatches> = Mutex::new(EngineBatches::new());
static LISTENING: AtomicBool = AtomicBool::new(false);

/// The passes counted so far in this process.
pub fn snapshot() -> EngineBatches {
    COUNTS.lock().map(|c| c.clone()).unwrap_or_default()
}

/// Whether an [`EngineStepLayer`] exists (step reports have somewhere to go).
pub fn is_listening() -> bool {
    LISTENING.load(Ordering::SeqCst)
}

/// Turns on the engine's per-step reports for engines built from now on (process-wide). Call
/// only with a global subscriber installed: mistral.rs installs its own otherwise.
pub(crate) fn enable_engine_reports() {
    // Read by mistral.rs's `initialize_logging`, which sets the engine's debug switch from it.
    std::env::set_var("MISTRALRS_DEBUG", "1");
    mistralrs::core::initialize_logging();
}

/// Counts the engine's step reports (see the module doc).
#[derive(Debug)]
pub struct EngineStepLayer;

impl EngineStepLayer {
    /// The layer; its existence turns step reports on for engines loaded afterwards.
    pub fn new() -> Self {
        LISTENING.store(true, Ordering::SeqCst);
        EngineStepLayer
    }
}

impl Default for EngineStepLayer {
    fn default() -> Self {
        Self::new()
    }
}

/// An [`EngineStepLayer`] that sees only the engine's events, for a global registry:
/// `tracing_subscriber::registry().with(engine_steps::layer())`.
pub fn layer<S>() -> Filtered<EngineStepLayer, Targets, S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    EngineStepLayer::new().with_filter(Targets::new().with_target("mistralrs_core::engine", tracing::Level::INFO))
}

/// The two batch sizes of a step report, `Prompt[a, b] Completion[c] - t ms`.
pub fn parse_step_report(message: &str) -> Option<(usize, usize)> {
    fn count(message: &str, label: &str) -> Option<usize> {
        let start = message.find(label)? + label.len();
        let end = start + message[start..].find(']')?;
        Some(message[start..end].split(',').filter(|s| !s.trim().is_empty()).count())
    }
    Some((count(message, "Prompt[")?, count(message, "Completion[")?))
}

struct MessageVisitor(Option<String>);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = Some(value.to_string());
        }
    }
}

impl<S: Subscriber> Layer<S> for EngineStepLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("mistralrs_core::engine") {
            return;
        }
        let mut visitor = MessageVisitor(None);
        event.record(&mut visitor);
        if let Some((prompt, decode)) = visitor.0.as_deref().and_then(parse_step_report) {
            if let Ok(mut counts) = COUNTS.lock() {
                counts.add_step(prompt, decode);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_reports_parse_into_batch_sizes() {
        assert_eq!(parse_step_report("Prompt[44, 44, 45] Completion[] - 12.5ms"), Some((3, 0)));
        assert_eq!(parse_step_report("Prompt[] Completion[51] - 1ms"), Some((0, 1)));
        assert_eq!(parse_step_report("Throughput (T/s) 3.00, 1 running"), None);
    }
}
