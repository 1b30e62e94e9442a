//! The built-in tasks and suites.
//!
//! Task definitions live in `tasks/defs/<name>/task.toml` and are embedded in the binary, so a
//! run never depends on the working directory. Adding a task means adding its folder and one line
//! to [`BUILTIN_TASKS`].

use crate::error::TaskError;
use crate::task::Task;
use crate::taskdef::TaskDef;

/// A task definition compiled into the binary.
struct BuiltinTask {
    name: &'static str,
    /// Where the file lives in the repository, for error messages.
    origin: &'static str,
    toml: &'static str,
}

/// A built-in task: its folder under `tasks/defs/` is its name.
macro_rules! builtin {
    ($name:literal) => {
        BuiltinTask {
            name: $name,
            origin: concat!("tasks/defs/", $name, "/task.toml (built in)"),
            toml: include_str!(concat!("../defs/", $name, "/task.toml")),
        }
    };
}

/// Every built-in task, in listing order: the SmolVLM paper's Table 1 order.
static BUILTIN_TASKS: &[BuiltinTask] = &[
    builtin!("ocrbench"),
    builtin!("ai2d"),
    builtin!("chartqa"),
    builtin!("textvqa"),
    builtin!("docvqa"),
    builtin!("scienceqa"),
    builtin!("mmmu"),
    builtin!("mathvista"),
    builtin!("mmstar"),
    // Video: Video-MME (without and with subtitles), MLVU dev, MVBench's 20 configs, then below.
    builtin!("videomme"),
    builtin!("videomme_w_subtitle"),
    builtin!("mlvu"),
    builtin!("mvbench_action_sequence"),
    builtin!("mvbench_action_prediction"),
    builtin!("mvbench_action_antonym"),
    builtin!("mvbench_fine_grained_action"),
    builtin!("mvbench_unexpected_action"),
    builtin!("mvbench_object_existence"),
    builtin!("mvbench_object_interaction"),
    builtin!("mvbench_object_shuffle"),
    builtin!("mvbench_moving_direction"),
    builtin!("mvbench_action_localization"),
    builtin!("mvbench_scene_transition"),
    builtin!("mvbench_action_count"),
    builtin!("mvbench_moving_count"),
    builtin!("mvbench_moving_attribute"),
    builtin!("mvbench_state_change"),
    builtin!("mvbench_fine_grained_pose"),
    builtin!("mvbench_character_order"),
    builtin!("mvbench_egocentric_navigation"),
    builtin!("mvbench_episodic_reasoning"),
    builtin!("mvbench_counterfactual_inference"),
    // WorldSense (frames only) and TempCompass's three rule-scored parts.
    builtin!("worldsense"),
    builtin!("tempcompass_multi_choice"),
    builtin!("tempcompass_yes_no"),
    builtin!("tempcompass_caption_matching"),
];

/// A named group of tasks run together.
struct Suite {
    name: &'static str,
    tasks: &'static [&'static str],
    /// Why the suite cannot run yet, if it cannot.
    unavailable: Option<&'static str>,
}

/// Every suite, in listing order.
static SUITES: &[Suite] = &[
    Suite {
        name: "image",
        // The image benchmarks of the SmolVLM paper (arXiv 2504.05299), in its Table 1 order.
        tasks: &["ocrbench", "ai2d", "chartqa", "textvqa", "docvqa", "scienceqa", "mmmu", "mathvista", "mmstar"],
        unavailable: None,
    },
    Suite {
        name: "video",
        // The video benchmarks of the SmolVLM paper and SmolVLM2 cards: Video-MME (with and without
        // subtitles), MLVU dev, the 20 MVBench configs, WorldSense and TempCompass's three
        // rule-scored parts, frames sampled as SmolVLM2's processor samples them.
        tasks: &[
            "videomme",
            "videomme_w_subtitle",
            "mlvu",
            "mvbench_action_sequence",
            "mvbench_action_prediction",
            "mvbench_action_antonym",
            "mvbench_fine_grained_action",
            "mvbench_unexpected_action",
            "mvbench_object_existence",
            "mvbench_object_interaction",
            "mvbench_object_shuffle",
            "mvbench_moving_direction",
            "mvbench_action_localization",
            "mvbench_scene_transition",
            "mvbench_action_count",
            "mvbench_moving_count",
            "mvbench_moving_attribute",
            "mvbench_state_change",
            "mvbench_fine_grained_pose",
            "mvbench_character_order",
            "mvbench_egocentric_navigation",
            "mvbench_episodic_reasoning",
            "mvbench_counterfactual_inference",
            "worldsense",
            "tempcompass_multi_choice",
            "tempcompass_yes_no",
            "tempcompass_caption_matching",
        ],
        unavailable: None,
    },
];

/// The names of the built-in tasks, in listing order.
pub fn builtin_task_names() -> Vec<&'static str> {
    BUILTIN_TASKS.iter().map(|t| t.name).collect()
}

/// The built-in task called `name`, or an error suggesting the nearest known name.
pub fn builtin_task(name: &str) -> Result<Task, TaskError> {
    let builtin = BUILTIN_TASKS
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| TaskError::unknown("task", name, builtin_task_names()))?;
    Task::new(TaskDef::from_toml_str(builtin.toml, builtin.origin)?)
}

/// The names of the suites, in listing order.
pub fn suite_names() -> Vec<&'static str> {
    SUITES.iter().map(|s| s.name).collect()
}

/// The task names of suite `name`; an error for unknown suites and for those not yet available.
pub fn suite(name: &str) -> Result<Vec<&'static str>, TaskError> {
    let suite =
        SUITES.iter().find(|s| s.name == name).ok_or_else(|| TaskError::unknown("suite", name, suite_names()))?;
    match suite.unavailable {
        Some(reason) => Err(TaskError::SuiteUnavailable { name: name.to_string(), reason: reason.to_string() }),
        None => Ok(suite.tasks.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_task_loads_under_its_own_name() {
        for name in builtin_task_names() {
            let task = builtin_task(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(task.name(), name);
        }
    }

    #[test]
    fn every_builtin_task_loads_with_every_prompt_profile() {
        for name in builtin_task_names() {
            let task = builtin_task(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(task.prompt_profile(), task.def().prompt.default);
            for profile in task.prompt_profiles() {
                let chosen = task.clone().with_prompt_profile(profile).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(chosen.prompt_profile(), profile);
                assert_eq!(chosen.def().to_json()["prompt"]["default"], profile);
            }
        }
    }

    #[test]
    fn every_suite_task_is_builtin() {
        for suite in SUITES {
            for task in suite.tasks {
                assert!(builtin_task_names().contains(task), "{}: {task}", suite.name);
            }
        }
    }
}
