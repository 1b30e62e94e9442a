//! Extraction: the named steps that turn a raw generation into the string a metric scores.
//!
//! A task lists step names (`extraction = ["strip"]`); [`run_pipeline`] applies them in order and
//! records each step's output, so a sample record shows exactly how its answer was obtained.

use smolbench_core::ExtractionStep;

use crate::error::TaskError;
use crate::pycompat::{py_lower, py_strip};

/// One extraction step, registered by name in [`EXTRACTORS`].
#[derive(Debug)]
pub struct Extractor {
    /// The name task files use.
    pub name: &'static str,
    /// What the step does, and which reference behaviour it copies.
    pub description: &'static str,
    apply: fn(&str) -> String,
}

impl Extractor {
    /// Applies the step to one string.
    pub fn apply(&self, input: &str) -> String {
        (self.apply)(input)
    }
}

/// Every extraction step task files can name.
pub static EXTRACTORS: &[Extractor] = &[
    Extractor {
        name: "strip",
        description: "Python `str.strip()`: remove leading and trailing whitespace (Python's \
                      set, including \\x1c-\\x1f). lmms-eval applies it to every generation.",
        apply: |s| py_strip(s).to_string(),
    },
    Extractor { name: "lower", description: "Python `str.lower()`: full Unicode lower-casing.", apply: py_lower },
];

/// The extraction step called `name`, or an error suggesting the nearest known name.
pub fn extractor(name: &str) -> Result<&'static Extractor, TaskError> {
    EXTRACTORS
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| TaskError::unknown("extraction step", name, EXTRACTORS.iter().map(|e| e.name)))
}

/// Applies `steps` in order; returns the final string and one trace entry per step.
pub fn run_pipeline(steps: &[&Extractor], input: &str) -> (String, Vec<ExtractionStep>) {
    let mut current = input.to_string();
    let mut trace = Vec::with_capacity(steps.len());
    for step in steps {
        current = step.apply(&current);
        trace.push(ExtractionStep { step: step.name.to_string(), output: current.clone() });
    }
    (current, trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_traces_every_step() {
        let steps = [extractor("strip").expect("registered"), extractor("lower").expect("registered")];
        let (out, trace) = run_pipeline(&steps, "\x1c Coca COLA \n");
        assert_eq!(out, "coca cola");
        assert_eq!(trace.len(), 2);
        assert_eq!(trace[0].step, "strip");
        assert_eq!(trace[0].output, "Coca COLA");
        assert_eq!(trace[1].output, "coca cola");
    }

    #[test]
    fn empty_pipeline_is_identity() {
        let (out, trace) = run_pipeline(&[], " x ");
        assert_eq!(out, " x ");
        assert!(trace.is_empty());
    }

    #[test]
    fn unknown_step_suggests() {
        let err = extractor("strp").expect_err("not registered").to_string();
        assert!(err.contains("did you mean `strip`?"), "{err}");
    }
}
