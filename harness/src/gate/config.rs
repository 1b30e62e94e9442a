//! The gate file (`harness/gate.toml`, or `--config FILE`): typed thresholds, checked on load.

use serde::Deserialize;

/// The checked-in default gate file (`harness/gate.toml`).
pub const DEFAULT_GATE_TOML: &str = include_str!("../../gate.toml");

/// `[accuracy]` of the gate file. Score quantities are fractions (0..1).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AccuracyGate {
    /// Significance level.
    pub alpha: f64,
    /// Power for the detectable-drop estimate.
    pub power: f64,
    /// The smallest drop the gate is meant to catch (a fraction, 0..1).
    pub min_detectable_effect: f64,
    /// Fail when a sample set cannot detect `min_detectable_effect`.
    #[serde(default)]
    pub fail_when_underpowered: bool,
    /// Significant drops up to this (a fraction) are tolerated.
    #[serde(default)]
    pub tolerated_drop: f64,
    /// Newly failed samples tolerated.
    #[serde(default)]
    pub max_new_failures: usize,
    /// Bootstrap resamples.
    pub bootstrap_resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

/// How a paired per-sample comparison decides: its significance level, the power used to size
/// an undecided comparison, and the ratio from which a change matters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedRule {
    /// One-sided significance level of the signed-rank test.
    pub alpha: f64,
    /// Power for "how many samples would decide".
    pub power: f64,
    /// The smallest worsening ratio (>= 1) that matters.
    pub max_ratio: f64,
}

/// `[latency]` of the gate file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LatencyGate {
    /// One-sided significance level.
    pub alpha: f64,
    /// Power for the samples-needed estimate.
    pub power: f64,
    /// End-to-end latency: the candidate/baseline ratio from which a slowdown matters.
    pub e2e_max_slowdown: f64,
    /// Time to first token: the candidate/baseline ratio from which a slowdown matters.
    pub ttft_max_slowdown: f64,
    /// Decode tokens per second: the baseline/candidate ratio from which a slowdown matters.
    pub decode_max_slowdown: f64,
    /// On CPU devices: by how much (0..1, either way) the share of the machine's CPUs other
    /// processes took during the two runs' samples may differ before a latency regression is
    /// put down to the machine (inconclusive) rather than the program.
    #[serde(default = "default_load_shift")]
    pub load_shift: f64,
    /// On CPU devices: by how much (relative) the cores the program keeps busy per second may
    /// differ between a sample's two runs for the pair to be compared (latency is compared on
    /// like-for-like samples); and by how much more the candidate may keep busy over a task
    /// before a latency regression is put down to the machine (threads spinning on idle cores).
    #[serde(default = "default_utilisation_shift")]
    pub utilisation_shift: f64,
}

fn default_load_shift() -> f64 {
    0.10
}

fn default_utilisation_shift() -> f64 {
    0.15
}

impl LatencyGate {
    /// The rule for one latency check with threshold `max_ratio`.
    pub fn rule(&self, max_ratio: f64) -> PairedRule {
        PairedRule { alpha: self.alpha, power: self.power, max_ratio }
    }
}

/// `[memory]` of the gate file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MemoryGate {
    /// One-sided significance level.
    pub alpha: f64,
    /// Power for the samples-needed estimate.
    pub power: f64,
    /// The candidate/baseline ratio of per-sample peak memory from which growth matters.
    pub peak_max_ratio: f64,
}

impl MemoryGate {
    /// The rule of the memory check.
    pub fn rule(&self) -> PairedRule {
        PairedRule { alpha: self.alpha, power: self.power, max_ratio: self.peak_max_ratio }
    }
}

/// A gate file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Accuracy thresholds.
    pub accuracy: AccuracyGate,
    /// Latency tests and thresholds.
    pub latency: LatencyGate,
    /// Memory test and threshold.
    pub memory: MemoryGate,
}

