//! How a task's per-sample scores combine into its reported number, where a benchmark's
//! reference does more than take the mean (`benchmarks.md` §10, §11).
//!
//! | rule | reference | number |
//! |---|---|---|
//! | `mean` | every image task | mean over scored samples |
//! | `videomme` | Video-MME `eval_your_results.py` (official); lmms-eval | official: items whose official extraction is empty leave the denominator; lmms-eval and VLMEvalKit: every item counts. Per `duration` too |
//! | `mlvu-dev` | lmms-eval `mlvu_aggregate_results` | accuracy per `task_type`, then the unweighted mean over the seven dev types (a type with no items counts 0) |
//! | `mvbench` | lmms-eval MVBench `mcq_acc` | mean over items whose raw prediction is not empty |
//!
//! Scores are percentages, as the references print them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
pub use smolbench_core::CategoryScore;

use super::mcq_rules::videomme_official_extract;
use super::MetricProfile;

/// The MLVU dev task types, in lmms-eval's order.
pub const MLVU_DEV_TASK_TYPES: [&str; 7] =
    ["anomaly_reco", "count", "ego", "needle", "order", "plotQA", "topic_reasoning"];

/// A task's aggregation rule (`scoring.aggregation` in `task.toml`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AggregationRule {
    /// The mean over scored samples.
    #[default]
    Mean,
    /// Video-MME: official excludes unanswered items; lmms-eval counts all; by `duration`.
    Videomme,
    /// MLVU dev: unweighted mean of the per-`task_type` accuracies.
    MlvuDev,
    /// MVBench: the mean over items with a non-empty prediction.
    Mvbench,
}

impl AggregationRule {
    /// The rule's name in `task.toml` (`scoring.aggregation`).
    pub fn name(self) -> &'static str {
        match self {
            AggregationRule::Mean => "mean",
            AggregationRule::Videomme => "videomme",
            AggregationRule::MlvuDev => "mlvu-dev",
            AggregationRule::Mvbench => "mvbench",
        }
    }

    /// The breakdown the rule reports categories of.
    pub fn category(self) -> Option<&'static str> {
        match self {
            AggregationRule::Videomme => Some("duration"),
            AggregationRule::MlvuDev => Some("task_type"),
            AggregationRule::Mean | AggregationRule::Mvbench => None,
        }
    }
}

/// One scored sample, as aggregation sees it.
#[derive(Debug, Clone, Copy)]
pub struct AggregateItem<'a> {
    /// The raw prediction.
    pub prediction: &'a str,
    /// The sample's score (1/0 for multiple choice).
    pub score: f64,
    /// The sample's category under the rule's breakdown, if it has one.
    pub category: Option<&'a str>,
}

/// A task's aggregate number under one rule and profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateReport {
    /// The rule.
    pub rule: AggregationRule,
    /// The profile whose reference the number reproduces.
    pub profile: MetricProfile,
    /// The number, in percent.
    pub score_pct: f64,
    /// Items in the denominator.
    pub counted: usize,
    /// Items given.
    pub total: usize,
    /// Per category of the rule's breakdown (Video-MME durations, MLVU task types).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_category: BTreeMap<String, CategoryScore>,
}

/// Whether `item` is in the rule's denominator under `profile`.
fn counted(rule: AggregationRule, profile: MetricProfile, item: &AggregateItem<'_>) -> bool {
    match rule {
        AggregationRule::Videomme if profile == MetricProfile::Official => {
            !videomme_official_extract(item.prediction).is_empty()
        }
        AggregationRule::Mvbench => !item.prediction.is_empty(),
        _ => true,
    }
}

/// `(percent, counted)` over the counted items of `items`; 0 for none.
fn percent<'a>(
    rule: AggregationRule,
    profile: MetricProfile,
    items: impl Iterator<Item = &'a AggregateItem<'a>>,
) -> (f64, usize, usize) {
    let (mut sum, mut n, mut total) = (0.0, 0usize, 0usize);
    for item in items {
        total += 1;
        if counted(rule, profile, item) {
            sum += item.score;
            n += 1;
        }
    }
    (if n == 0 { 0.0 } else { 100.0 * sum / n as f64 }, n, total)
}

