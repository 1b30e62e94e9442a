//! The synthetic image fixtures written, found with the config and split a real task uses, and
//! read back: file layout, column names and order, every cell's type as benchmarks.md lists it
//! for the real set, a few content rules per set, and byte-for-byte determinism.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{dtype, read_checked, relative, text, Kind, Kind::*};
use sha2::{Digest, Sha256};
use smolbench_datasets::fixtures::*;
use smolbench_datasets::{find_split_files, write_all_image_fixtures, Cell, IMAGE_FIXTURES};

const ROWS: usize = 8;
const SEED: u64 = 77;

fn write(writer: FixtureWriter) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let summary = writer(dir.path(), ROWS, SEED).unwrap();
    assert_eq!(summary.rows, ROWS);
    let files = relative(dir.path(), &summary.files);
    (dir, files)
}

#[test]
fn textvqa() {
    let (dir, files) = write(write_textvqa_fixture);
    assert_eq!(files, (0..3).map(|i| format!("data/validation-0000{i}-of-00003.parquet")).collect::<Vec<_>>());
    let schema = [
        ("image_id", Text),
        ("question_id", Int),
        ("question", Text),
        ("question_tokens", TextList),
        ("image", Image),
        ("image_width", Int),
        ("image_height", Int),
        ("flickr_original_url", Text),
        ("flickr_300k_url", Text),
        ("answers", TextList),
        ("image_classes", TextList),
        ("set_name", Text),
        ("ocr_tokens", TextList),
    ];
    let rows = read_checked(dir.path(), TEXTVQA_CONFIG, TEXTVQA_SPLIT, &schema, ROWS);
    for row in &rows {
        assert_eq!(row["answers"].as_text_list().unwrap().len(), 10);
        let img = image::load_from_memory(&row["image"].as_image().unwrap().bytes).unwrap();
        assert_eq!(row["image_width"], Cell::Int(i64::from(img.width())));
        assert_eq!(row["image_height"], Cell::Int(i64::from(img.height())));
    }
    let shard = dir.path().join(&files[0]);
    assert_eq!((dtype(&shard, "question_id"), dtype(&shard, "image_width")), ("i32".into(), "i32".into()));
}

#[test]
fn chartqa() {
    let (dir, files) = write(write_chartqa_fixture);
    assert_eq!(files, ["data/test-00000-of-00001.parquet"]);
    let schema = [("type", Text), ("question", Text), ("answer", Text), ("image", Image)];
    let rows = read_checked(dir.path(), CHARTQA_CONFIG, CHARTQA_SPLIT, &schema, ROWS);
    let kinds: Vec<String> = rows.iter().map(|r| text(&r["type"])).collect();
    assert_eq!(kinds, [vec!["human_test"; ROWS / 2], vec!["augmented_test"; ROWS / 2]].concat());
}

#[test]
fn ai2d() {
    let (dir, files) = write(write_ai2d_fixture);
    assert_eq!(files, ["data/test-00000-of-00002.parquet", "data/test-00001-of-00002.parquet"]);
    let schema = [("question", Text), ("options", TextList), ("answer", Text), ("image", Image)];
    for row in read_checked(dir.path(), AI2D_CONFIG, AI2D_SPLIT, &schema, ROWS) {
        let options = row["options"].as_text_list().unwrap();
        let answer: usize = text(&row["answer"]).parse().unwrap();
        assert!(options.len() == 4 && answer < 4);
    }
}

#[test]
fn scienceqa() {
    let (dir, files) = write(write_scienceqa_fixture);
    assert_eq!(files, ["ScienceQA-IMG/test-00000-of-00001.parquet"]);
    let mut schema = vec![("image", Image), ("question", Text), ("choices", TextList), ("answer", Int)];
    schema.extend(
        ["hint", "task", "grade", "subject", "topic", "category", "skill", "lecture", "solution"].map(|c| (c, Text)),
    );
    for row in read_checked(dir.path(), SCIENCEQA_CONFIG, SCIENCEQA_SPLIT, &schema, ROWS) {
        let Cell::Int(answer) = row["answer"] else { unreachable!() };
        assert!((answer as usize) < row["choices"].as_text_list().unwrap().len());
    }
    assert_eq!(dtype(&dir.path().join(&files[0]), "answer"), "i8");
}

