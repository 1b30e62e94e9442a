//! Sharding: which of `n` workers runs a sample, and where a worker's part of a run lives.
//!
//! A sample belongs to shard `u64::from_be_bytes(sha256("<task>/<sample_id>")[..8]) % n`. The
//! hash depends only on the task name and the sample's id (the data set's id column), never on
//! the run order, the row position, the machine or the Rust version, so a sample always lands in
//! the same shard for a given `n`, and workers never need to talk to each other.
//!
//! A sharded run is one directory shared by all workers (e.g. on a cluster file system); worker
//! `i` of `n` writes `<run>/parts/shard-<i>-of-<n>/`, an ordinary run directory (`run.json`,
//! `samples.jsonl`, `summary.json`) plus `part.json` ([`PartInfo`]). `bench merge` combines the
//! parts into one run directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The folder of a sharded run that holds its parts.
pub const PARTS_DIR: &str = "parts";
/// The file in a part directory that says which shard it is.
pub const PART_FILE: &str = "part.json";
/// How samples are assigned to shards, as written into `part.json`.
pub const HASH_SCHEME: &str = "sha256(\"<task>/<sample_id>\")[0..8] as big-endian u64 mod n";

/// One worker's share of a run: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This worker's shard, `0..count`.
    pub index: usize,
    /// How many shards the run is split into.
    pub count: usize,
}

/// The shard of the sample `sample_id` of `task` among `count` shards.
pub fn shard_of(task: &str, sample_id: &str, count: usize) -> usize {
    let digest = Sha256::new().chain_update(task.as_bytes()).chain_update(b"/").chain_update(sample_id).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % count as u64) as usize
}

impl Shard {
    /// Checks `index < count` and `count >= 1`.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 {
            bail!("a run cannot be split into 0 shards");
        }
        if index >= count {
            bail!("shard {index} does not exist in a run of {count} shards (shards are numbered 0 to {})", count - 1);
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard runs the sample `sample_id` of `task`.
    pub fn owns(&self, task: &str, sample_id: &str) -> bool {
        shard_of(task, sample_id, self.count) == self.index
    }

    /// The part directory's name, `shard-<i>-of-<n>`.
    pub fn dir_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    /// This shard's part directory inside the sharded run `run_dir`.
    pub fn part_dir(&self, run_dir: &Path) -> PathBuf {
        run_dir.join(PARTS_DIR).join(self.dir_name())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What `--shard` says: an explicit shard, or one read from the job scheduler's environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    /// `i/n`.
    Fixed(Shard),
    /// `auto` or `auto/n`: the index (and the count, where the scheduler gives it) from
    /// `SLURM_ARRAY_TASK_ID`/`SLURM_ARRAY_TASK_COUNT` or Kubernetes' `JOB_COMPLETION_INDEX`.
    Auto {
        /// The shard count given after `auto/`.
        count: Option<usize>,
    },
}

impl FromStr for ShardArg {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let usage = || format!("`{s}` is not a shard: use i/n (e.g. 0/4), auto, or auto/n");
        let (index, count) = match s.split_once('/') {
            Some((i, n)) => (i.trim(), Some(n.trim())),
            None => (s.trim(), None),
        };
        let count = count.map(|n| n.parse::<usize>().map_err(|_| usage())).transpose()?;
        if index.eq_ignore_ascii_case("auto") {
            return Ok(ShardArg::Auto { count });
        }
        let index = index.parse::<usize>().map_err(|_| usage())?;
        let count = count.ok_or_else(usage)?;
        Shard::new(index, count).map(ShardArg::Fixed).map_err(|e| e.to_string())
    }
}

fn env_number(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<usize>> {
    match lookup(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).with_context(|| format!("{name}={v} is not a whole number")),
    }
}

