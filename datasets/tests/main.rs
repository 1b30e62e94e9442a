//! End-to-end tests: the DocVQA fixture written, found and read back; limits, determinism, a
//! single-file data set found as its only split, and the errors for damaged files and missing
//! columns.

use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sha2::{Digest, Sha256};
use smolbench_datasets::fixtures::{docvqa_rows, write_docvqa_fixture, DOCVQA_COLUMNS, DOCVQA_CONFIG, DOCVQA_SPLIT};
use smolbench_datasets::{find_split_files, Cell, DatasetError, ImageCell, Row, SplitTable};

fn open_fixture(root: &Path) -> SplitTable {
    let files = find_split_files(root, Some(DOCVQA_CONFIG), DOCVQA_SPLIT).unwrap();
    SplitTable::open(files).unwrap()
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

#[test]
fn docvqa_fixture_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_docvqa_fixture(dir.path(), 9, 5).unwrap();
    assert_eq!(summary.rows, 9);
    let names: Vec<_> = summary.files.iter().map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf()).collect();
    assert_eq!(
        names,
        [
            PathBuf::from("DocVQA/validation-00000-of-00002.parquet"),
            PathBuf::from("DocVQA/validation-00001-of-00002.parquet"),
        ]
    );

    let table = open_fixture(dir.path());
    assert_eq!(table.files(), summary.files.as_slice());
    assert_eq!(table.num_rows(), 9);
    assert_eq!(table.columns(), DOCVQA_COLUMNS);

    let expected = docvqa_rows(9, 5).unwrap();
    let rows = table.read_rows(&[], None).unwrap();
    assert_eq!(rows.len(), 9);
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(row.keys().collect::<Vec<_>>().len(), DOCVQA_COLUMNS.len());
        assert_eq!(row["questionId"], Cell::Text(want.question_id.clone()));
        assert!(row["questionId"].as_text().unwrap().parse::<u64>().is_ok());
        assert_eq!(row["question"], Cell::Text(want.question.clone()));
        assert!(row["question"].as_text().unwrap().ends_with('?'));
        assert_eq!(row["question_types"].as_text_list(), Some(want.question_types.clone()));
        assert!(matches!(row["question_types"], Cell::List(_)));
        assert_eq!(row["docId"], Cell::Int(want.doc_id));
        assert_eq!(row["ucsf_document_id"], Cell::Text(want.ucsf_document_id.clone()));
        assert!(matches!(row["ucsf_document_page_no"], Cell::Text(_)));
        assert_eq!(row["data_split"], Cell::Text("val".into()));

        let Cell::List(answers) = &row["answers"] else {
            panic!("answers is {:?}", row["answers"]);
        };
        assert!((1..=3).contains(&answers.len()));
        assert!(answers.iter().all(|a| matches!(a, Cell::Text(_))));
        assert_eq!(row["answers"].as_text_list(), Some(want.answers.clone()));

        let image = row["image"].as_image().expect("image cell");
        assert_eq!(image.path, None);
        assert_eq!(image.bytes, want.image_png);
        let decoded = image::load_from_memory(&image.bytes).unwrap();
        assert!(decoded.width() >= 150 && decoded.width() <= 700);
        // The first answer is printed on the page.
        let printed = format!(": {}", want.answers[0]);
        assert!(want.lines.iter().any(|l| l.ends_with(&printed)));
    }
}

#[test]
fn limit_and_ranges_read_only_the_shards_needed() {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_docvqa_fixture(dir.path(), 10, 1).unwrap();
    let expected = docvqa_rows(10, 1).unwrap();
    let table = open_fixture(dir.path());

    let mid = table.read_rows_at(&["docId"], 3..7).unwrap();
    let ids: Vec<_> = mid.iter().map(|r| r["docId"].clone()).collect();
    let want: Vec<_> = expected[3..7].iter().map(|r| Cell::Int(r.doc_id)).collect();
    assert_eq!(ids, want);
    assert!(table.read_rows_at(&["docId"], 20..30).unwrap().is_empty());
    assert_eq!(table.read_rows(&["docId"], Some(100)).unwrap().len(), 10);

    // With the second shard gone, reads within the first still work: it is never opened.
    fs::remove_file(&summary.files[1]).unwrap();
    let rows = table.read_rows(&["question", "question"], Some(5)).unwrap();
    assert_eq!(rows.len(), 5);
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(row.keys().collect::<Vec<_>>(), ["question"]);
        assert_eq!(row["question"], Cell::Text(want.question.clone()));
    }
    assert_eq!(table.read_rows(&["docId"], Some(2)).unwrap().len(), 2);
    assert_eq!(table.read_rows(&["docId"], Some(0)).unwrap().len(), 0);
    match table.read_rows(&["docId"], None).unwrap_err() {
        DatasetError::Io { path, .. } => assert_eq!(path, summary.files[1]),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn fixture_is_byte_identical_for_a_seed() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fa = write_docvqa_fixture(a.path(), 7, 42).unwrap().files;
    let fb = write_docvqa_fixture(b.path(), 7, 42).unwrap().files;
    let fc = write_docvqa_fixture(c.path(), 7, 43).unwrap().files;
    for i in 0..2 {
        assert_eq!(sha256(&fa[i]), sha256(&fb[i]));
        assert_ne!(sha256(&fa[i]), sha256(&fc[i]));
    }
    // Small enough to keep in a test: a few kilobytes per row.
    let size: u64 = fa.iter().map(|f| fs::metadata(f).unwrap().len()).sum();
    assert!(size < 7 * 20_000, "{size} bytes");
}