#[test]
fn mmstar() {
    let (dir, files) = write(write_mmstar_fixture);
    assert_eq!(files, ["mmstar.parquet"]);
    const META: &[(&str, Kind)] = &[("source", Text), ("split", Text), ("image_path", Text)];
    let schema = [
        ("index", Int),
        ("question", Text),
        ("image", Image),
        ("answer", Text),
        ("category", Text),
        ("l2_category", Text),
        ("meta_info", Struct(META)),
    ];
    let categories = [
        "coarse perception",
        "fine-grained perception",
        "instance reasoning",
        "logical reasoning",
        "math",
        "science & technology",
    ];
    for (i, row) in read_checked(dir.path(), MMSTAR_CONFIG, MMSTAR_SPLIT, &schema, ROWS).iter().enumerate() {
        assert_eq!(row["index"], Cell::Int(i as i64));
        assert!(text(&row["question"]).contains("\nOptions: A: "));
        assert!(["A", "B", "C", "D"].contains(&text(&row["answer"]).as_str()));
        assert!(categories.contains(&text(&row["category"]).as_str()));
    }
    assert_eq!(dtype(&dir.path().join(&files[0]), "index"), "i64");
}

#[test]
fn mmmu() {
    let (dir, files) = write(write_mmmu_fixture);
    assert_eq!(files, ["data/validation-00000-of-00001.parquet"]);
    let mut schema =
        vec![("id", Text), ("question", Text), ("options", Text), ("explanation", Text), ("image_1", Image)];
    schema.extend(["image_2", "image_3", "image_4", "image_5", "image_6", "image_7"].map(|c| (c, OptImage)));
    schema.extend(["img_type", "answer", "topic_difficulty", "question_type", "subfield"].map(|c| (c, Text)));
    let rows = read_checked(dir.path(), MMMU_CONFIG, MMMU_SPLIT, &schema, ROWS);
    let (mut open, mut multi) = (0, 0);
    for row in &rows {
        let (question, options) = (text(&row["question"]), text(&row["options"]));
        assert!(options.starts_with('[') && options.ends_with(']'), "{options}");
        if text(&row["question_type"]) == "open" {
            open += 1;
            assert_eq!(options, "[]");
        } else {
            assert_eq!(text(&row["question_type"]), "multiple-choice");
            let letter = text(&row["answer"]);
            assert!(letter.len() == 1 && options.matches("', '").count() + 1 > (letter.as_bytes()[0] - b'A') as usize);
        }
        if !row["image_2"].is_null() {
            multi += 1;
            assert!(question.contains("<image 1>") && question.contains("<image 2>"));
        }
        assert!(["image_3", "image_4", "image_5", "image_6", "image_7"].iter().all(|c| row[*c] == Cell::Null));
    }
    assert_eq!((open, multi), (2, 2));
}

#[test]
fn ocrbench() {
    let (dir, files) = write(write_ocrbench_fixture);
    assert_eq!(files, ["data/test-00000-of-00001.parquet"]);
    let schema =
        [("dataset", Text), ("question", Text), ("question_type", Text), ("answer", TextList), ("image", Image)];
    for (i, row) in read_checked(dir.path(), OCRBENCH_CONFIG, OCRBENCH_SPLIT, &schema, ROWS).iter().enumerate() {
        let (qtype, sources) = OCRBENCH_TYPES[i % OCRBENCH_TYPES.len()];
        assert_eq!(text(&row["question_type"]), qtype);
        assert!(sources.contains(&text(&row["dataset"]).as_str()));
        assert!(!row["answer"].as_text_list().unwrap().is_empty());
    }
}