impl ShardArg {
    /// The shard, reading the scheduler's variables through `lookup` for `auto`.
    ///
    /// Slurm job arrays: index `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` (the minimum taken as
    /// 0 where unset), count `SLURM_ARRAY_TASK_COUNT`. Kubernetes Indexed Jobs: index
    /// `JOB_COMPLETION_INDEX`; the count must be given (`auto/n`), as Kubernetes does not export it.
    pub fn resolve(self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Shard> {
        let count_given = match self {
            ShardArg::Fixed(shard) => return Ok(shard),
            ShardArg::Auto { count } => count,
        };
        if let Some(id) = env_number(lookup, "SLURM_ARRAY_TASK_ID")? {
            let min = env_number(lookup, "SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let slurm_count = env_number(lookup, "SLURM_ARRAY_TASK_COUNT")?;
            let count = match (count_given, slurm_count) {
                (Some(given), Some(slurm)) if given != slurm => bail!(
                    "--shard auto/{given} disagrees with SLURM_ARRAY_TASK_COUNT={slurm}; submit the array as --array=0-{}",
                    given - 1
                ),
                (Some(n), _) | (None, Some(n)) => n,
                (None, None) => bail!("SLURM_ARRAY_TASK_COUNT is not set; pass the shard count as --shard auto/N"),
            };
            let index = id
                .checked_sub(min)
                .with_context(|| format!("SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"))?;
            return Shard::new(index, count).context("from SLURM_ARRAY_TASK_ID");
        }
        if let Some(index) = env_number(lookup, "JOB_COMPLETION_INDEX")? {
            let count = count_given.context(
                "JOB_COMPLETION_INDEX is set but Kubernetes does not export the completion count; pass --shard auto/N",
            )?;
            return Shard::new(index, count).context("from JOB_COMPLETION_INDEX");
        }
        bail!("--shard auto needs SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); neither is set")
    }
}

/// `part.json`: which shard a part directory holds and how samples were assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    /// The shard.
    pub shard: Shard,
    /// [`HASH_SCHEME`], so a reader knows how to check the assignment.
    pub hash: String,
    /// The run's config fingerprint ([`crate::fingerprint::config_fingerprint`]); every part of a
    /// run has the same one.
    pub config_fingerprint: String,
}

impl PartInfo {
    /// Reads `dir/part.json`, or `None` where `dir` is not a part.
    pub fn read(dir: &Path) -> Result<Option<PartInfo>> {
        let path = dir.join(PART_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is not a SmolBench part file", path.display()))
    }

    /// Writes `dir/part.json`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(PART_FILE);
        let text = serde_json::to_string_pretty(self).context("serialising part.json")? + "\n";
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    }
}

/// The part directories of a sharded run directory, sorted by name.
pub fn list_parts(run_dir: &Path) -> Result<Vec<PathBuf>> {
    let parts = run_dir.join(PARTS_DIR);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&parts)
        .with_context(|| format!("listing {}", parts.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(PART_FILE).is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_assignment_is_a_fixed_function_of_task_and_id() {
        // Pinned values (computed independently with Python's hashlib): changing the hash would
        // silently reshuffle resumed and merged runs.
        assert_eq!(shard_of("docvqa", "57344", 3), 1);
        assert_eq!(shard_of("ai2d", "0", 4), 3);
        assert_eq!(shard_of("mmmu", "validation_Art_1", 7), 4);
        assert_eq!(shard_of("docvqa", "57344", 1), 0);
        // Every shard gets a share of 300 ids, and each id exactly one shard.
        let mut counts = [0usize; 3];
        for i in 0..300 {
            let id = i.to_string();
            let owners: Vec<usize> = (0..3).filter(|&s| Shard::new(s, 3).unwrap().owns("ai2d", &id)).collect();
            assert_eq!(owners.len(), 1);
            counts[owners[0]] += 1;
        }
        assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
    }

    #[test]
    fn shard_arguments_parse_and_name_their_mistakes() {
        assert_eq!("1/4".parse::<ShardArg>().unwrap(), ShardArg::Fixed(Shard { index: 1, count: 4 }));
        assert_eq!("auto".parse::<ShardArg>().unwrap(), ShardArg::Auto { count: None });
        assert_eq!("auto/8".parse::<ShardArg>().unwrap(), ShardArg::Auto { count: Some(8) });
        assert!("4/4".parse::<ShardArg>().unwrap_err().contains("numbered 0 to 3"));
        assert!("x/4".parse::<ShardArg>().unwrap_err().contains("use i/n"));
        assert!("2".parse::<ShardArg>().unwrap_err().contains("use i/n"));
        assert!("0/0".parse::<ShardArg>().is_err());
    }

    #[test]
    fn auto_reads_slurm_and_kubernetes_variables() {
        let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let resolve = |arg: &str, vars: &HashMap<String, String>| {
            arg.parse::<ShardArg>().unwrap().resolve(&|k| vars.get(k).cloned())
        };
        let slurm =
            env(&[("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert_eq!(resolve("auto", &slurm).unwrap(), Shard { index: 2, count: 4 });
        assert!(resolve("auto/3", &slurm).unwrap_err().to_string().contains("disagrees"));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(resolve("auto/3", &k8s).unwrap(), Shard { index: 2, count: 3 });
        assert!(resolve("auto", &k8s).unwrap_err().to_string().contains("auto/N"));
        assert!(format!("{:#}", resolve("auto/2", &k8s).unwrap_err()).contains("numbered 0 to 1"));
        assert!(resolve("auto", &env(&[])).unwrap_err().to_string().contains("neither is set"));
        assert_eq!(resolve("0/2", &k8s).unwrap(), Shard { index: 0, count: 2 }, "an explicit shard wins");
    }
}
