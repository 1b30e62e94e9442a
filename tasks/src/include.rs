//! `include = "..."` in a `task.toml`: a definition written as its differences from another.
//!
//! The value is a path relative to the including file (`"../include/mvbench.toml"`), or a
//! built-in task's name (`"docvqa"`: its `task.toml`). The included file is read (its own
//! `include` first, so chains work), then the including file's keys are laid over it: tables
//! merge key by key, any other value (arrays included) replaces the included one. A file may
//! include another only once along a chain; a cycle is an error naming the files.

use std::path::{Path, PathBuf};

use crate::error::TaskError;

/// Where definition files are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Files {
    /// The files under `tasks/defs/` embedded in the binary; paths are relative to it.
    Builtin,
    /// The file system.
    Disk,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_defs.rs"));
}

/// The embedded files under `tasks/defs/`, by path relative to it (e.g. `docvqa/task.toml`).
pub(crate) fn builtin_files() -> &'static [(&'static str, &'static str)] {
    embedded::BUILTIN_FILES
}

/// How a file is named in errors.
pub(crate) fn origin(files: Files, path: &str) -> String {
    match files {
        Files::Builtin => format!("tasks/defs/{path} (built in)"),
        Files::Disk => path.to_string(),
    }
}

fn read(files: Files, path: &str) -> Result<String, TaskError> {
    match files {
        Files::Builtin => {
            builtin_files().iter().find(|(p, _)| *p == path).map(|(_, text)| text.to_string()).ok_or_else(|| {
                TaskError::Config {
                    origin: origin(files, path),
                    message: "no such built-in file (included files are named relative to the including one)".into(),
                }
            })
        }
        Files::Disk => {
            std::fs::read_to_string(path).map_err(|source| TaskError::Read { path: PathBuf::from(path), source })
        }
    }
}

/// `relative` seen from the file `from`, with `.` and `..` folded away (embedded paths have no
/// file system to do it).
fn join(files: Files, from: &str, relative: &str) -> String {
    let dir = Path::new(from).parent().unwrap_or(Path::new(""));
    let joined = dir.join(relative);
    let mut parts: Vec<String> = Vec::new();
    for part in joined.components() {
        match part {
            std::path::Component::ParentDir if parts.last().is_some_and(|p| p != "..") => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            std::path::Component::RootDir => parts.push(String::new()),
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    let out = parts.join("/");
    match files {
        Files::Disk if joined.is_absolute() && !out.starts_with('/') => format!("/{out}"),
        _ => out,
    }
}

/// The file an `include` value names, seen from `from`.
fn target(files: Files, from: &str, value: &str) -> (Files, String) {
    if value.ends_with(".toml") || value.contains('/') {
        (files, join(files, from, value))
    } else {
        (Files::Builtin, format!("{value}/task.toml"))
    }
}

/// Lays `over` on `base`: tables merge key by key, other values replace.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The file at `path` as a TOML table, its `include` resolved.
pub(crate) fn resolve(files: Files, path: &str) -> Result<toml::Table, TaskError> {
    resolve_chain(files, path, &mut Vec::new())
}

fn resolve_chain(files: Files, path: &str, chain: &mut Vec<String>) -> Result<toml::Table, TaskError> {
    let name = origin(files, path);
    let config = |message: String| TaskError::Config { origin: name.clone(), message };
    if chain.contains(&name) {
        return Err(config(format!("key `include`: an include cycle ({} -> {name})", chain.join(" -> "))));
    }
    let text = read(files, path)?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| config(crate::taskdef::syntax_message(&text, &e)))?;
    let Some(include) = table.remove("include") else { return Ok(table) };
    let toml::Value::String(value) = include else {
        return Err(config(
            "key `include` must be a string: a path relative to this file, or a built-in task's name".into(),
        ));
    };
    chain.push(name.clone());
    let (base_files, base_path) = target(files, path, &value);
    let mut base =
        resolve_chain(base_files, &base_path, chain).map_err(|e| config(format!("key `include` (`{value}`): {e}")))?;
    chain.pop();
    merge(&mut base, table);
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_fold_parent_folders() {
        assert_eq!(join(Files::Builtin, "mvbench_a/task.toml", "../include/mvbench.toml"), "include/mvbench.toml");
        assert_eq!(join(Files::Disk, "/x/y/task.toml", "../z.toml"), "/x/z.toml");
        assert_eq!(join(Files::Disk, "y/task.toml", "./z.toml"), "y/z.toml");
    }

    #[test]
    fn tables_merge_and_other_values_replace() {
        let mut base: toml::Table = toml::from_str("a = 1\nl = [1, 2]\n[t]\nx = 1\ny = 2\n").unwrap();
        let over: toml::Table = toml::from_str("l = [3]\n[t]\ny = 5\nz = 6\n").unwrap();
        merge(&mut base, over);
        let expected: toml::Table = toml::from_str("a = 1\nl = [3]\n[t]\nx = 1\ny = 5\nz = 6\n").unwrap();
        assert_eq!(base, expected);
    }

    #[test]
    fn a_cycle_is_an_error_naming_the_files() {
        let dir = std::env::temp_dir().join(format!("smolbench-include-cycle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.toml"), "include = \"b.toml\"\n").unwrap();
        std::fs::write(dir.join("b.toml"), "include = \"a.toml\"\n").unwrap();
        let err = resolve(Files::Disk, &dir.join("a.toml").display().to_string()).unwrap_err().to_string();
        assert!(err.contains("include cycle"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