fn assert_corrupt(result: Result<impl std::fmt::Debug, DatasetError>, file: &Path) {
    match result {
        Err(err @ DatasetError::CorruptParquet { .. }) => {
            let DatasetError::CorruptParquet { path, .. } = &err else { unreachable!() };
            assert_eq!(path, file);
            let msg = err.to_string();
            assert!(msg.contains(&file.display().to_string()), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
        other => panic!("expected CorruptParquet for {}, got {other:?}", file.display()),
    }
}

#[test]
fn damaged_files_give_corrupt_parquet_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_docvqa_fixture(&dir.path().join("ok"), 4, 9).unwrap();
    let good = fs::read(&summary.files[0]).unwrap();

    let garbage = dir.path().join("garbage.parquet");
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    fs::write(&garbage, bytes).unwrap();
    assert_corrupt(SplitTable::open(vec![garbage.clone()]), &garbage);

    let truncated = dir.path().join("truncated.parquet");
    fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    assert_corrupt(SplitTable::open(vec![summary.files[1].clone(), truncated.clone()]), &truncated);

    let empty = dir.path().join("empty.parquet");
    fs::write(&empty, b"").unwrap();
    assert_corrupt(SplitTable::open(vec![empty.clone()]), &empty);

    // A good footer over zeroed data pages: opening works, reading fails cleanly.
    let footer_len = u32::from_le_bytes(good[good.len() - 8..good.len() - 4].try_into().unwrap());
    let data_end = good.len() - 8 - footer_len as usize;
    let mut zeroed = good.clone();
    zeroed[4..data_end].fill(0);
    let pages = dir.path().join("pages.parquet");
    fs::write(&pages, zeroed).unwrap();
    let table = SplitTable::open(vec![pages.clone()]).unwrap();
    assert_eq!(table.num_rows(), 2);
    assert_corrupt(table.read_rows(&["image", "answers"], None), &pages);

    let absent = dir.path().join("absent.parquet");
    assert!(matches!(SplitTable::open(vec![absent]), Err(DatasetError::Io { .. })));
}

#[test]
fn missing_column_names_file_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_docvqa_fixture(dir.path(), 2, 0).unwrap();
    let table = open_fixture(dir.path());
    let err = table.read_rows(&["question", "nope"], None).unwrap_err();
    match &err {
        DatasetError::MissingColumn { path, column, available } => {
            assert_eq!(path, &summary.files[0]);
            assert_eq!(column, "nope");
            assert_eq!(available, &DOCVQA_COLUMNS);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("questionId, question"), "{err}");
}

#[test]
fn generic_polars_types_convert_to_cells() {
    let n = 4;
    let validity = BooleanChunked::new("v".into(), &[true, false, true, true]);
    let outer = validity.downcast_iter().next().unwrap().values().clone();
    let img = StructChunked::from_series(
        "img".into(),
        n,
        [
            Series::new("path".into(), &[Some("a.png"), None, None, Some("d.png")]),
            Series::new("bytes".into(), &[Some(vec![1u8, 2]), None, None, Some(vec![3u8])]),
        ]
        .iter(),
    )
    .unwrap()
    .with_outer_validity(Some(outer.clone()));
    let other = StructChunked::from_series(
        "other".into(),
        n,
        [Series::new("a".into(), &[1i64, 2, 3, 4]), Series::new("b".into(), &["w", "x", "y", "z"])].iter(),
    )
    .unwrap()
    .with_outer_validity(Some(outer));
    let inner = |v: &[i64]| Series::new("".into(), v);
    let nested = Series::new(
        "nested".into(),
        &[
            Series::new("".into(), &[inner(&[1, 2]), inner(&[])]),
            Series::new("".into(), &[inner(&[3])]),
            Series::new("".into(), &[inner(&[4])]),
            Series::new("".into(), &[inner(&[5])]),
        ],
    );
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new("b".into(), &[Some(true), None, Some(false), Some(true)]),
            Column::new("i".into(), &[1i32, -2, 3, 4]),
            Column::new("u".into(), &[7u64, 8, 9, 10]),
            Column::new("f".into(), &[Some(0.5f32), None, Some(1.0), Some(2.0)]),
            Column::new("s".into(), &[Some("x"), None, Some("z"), Some("")]),
            Column::new("bin".into(), &[vec![0u8], vec![], vec![1], vec![2]]),
            nested.into_column(),
            img.into_series().into_column(),
            other.into_series().into_column(),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("types.parquet");
    ParquetWriter::new(fs::File::create(&path).unwrap()).finish(&mut df).unwrap();

    let rows = SplitTable::open(vec![path]).unwrap().read_rows(&[], None).unwrap();
    let r0: &Row = &rows[0];
    assert_eq!(r0["b"], Cell::Bool(true));
    assert_eq!(r0["i"], Cell::Int(1));
    assert_eq!(r0["u"], Cell::Int(7));
    assert_eq!(r0["f"], Cell::Float(0.5));
    assert_eq!(r0["s"], Cell::Text("x".into()));
    assert_eq!(r0["bin"], Cell::Bytes(vec![0]));
    assert_eq!(r0["nested"], Cell::List(vec![Cell::List(vec![Cell::Int(1), Cell::Int(2)]), Cell::List(vec![])]));
    assert_eq!(r0["img"], Cell::Image(ImageCell { bytes: vec![1, 2], path: Some("a.png".into()) }));
    let Cell::Struct(fields) = &r0["other"] else {
        panic!("{:?}", r0["other"]);
    };
    assert_eq!(fields["a"], Cell::Int(1));
    assert_eq!(fields["b"], Cell::Text("w".into()));

    let r1 = &rows[1];
    for col in ["b", "f", "s", "img", "other"] {
        assert_eq!(r1[col], Cell::Null, "{col}");
    }
    assert_eq!(r1["bin"], Cell::Bytes(vec![]));
    assert_eq!(rows[2]["img"], Cell::Null, "valid struct, both fields null");
    assert_eq!(rows[3]["s"], Cell::Text(String::new()));
}

#[test]
fn a_lone_root_file_is_the_only_split() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("mmstar.parquet"), b"x").unwrap();
    fs::write(root.join("MMStar.tsv"), b"x").unwrap();
    let found = |root: &Path, config, split| find_split_files(root, config, split).map(|f| f.len());
    assert_eq!(found(root, Some("val"), "val").unwrap(), 1);
    assert_eq!(found(root, None, "test").unwrap(), 1);
    // A second parquet file makes it ambiguous; a split-named lone file belongs to that split only.
    fs::write(root.join("other.parquet"), b"x").unwrap();
    assert!(found(root, Some("val"), "val").is_err());
    for split_named in ["test.parquet", "train-00000-of-00001.parquet", "val-extra.parquet"] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(split_named), b"x").unwrap();
        let err = find_split_files(dir.path(), None, "validation").unwrap_err();
        assert!(matches!(err, DatasetError::NoSplitFiles { .. }), "{split_named}: {err}");
    }
}