/// Aggregates `items` under `rule` as `profile`'s reference does.
pub fn aggregate(rule: AggregationRule, profile: MetricProfile, items: &[AggregateItem<'_>]) -> AggregateReport {
    let mut categories: Vec<&str> = items.iter().filter_map(|i| i.category).collect();
    if rule == AggregationRule::MlvuDev {
        categories.extend(MLVU_DEV_TASK_TYPES);
    }
    categories.sort_unstable();
    categories.dedup();
    let by_category: BTreeMap<String, CategoryScore> = categories
        .into_iter()
        .map(|c| {
            let (score_pct, counted, total) = percent(rule, profile, items.iter().filter(|i| i.category == Some(c)));
            (c.to_string(), CategoryScore { score_pct, counted, total })
        })
        .collect();
    let (score_pct, counted, total) = match rule {
        AggregationRule::MlvuDev => {
            let mean =
                MLVU_DEV_TASK_TYPES.iter().map(|t| by_category.get(*t).map_or(0.0, |c| c.score_pct)).sum::<f64>()
                    / MLVU_DEV_TASK_TYPES.len() as f64;
            (mean, items.len(), items.len())
        }
        _ => percent(rule, profile, items.iter()),
    };
    AggregateReport { rule, profile, score_pct, counted, total, by_category }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::metrics::vectors::read_vector_file;
    use crate::metrics::{mcq_score, McqExtractor, PyRandom};
    use smolbench_core::ScoringContext;

    fn vectors() -> Value {
        serde_json::from_str(&read_vector_file("video_mcq_aggregate.json")).expect("valid JSON")
    }

    fn expected(v: &Value, key: &str) -> BTreeMap<String, f64> {
        let (_, table) =
            v.as_object().unwrap().iter().find(|(k, _)| k.starts_with(key)).unwrap_or_else(|| panic!("{key}"));
        table.as_object().unwrap().iter().map(|(k, x)| (k.clone(), x.as_f64().unwrap())).collect()
    }

    fn check(report: &AggregateReport, want: &BTreeMap<String, f64>, what: &str) {
        for (key, value) in want {
            let got = if key == "overall" { report.score_pct } else { report.by_category[key].score_pct };
            assert!((got - value).abs() < 1e-9, "{what} {key}: {got} != {value}");
        }
    }

    #[test]
    fn rule_names_are_those_of_task_toml() {
        for rule in
            [AggregationRule::Mean, AggregationRule::Videomme, AggregationRule::MlvuDev, AggregationRule::Mvbench]
        {
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.name());
        }
    }

    #[test]
    fn video_mme_aggregates_match_the_reference_vectors() {
        let v = vectors();
        let items = v["items"].as_array().unwrap();
        let ctx = ScoringContext {
            choices: Vec::new(),
            fields: [("extractor".to_string(), "videomme".to_string())].into_iter().collect(),
        };
        let mut rng = PyRandom::new(0);
        let extracted = |e: McqExtractor, rng: &mut PyRandom| -> Vec<String> {
            items.iter().map(|i| e.extract(i["response"].as_str().unwrap(), &[], rng).unwrap_or_default()).collect()
        };
        let official_letters: Vec<String> = v["per_item_extraction_official_and_lmms_v0.7.1"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        assert_eq!(extracted(McqExtractor::VideoMmeOfficial, &mut rng), official_letters);
        let head_letters: Vec<String> = v["per_item_extraction_lmms_head"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        assert_eq!(extracted(McqExtractor::LmmsHead, &mut rng), head_letters);

        let scored = |profile: MetricProfile| -> Vec<f64> {
            items
                .iter()
                .map(|i| {
                    mcq_score(
                        i["response"].as_str().unwrap(),
                        &[i["answer"].as_str().unwrap().to_string()],
                        &ctx,
                        profile,
                    )
                })
                .collect()
        };
        let build = |scores: &[f64]| -> Vec<(String, f64, String)> {
            items
                .iter()
                .zip(scores)
                .map(|(i, s)| {
                    (i["response"].as_str().unwrap().to_string(), *s, i["duration"].as_str().unwrap().to_string())
                })
                .collect()
        };
        fn as_items(rows: &[(String, f64, String)]) -> Vec<AggregateItem<'_>> {
            rows.iter().map(|(p, s, c)| AggregateItem { prediction: p, score: *s, category: Some(c) }).collect()
        }

        // Official script: classic extraction, unanswered items out of the denominator.
        let official = build(&scored(MetricProfile::Official));
        let report = aggregate(AggregationRule::Videomme, MetricProfile::Official, &as_items(&official));
        check(&report, &expected(&v, "expected_official"), "official");
        assert_eq!((report.counted, report.total), (20, 30));
        // lmms-eval <= v0.7.1: the same extraction, every item in the denominator.
        let report = aggregate(AggregationRule::Mean, MetricProfile::Official, &as_items(&official));
        let mut by_duration = report.clone();
        by_duration.by_category =
            aggregate(AggregationRule::Videomme, MetricProfile::LmmsEval, &as_items(&official)).by_category;
        check(&by_duration, &expected(&v, "expected_lmms_eval_v0.7.1"), "lmms-eval v0.7.1");
        // lmms-eval HEAD: extract_mcq_answer, every item counts.
        let head = build(&scored(MetricProfile::LmmsEval));
        let report = aggregate(AggregationRule::Videomme, MetricProfile::LmmsEval, &as_items(&head));
        check(&report, &expected(&v, "expected_lmms_eval_head"), "lmms-eval HEAD");
        assert_eq!(report.counted, 30);
    }

    #[test]
    fn mvbench_excludes_empty_predictions() {
        let v = vectors();
        let items = v["items"].as_array().unwrap();
        let want: Vec<f64> =
            v["mvbench_style"]["per_item_score"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let ctx = ScoringContext {
            choices: Vec::new(),
            fields: [("extractor".to_string(), "mvbench".to_string())].into_iter().collect(),
        };
        let rows: Vec<(String, f64)> = items
            .iter()
            .map(|i| {
                let p = i["response"].as_str().unwrap().to_string();
                let s = mcq_score(&p, &[i["answer"].as_str().unwrap().to_string()], &ctx, MetricProfile::LmmsEval);
                (p, s)
            })
            .collect();
        assert_eq!(rows.iter().map(|r| r.1).collect::<Vec<_>>(), want);
        let agg: Vec<AggregateItem<'_>> =
            rows.iter().map(|(p, s)| AggregateItem { prediction: p, score: *s, category: None }).collect();
        let report = aggregate(AggregationRule::Mvbench, MetricProfile::LmmsEval, &agg);
        let expected = v["mvbench_style"]["expected_pct_excluding_empty_pred"].as_f64().unwrap();
        assert!((report.score_pct - expected).abs() < 1e-9, "{} != {expected}", report.score_pct);
        assert_eq!(report.counted, 28);
    }

    #[test]
    fn mlvu_is_the_unweighted_mean_of_its_task_types() {
        let items = [
            AggregateItem { prediction: "A", score: 1.0, category: Some("count") },
            AggregateItem { prediction: "B", score: 0.0, category: Some("count") },
            AggregateItem { prediction: "C", score: 1.0, category: Some("ego") },
            AggregateItem { prediction: "D", score: 1.0, category: Some("needle") },
        ];
        let report = aggregate(AggregationRule::MlvuDev, MetricProfile::LmmsEval, &items);
        // count 50, ego 100, needle 100, the four absent types 0: 250 / 7.
        assert!((report.score_pct - 250.0 / 7.0).abs() < 1e-9, "{}", report.score_pct);
        assert_eq!(report.by_category["order"].total, 0);
        assert_eq!(report.by_category.len(), 7);
    }
}