impl GateConfig {
    /// Parses and checks a gate file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let cfg: GateConfig = toml::from_str(text).map_err(|e| format!("{origin}: {}", e.message()))?;
        let open_unit = |x: f64| x > 0.0 && x < 1.0;
        for (name, v) in [
            ("accuracy.alpha", cfg.accuracy.alpha),
            ("accuracy.power", cfg.accuracy.power),
            ("latency.alpha", cfg.latency.alpha),
            ("latency.power", cfg.latency.power),
            ("memory.alpha", cfg.memory.alpha),
            ("memory.power", cfg.memory.power),
        ] {
            if !open_unit(v) {
                return Err(format!("{origin}: {name} must lie strictly between 0 and 1 (got {v})"));
            }
        }
        let a = &cfg.accuracy;
        if !open_unit(a.min_detectable_effect) || a.bootstrap_resamples == 0 {
            return Err(format!(
                "{origin}: accuracy.min-detectable-effect must lie in (0, 1) and bootstrap-resamples be positive"
            ));
        }
        let l = &cfg.latency;
        if l.utilisation_shift.is_nan() || l.utilisation_shift < 0.0 {
            return Err(format!(
                "{origin}: latency.utilisation-shift is a relative difference and must be at least 0 (got {})",
                l.utilisation_shift
            ));
        }
        if !(0.0..=1.0).contains(&l.load_shift) {
            return Err(format!(
                "{origin}: latency.load-shift is a share of the machine's CPUs and must lie in [0, 1] (got {})",
                l.load_shift
            ));
        }
        for (name, v) in [
            ("latency.e2e-max-slowdown", l.e2e_max_slowdown),
            ("latency.ttft-max-slowdown", l.ttft_max_slowdown),
            ("latency.decode-max-slowdown", l.decode_max_slowdown),
            ("memory.peak-max-ratio", cfg.memory.peak_max_ratio),
        ] {
            if v.is_nan() || v < 1.0 {
                return Err(format!("{origin}: {name} is a ratio and must be at least 1.0 (got {v})"));
            }
        }
        Ok(cfg)
    }

    /// The checked-in default.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_GATE_TOML, "harness/gate.toml").expect("harness/gate.toml is valid (tested)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_gate_file_parses_and_bad_values_are_named() {
        let cfg = GateConfig::builtin();
        assert_eq!(cfg.accuracy.alpha, 0.05);
        assert_eq!(cfg.latency.rule(cfg.latency.e2e_max_slowdown).max_ratio, 1.20);
        let bad = DEFAULT_GATE_TOML.replace("peak-max-ratio = 1.10", "peak-max-ratio = 0.9");
        let err = GateConfig::parse(&bad, "g.toml").unwrap_err();
        assert!(err.contains("memory.peak-max-ratio") && err.contains("g.toml"), "{err}");
        let typo = DEFAULT_GATE_TOML.replace("alpha = 0.05", "alpha = 0.05\nalpah = 1");
        assert!(GateConfig::parse(&typo, "g.toml").unwrap_err().contains("alpah"));
        let bad_alpha = DEFAULT_GATE_TOML.replacen("[latency]\nalpha = 0.05", "[latency]\nalpha = 1.5", 1);
        assert!(GateConfig::parse(&bad_alpha, "g.toml").unwrap_err().contains("latency.alpha"));
        // A gate file written before load-shift existed still loads, with the default.
        let old = DEFAULT_GATE_TOML.lines().filter(|l| !l.contains("-shift =")).collect::<Vec<_>>().join("\n");
        let old = GateConfig::parse(&old, "old.toml").unwrap();
        assert_eq!((old.latency.load_shift, old.latency.utilisation_shift), (0.10, 0.15));
        let bad_shift = DEFAULT_GATE_TOML.replace("load-shift = 0.10", "load-shift = 10");
        assert!(GateConfig::parse(&bad_shift, "g.toml").unwrap_err().contains("latency.load-shift"));
    }
}