#[test]
fn empty_table() {
    let table = SplitTable::open(Vec::new()).unwrap();
    assert_eq!(table.num_rows(), 0);
    assert!(table.columns().is_empty());
    assert!(table.read_rows(&["x"], None).unwrap().is_empty());
}

#[test]
fn row_group_ranges_cover_every_row_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let mut df =
        DataFrame::new(10, vec![Series::new("x".into(), (0..10i64).collect::<Vec<_>>()).into_column()]).unwrap();
    ParquetWriter::new(fs::File::create(&path).unwrap()).with_row_group_size(Some(4)).finish(&mut df).unwrap();
    let summary = write_docvqa_fixture(&dir.path().join("docvqa"), 6, 1).unwrap();
    let mut files = vec![path];
    files.extend(summary.files.iter().cloned());
    let table = SplitTable::open(files).unwrap();
    let ranges = table.row_group_ranges();
    // The first file holds several row groups (polars balances their sizes around the one
    // asked for), and a file boundary is a group boundary.
    let first_file: Vec<_> = ranges.iter().filter(|r| r.end <= 10).collect();
    assert!(first_file.len() >= 2, "{ranges:?}");
    assert!(ranges.iter().any(|r| r.end == 10), "{ranges:?}");
    assert_eq!((ranges[0].start, ranges.last().unwrap().end), (0, table.num_rows()));
    for pair in ranges.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "{ranges:?}");
    }
    // Rows read within one range come back as they are.
    let second = ranges[1].clone();
    let rows = table.read_rows_at(&["x"], second.clone()).unwrap();
    let want: Vec<Cell> = second.map(|i| Cell::Int(i as i64)).collect();
    assert_eq!(rows.iter().map(|r| r["x"].clone()).collect::<Vec<_>>(), want);
}
