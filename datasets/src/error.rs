//! Errors of this crate: each message is one line that names the file or directory at fault and
//! says what to do about it.

use std::path::{Path, PathBuf};

/// Anything that can go wrong while locating, reading or writing a data set.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The data set root does not exist.
    #[error(
        "data set directory {} does not exist; run `bench fetch --task T` or pass --data-dir",
        .path.display()
    )]
    MissingDir {
        /// The directory that was expected.
        path: PathBuf,
    },

    /// The data set root exists but is a file, not a directory.
    #[error(
        "data set path {} is not a directory; pass the directory that holds the parquet files with --data-dir",
        .path.display()
    )]
    NotADirectory {
        /// The path that should have been a directory.
        path: PathBuf,
    },

    /// None of the known Hugging Face layouts matched the split.
    #[error(
        "no data files for split `{split}` under {}; looked for {}; check the split/config names or run `bench fetch` again",
        .root.display(),
        join_paths(.looked)
    )]
    NoSplitFiles {
        /// The data set root.
        root: PathBuf,
        /// The split that was asked for.
        split: String,
        /// The glob patterns that were tried, in order.
        looked: Vec<PathBuf>,
    },

    /// A parquet file could not be read (bad footer, bad pages, not parquet at all).
    #[error(
        "cannot read parquet file {}: {reason}; the file is damaged or not parquet — delete it and fetch it again",
        .path.display()
    )]
    CorruptParquet {
        /// The file.
        path: PathBuf,
        /// What the parquet reader said.
        reason: String,
    },

    /// A JSON data file (the layout some repositories declare in their card, such as MVBench's
    /// `json/<config>.json`) that is not an array of objects or JSON Lines of objects.
    #[error(
        "cannot read JSON data file {}: {reason}; the file is damaged or not JSON — delete it and fetch it again",
        .path.display()
    )]
    CorruptJson {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A zip archive of videos that cannot be unpacked.
    #[error(
        "cannot unpack archive {}: {reason}; the download is damaged or incomplete — delete it and fetch it again",
        .path.display()
    )]
    CorruptArchive {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A column that was asked for is not in the file.
    #[error(
        "data file {} has no column `{column}` (it has: {}); check the task's column names against this data set",
        .path.display(),
        .available.join(", ")
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns the file does have.
        available: Vec<String>,
    },

    /// A data lock file that is not valid.
    #[error("{}: {problem}; fix the lock file or write it anew with `bench lock`", .path.display())]
    BadLock {
        /// The lock file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },

    /// An I/O error on a named path.
    #[error("I/O error on {}: {source}; check that the path exists and is readable/writable", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Encoding something (an image, a parquet file) failed.
    #[error("cannot encode {what}: {reason}; this is a bug in the fixture writer, please report it")]
    Encode {
        /// What was being encoded.
        what: String,
        /// Why it failed.
        reason: String,
    },
}

impl DatasetError {
    /// An [`DatasetError::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        DatasetError::Io { path: path.as_ref().to_path_buf(), source }
    }

    /// A [`DatasetError::CorruptParquet`] for `path`.
    pub fn corrupt(path: impl AsRef<Path>, reason: impl ToString) -> Self {
        DatasetError::CorruptParquet { path: path.as_ref().to_path_buf(), reason: one_line(&reason.to_string()) }
    }

    /// A [`DatasetError::Encode`].
    pub fn encode(what: impl Into<String>, reason: impl ToString) -> Self {
        DatasetError::Encode { what: what.into(), reason: one_line(&reason.to_string()) }
    }
}

/// Paths joined with ", " for messages.
fn join_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Collapses a possibly multi-line message (polars errors often have several lines) into one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_lines_naming_the_path() {
        let errors = [
            DatasetError::MissingDir { path: "/d/x".into() },
            DatasetError::NoSplitFiles {
                root: "/d/x".into(),
                split: "test".into(),
                looked: vec!["/d/x/test-*.parquet".into(), "/d/x/data/test-*.parquet".into()],
            },
            DatasetError::corrupt("/d/x/a.parquet", "bad\n  footer"),
            DatasetError::MissingColumn {
                path: "/d/x/a.parquet".into(),
                column: "q".into(),
                available: vec!["a".into(), "b".into()],
            },
            DatasetError::io("/d/x", std::io::Error::other("boom")),
        ];
        for e in errors {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(msg.contains("/d/x"), "{msg}");
        }
        let msg = DatasetError::NoSplitFiles {
            root: "/r".into(),
            split: "test".into(),
            looked: vec!["/r/test-*.parquet".into(), "/r/data/test-*.parquet".into()],
        }
        .to_string();
        assert!(msg.contains("/r/test-*.parquet, /r/data/test-*.parquet"), "{msg}");
        assert!(DatasetError::MissingDir { path: "/p".into() }.to_string().contains("bench fetch --task T"));
    }
}
