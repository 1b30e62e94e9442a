//! `bench run --config FILE`: a TOML file holding any of `bench run`'s options, keyed by the
//! option's long name (`max-new-tokens = 64`, `task = ["docvqa", "mmmu"]`, `cpu = true`).
//!
//! The file is spelt out into command-line options before parsing, so one parser checks both
//! and every option means the same in either place. An option given on the command line wins
//! over the file's. Unknown keys are errors naming the file and the nearest option.

use std::ffi::OsString;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use clap::CommandFactory;

/// The command line after the expansion, as `run.json` records it.
static EXPANDED: OnceLock<Vec<String>> = OnceLock::new();

/// The command line `bench run` was given, with a `--config` file's options spelt out.
pub fn effective_command() -> Vec<String> {
    EXPANDED.get().cloned().unwrap_or_else(|| std::env::args().collect())
}

/// Where `argv` is `bench [-v...] run ... --config FILE ...`: the file's options inserted after
/// `run`, except those the command line gives. Any other command line is returned unchanged.
pub fn expand_run_config(argv: Vec<OsString>) -> Result<Vec<OsString>> {
    let Some(run_at) = argv.iter().skip(1).position(|a| !a.to_string_lossy().starts_with('-')).map(|i| i + 1) else {
        return Ok(argv);
    };
    if argv[run_at] != "run" {
        return Ok(argv);
    }
    let rest: Vec<String> = argv[run_at + 1..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut file = None;
    for (i, arg) in rest.iter().enumerate() {
        if arg == "--" {
            break;
        }
        if let Some(value) = arg.strip_prefix("--config=") {
            file = Some(value.to_string());
        } else if arg == "--config" {
            file = Some(rest.get(i + 1).context("--config needs a FILE")?.clone());
        }
    }
    let Some(file) = file else { return Ok(argv) };
    let options = options_of(Path::new(&file), &rest)?;
    let mut out: Vec<OsString> = argv[..=run_at].to_vec();
    out.extend(options.into_iter().map(OsString::from));
    out.extend(argv[run_at + 1..].iter().cloned());
    let _ = EXPANDED.set(out.iter().map(|a| a.to_string_lossy().into_owned()).collect());
    Ok(out)
}

/// The options `file` holds that `given` (the command line after `run`) does not.
fn options_of(file: &Path, given: &[String]) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the run config {}; check the --config path", file.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("run config {}: {}", file.display(), e.message()))?;
    let cli = super::Cli::command();
    let run = cli.find_subcommand("run").expect("bench has a run command");
    let known: Vec<&clap::Arg> = run.get_arguments().filter(|a| a.get_long().is_some()).collect();
    let mut out = Vec::new();
    for (key, value) in table {
        let wanted = key.replace('_', "-");
        let Some(arg) = known
            .iter()
            .find(|a| a.get_long() == Some(wanted.as_str()) || a.get_id().as_str().replace('_', "-") == wanted)
        else {
            let names = known.iter().filter_map(|a| a.get_long());
            let hint = smolbench_core::did_you_mean(&wanted, names)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            bail!(
                "run config {}: unknown key `{key}`{hint} (keys are `bench run` options' long names)",
                file.display()
            );
        };
        let long = arg.get_long().expect("filtered on it");
        if long == "config" {
            bail!("run config {}: a config file cannot name another (`config`)", file.display());
        }
        let flag = format!("--{long}");
        if given.iter().any(|g| *g == flag || g.starts_with(&format!("{flag}="))) {
            continue;
        }
        let takes_values = arg.get_action().takes_values();
        let scalar = |v: &toml::Value| -> Result<String> {
            match v {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(if *b { "on" } else { "off" }.to_string()),
                other => bail!("run config {}: key `{key}` holds a {}, not a value", file.display(), other.type_str()),
            }
        };
        match (&value, takes_values) {
            (toml::Value::Boolean(true), false) => out.push(flag),
            (toml::Value::Boolean(false), false) => {}
            (_, false) => bail!("run config {}: key `{key}` is a switch: write `{key} = true`", file.display()),
            (toml::Value::Array(items), true) => {
                for item in items {
                    out.push(flag.clone());
                    out.push(scalar(item)?);
                }
            }
            (item, true) => {
                out.push(flag);
                out.push(scalar(item)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(config: &str, args: &[&str]) -> Result<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run.toml");
        std::fs::write(&file, config).unwrap();
        let mut argv: Vec<OsString> = vec!["bench".into(), "run".into(), "--config".into(), file.clone().into()];
        argv.extend(args.iter().map(OsString::from));
        let out = expand_run_config(argv)?;
        Ok(out.into_iter().map(|a| a.to_string_lossy().into_owned()).skip(2).take_while(|a| a != "--config").collect())
    }

    #[test]
    fn the_file_spells_out_options_and_the_command_line_wins() {
        let config = "model = \"tiny\"\ntask = [\"docvqa\", \"mmmu\"]\nlimit = 8\ncpu = true\nstrict = false\nimage-splitting = false\nmax_new_tokens = 12\n";
        let options = expand(config, &["--limit", "2"]).unwrap();
        let joined = options.join(" ");
        assert!(joined.contains("--model tiny"), "{joined}");
        assert!(joined.contains("--task docvqa --task mmmu"), "{joined}");
        assert!(joined.contains("--cpu"), "{joined}");
        assert!(!joined.contains("--strict"), "{joined}");
        assert!(joined.contains("--image-splitting off"), "{joined}");
        assert!(joined.contains("--max-new-tokens 12"), "{joined}");
        assert!(!joined.contains("--limit"), "the command line's --limit wins: {joined}");
    }

    #[test]
    fn unknown_keys_name_the_file_and_the_nearest_option() {
        let err = expand("modle = \"tiny\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("unknown key `modle`; did you mean `model`?"), "{err}");
        assert!(err.contains("run.toml"), "{err}");
    }

    #[test]
    fn other_commands_are_left_alone() {
        let argv: Vec<OsString> = ["bench", "rescore", "--config", "x"].iter().map(OsString::from).collect();
        assert_eq!(expand_run_config(argv.clone()).unwrap(), argv);
    }
}
