//! Every built-in task against the synthetic data sets of `smolbench_datasets::fixtures`, which
//! copy each Hugging Face repository's parquet schema and file layout: the task finds its split,
//! reads only [`Task::columns`], and builds every row under every prompt profile.

use std::path::PathBuf;

use smolbench_datasets::{find_split_files, write_all_image_fixtures, SplitTable, IMAGE_FIXTURES};
use smolbench_tasks::{builtin_task, suite, AnswerFormat};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("smolbench-tasks-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_image_task_builds_every_fixture_row() {
    let root = TempDir::new("fixtures");
    let n_rows = 12;
    let written = write_all_image_fixtures(&root.0, n_rows, 7).expect("fixtures written");
    assert_eq!(written.len(), IMAGE_FIXTURES.len());
    let names = suite("image").expect("image suite");
    assert_eq!(names.len(), IMAGE_FIXTURES.len());
    for name in names {
        let task = builtin_task(name).expect("built in");
        let ds = &task.def().dataset;
        let fixture = IMAGE_FIXTURES.iter().find(|f| f.repo_id == ds.repo_id);
        let fixture = fixture.unwrap_or_else(|| panic!("{name}: no fixture for {}", ds.repo_id));
        assert_eq!((fixture.config, fixture.split), (ds.config.as_str(), ds.split.as_str()), "{name}");

        let files = find_split_files(&root.0.join(&ds.repo_id), Some(&ds.config), &ds.split)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let table = SplitTable::open(files).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(table.num_rows(), n_rows, "{name}");
        for profile in task.prompt_profiles() {
            let task = task.clone().with_prompt_profile(profile).expect("defined");
            let columns = task.columns();
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            let rows = table.read_rows(&columns, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(rows.len(), n_rows);
            for (index, row) in rows.iter().enumerate() {
                let sample = task.build_sample(row, index).unwrap_or_else(|e| panic!("{profile}: {e}"));
                let what = format!("{name} ({profile}) row {index}");
                assert!(!sample.request.images.is_empty(), "{what}: no image");
                assert!(sample.request.images.iter().all(|i| !i.bytes.is_empty()), "{what}: empty image");
                assert!(!sample.references.is_empty(), "{what}: no reference");
                assert!(!sample.request.prompt.trim().is_empty(), "{what}: empty prompt");
                assert!(!sample.request.prompt.contains('{'), "{what}: unrendered placeholder?");
                assert_eq!(sample.breakdown.len(), task.def().columns.breakdown.len(), "{what}");
                if matches!(task.def().columns.answer_format, AnswerFormat::Letter | AnswerFormat::Index) {
                    let n = sample.context.choices.len();
                    assert!(n >= 2, "{what}: {n} options");
                    let letter = sample.references[0].chars().next().expect("letter") as usize - 'A' as usize;
                    assert!(letter < n, "{what}: {:?}", sample.references);
                }
                // Scoring the gold answer itself never panics, whatever the metric.
                let score = task.score(&sample.references[0], &sample.references, &sample.context).score;
                assert!((0.0..=1.0).contains(&score), "{what}: {score}");
            }
        }
    }
}
