//! The tasks a run can name: the built-in ones, and those loaded from folders outside the
//! binary (`bench run --include-path DIR`), with the suites and groups they declare.
//!
//! A task is a folder holding a `task.toml`. Every folder under `tasks/defs/` is built in (the
//! build script embeds them; there is no list to edit). A task says which suites it belongs to
//! (`suites = ["image"]`) and which benchmark it is a part of (`group = "mvbench"`), so suites
//! and groups are made of the tasks naming them. A folder loaded from outside may add tasks or
//! replace a built-in one of the same name.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::TaskError;
use crate::include::builtin_files;
use crate::task::Task;
use crate::taskdef::TaskDef;

/// A task definition and where it came from.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    /// The definition, `include` resolved.
    pub def: TaskDef,
    /// Its file: a path, or `tasks/defs/<name>/task.toml (built in)`.
    pub origin: String,
}

/// Every known task, in listing order.
#[derive(Debug, Clone, Default)]
pub struct TaskRegistry {
    entries: Vec<TaskEntry>,
}

static BUILTIN: OnceLock<Result<TaskRegistry, String>> = OnceLock::new();

fn builtin_registry() -> Result<&'static TaskRegistry, TaskError> {
    let loaded = BUILTIN.get_or_init(|| {
        let mut registry = TaskRegistry::default();
        for (path, _) in builtin_files() {
            let Some(folder) = path.strip_suffix("/task.toml") else { continue };
            let def = TaskDef::from_builtin(path).map_err(|e| e.to_string())?;
            if def.name != folder {
                return Err(format!("tasks/defs/{path}: the task is named `{}`, not its folder's name", def.name));
            }
            registry.add(TaskEntry { def, origin: crate::include::origin(crate::include::Files::Builtin, path) });
        }
        Ok(registry)
    });
    loaded.as_ref().map_err(|message| TaskError::Config { origin: "built-in tasks".into(), message: message.clone() })
}

impl TaskRegistry {
    /// The built-in tasks.
    pub fn builtin() -> Result<TaskRegistry, TaskError> {
        builtin_registry().cloned()
    }

    /// The built-in tasks with the task folders found in `dirs` (see [`TaskRegistry::load_dir`])
    /// laid over them, in order: a task of a known name replaces it.
    pub fn with_include_paths(dirs: &[PathBuf]) -> Result<TaskRegistry, TaskError> {
        let mut registry = TaskRegistry::builtin()?;
        for dir in dirs {
            for entry in TaskRegistry::load_dir(dir)? {
                registry.add(entry);
            }
        }
        Ok(registry)
    }

    /// The task folders of `dir`: `dir` itself where it holds a `task.toml`, else each folder in
    /// it that holds one. A folder's `task.toml` must name the task after the folder.
    pub fn load_dir(dir: &Path) -> Result<Vec<TaskEntry>, TaskError> {
        let config = |message: String| TaskError::Config { origin: dir.display().to_string(), message };
        if dir.join("task.toml").is_file() {
            return Ok(vec![load_folder(dir)?]);
        }
        let listing = std::fs::read_dir(dir).map_err(|source| TaskError::Read { path: dir.to_path_buf(), source })?;
        let mut folders: Vec<PathBuf> =
            listing.flatten().map(|e| e.path()).filter(|p| p.join("task.toml").is_file()).collect();
        folders.sort();
        if folders.is_empty() {
            return Err(config("holds no task folder (a folder with a task.toml); see docs/new-task.md".to_string()));
        }
        folders.iter().map(|f| load_folder(f)).collect()
    }

    /// Adds `entry`, replacing a task of the same name in its place; keeps the listing order:
    /// by `order`, then tasks without one in the order added.
    pub fn add(&mut self, entry: TaskEntry) {
        match self.entries.iter_mut().find(|e| e.def.name == entry.def.name) {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
        self.entries.sort_by_key(|e| e.def.order.unwrap_or(u32::MAX));
    }

    /// Every task, in listing order.
    pub fn entries(&self) -> &[TaskEntry] {
        &self.entries
    }

    /// The task names, in listing order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.def.name.as_str()).collect()
    }