#[test]
fn mathvista() {
    let (dir, files) = write(write_mathvista_fixture);
    assert_eq!(files, ["data/testmini-00000-of-00001-725687bf7a18d64b.parquet"]);
    const META: &[(&str, Kind)] = &[
        ("category", Text),
        ("context", Text),
        ("grade", Text),
        ("img_height", Int),
        ("img_width", Int),
        ("language", Text),
        ("skills", TextList),
        ("source", Text),
        ("split", Text),
        ("task", Text),
    ];
    let schema = [
        ("pid", Text),
        ("question", Text),
        ("image", Text),
        ("decoded_image", Image),
        ("choices", OptTextList),
        ("unit", OptText),
        ("precision", OptFloat),
        ("answer", Text),
        ("question_type", Text),
        ("answer_type", Text),
        ("metadata", Struct(META)),
        ("query", Text),
    ];
    let rows = read_checked(dir.path(), MATHVISTA_CONFIG, MATHVISTA_SPLIT, &schema, ROWS);
    let mut types = BTreeMap::new();
    for row in &rows {
        let (qtype, atype) = (text(&row["question_type"]), text(&row["answer_type"]));
        *types.entry((qtype.clone(), atype.clone())).or_insert(0) += 1;
        assert_eq!(qtype == "multi_choice", !row["choices"].is_null());
        assert_eq!(atype == "float", row["precision"] == Cell::Float(1.0));
        let query = text(&row["query"]);
        assert!(query.starts_with("Hint: ") && query.contains(&format!("Question: {}", text(&row["question"]))));
        if qtype == "free_form" {
            assert!(text(&row["answer"]).parse::<f64>().is_ok());
        }
    }
    assert_eq!(
        types.keys().map(|(q, a)| format!("{q}/{a}")).collect::<Vec<_>>(),
        ["free_form/float", "free_form/integer", "multi_choice/text"]
    );
    assert_eq!(dtype(&dir.path().join(&files[0]), "precision"), "f64");
}

/// Every file under `root` by relative path, with its SHA-256.
fn digests(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let digest = hex::encode(Sha256::digest(fs::read(&path).unwrap()));
                out.insert(relative(root, &[path])[0].clone(), digest);
            }
        }
    }
    out
}

#[test]
fn all_image_fixtures_are_deterministic_small_and_findable() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let written = write_all_image_fixtures(a.path(), 5, 42).unwrap();
    write_all_image_fixtures(b.path(), 5, 42).unwrap();
    write_all_image_fixtures(c.path(), 5, 43).unwrap();
    let (da, db, dc) = (digests(a.path()), digests(b.path()), digests(c.path()));
    assert_eq!(da, db);
    assert_eq!(da.keys().collect::<Vec<_>>(), dc.keys().collect::<Vec<_>>());
    assert!(da.iter().all(|(path, digest)| dc[path] != *digest), "a different seed changes every file");

    let repos: Vec<&str> = written.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(repos, IMAGE_FIXTURES.map(|f| f.repo_id));
    for (fixture, (repo, summary)) in IMAGE_FIXTURES.iter().zip(&written) {
        let root = a.path().join(repo);
        let found = find_split_files(&root, Some(fixture.config), fixture.split).unwrap();
        assert_eq!(found, summary.files, "{repo}");
        let bytes: u64 = summary.files.iter().map(|f| fs::metadata(f).unwrap().len()).sum();
        assert!(bytes < 5 * 12_000 + 8_000, "{repo}: {bytes} bytes for 5 rows");
    }

    // Tiny sets work too (shards may then be empty).
    for n in [0, 1] {
        let dir = tempfile::tempdir().unwrap();
        for (fixture, (repo, summary)) in IMAGE_FIXTURES.iter().zip(write_all_image_fixtures(dir.path(), n, 1).unwrap())
        {
            let files = find_split_files(&dir.path().join(&repo), Some(fixture.config), fixture.split).unwrap();
            let table = smolbench_datasets::SplitTable::open(files).unwrap();
            assert_eq!(
                (table.num_rows(), summary.rows, table.read_rows(&[], None).unwrap().len()),
                (n, n, n),
                "{repo}"
            );
        }
    }
}