    /// The task called `name`, or an error suggesting the nearest known name.
    pub fn task(&self, name: &str) -> Result<Task, TaskError> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.def.name == name)
            .ok_or_else(|| TaskError::unknown("task", name, self.names()))?;
        Task::new(entry.def.clone()).map_err(|e| match e {
            TaskError::Config { message, .. } => TaskError::Config { origin: entry.origin.clone(), message },
            other => other,
        })
    }

    /// The suites the tasks name, in order of first appearance.
    pub fn suite_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for suite in self.entries.iter().flat_map(|e| &e.def.suites) {
            if !out.contains(&suite.as_str()) {
                out.push(suite);
            }
        }
        out
    }

    /// The groups the tasks name, in order of first appearance.
    pub fn group_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for group in self.entries.iter().filter_map(|e| e.def.group.as_deref()) {
            if !out.contains(&group) {
                out.push(group);
            }
        }
        out
    }

    /// The tasks of suite `name`, in listing order; an error for an unknown suite.
    pub fn suite(&self, name: &str) -> Result<Vec<&str>, TaskError> {
        let tasks: Vec<&str> = self
            .entries
            .iter()
            .filter(|e| e.def.suites.iter().any(|s| s == name))
            .map(|e| e.def.name.as_str())
            .collect();
        if tasks.is_empty() {
            return Err(TaskError::unknown("suite", name, self.suite_names()));
        }
        Ok(tasks)
    }

    /// The tasks of group `name` (e.g. MVBench's 20 configs), in listing order; empty where no
    /// task names it.
    pub fn group(&self, name: &str) -> Vec<&str> {
        self.entries.iter().filter(|e| e.def.group.as_deref() == Some(name)).map(|e| e.def.name.as_str()).collect()
    }

    /// The task names a `--task` value stands for: a comma-separated list of task, group or
    /// suite names, expanded in order, each task once.
    pub fn select(&self, spec: &str) -> Result<Vec<String>, TaskError> {
        let mut out: Vec<String> = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let names: Vec<&str> = if self.entries.iter().any(|e| e.def.name == item) {
                vec![item]
            } else if !self.group(item).is_empty() {
                self.group(item)
            } else if let Ok(tasks) = self.suite(item) {
                tasks
            } else {
                let known = self.names().into_iter().chain(self.group_names()).chain(self.suite_names());
                return Err(TaskError::unknown("task", item, known));
            };
            for name in names {
                if !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            }
        }
        if out.is_empty() {
            return Err(TaskError::unknown("task", spec, self.names()));
        }
        Ok(out)
    }
}

fn load_folder(folder: &Path) -> Result<TaskEntry, TaskError> {
    let path = folder.join("task.toml");
    let def = TaskDef::from_file(&path)?;
    let folder_name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if def.name != folder_name {
        return Err(TaskError::Config {
            origin: path.display().to_string(),
            message: format!(
                "key `name`: the task is named `{}` but its folder is `{folder_name}`; name them alike",
                def.name
            ),
        });
    }
    Ok(TaskEntry { def, origin: path.display().to_string() })
}

/// The names of the built-in tasks, in listing order.
pub fn builtin_task_names() -> Vec<&'static str> {
    // The embedded definitions are parsed by every test run; a broken one is a build defect.
    builtin_registry().expect("the built-in task definitions load").names()
}

/// The built-in task called `name`, or an error suggesting the nearest known name.
pub fn builtin_task(name: &str) -> Result<Task, TaskError> {
    builtin_registry()?.task(name)
}

/// The names of the built-in suites, in listing order.
pub fn suite_names() -> Vec<&'static str> {
    builtin_registry().map(TaskRegistry::suite_names).unwrap_or_default()
}

/// The built-in task names of suite `name`; an error for unknown suites.
pub fn suite(name: &str) -> Result<Vec<&'static str>, TaskError> {
    builtin_registry()?.suite(name)
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
    fn every_builtin_task_is_in_a_suite() {
        let registry = TaskRegistry::builtin().unwrap();
        for entry in registry.entries() {
            assert!(!entry.def.suites.is_empty(), "{} names no suite", entry.def.name);
        }
        assert_eq!(registry.suite_names(), ["image", "video"]);
    }

    #[test]
    fn a_task_list_expands_groups_and_suites_in_order_without_repeats() {
        let registry = TaskRegistry::builtin().unwrap();
        assert_eq!(registry.select("docvqa,mmmu").unwrap(), ["docvqa", "mmmu"]);
        assert_eq!(registry.select(" docvqa , docvqa ").unwrap(), ["docvqa"]);
        let mvbench = registry.select("mvbench").unwrap();
        assert_eq!(mvbench.len(), 20);
        assert_eq!(mvbench[0], "mvbench_action_sequence");
        let mixed = registry.select("mmmu,image").unwrap();
        assert_eq!(mixed[0], "mmmu");
        assert_eq!(mixed.len(), 9);
        let err = registry.select("docvqa,mvbenhc").unwrap_err().to_string();
        assert!(err.contains("unknown task `mvbenhc`; did you mean `mvbench`?"), "{err}");
    }
}
