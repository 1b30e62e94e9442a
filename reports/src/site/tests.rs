//! Tests of the site on hand-made runs (the end-to-end test in `tests/report.rs` renders real
//! runs and checks the pages in Chromium).

use std::path::{Path, PathBuf};

use smolbench_core::{
    DeviceFingerprint, ExtractionStep, MemoryReading, MemorySource, ModelRecord, RunManifest, SampleRecord,
    SampleStatus, TaskRecord,
};

use super::*;

fn task_record(prompt_profile: &str, metric_profile: &str) -> TaskRecord {
    TaskRecord {
        name: "docvqa".into(),
        version: 1,
        config: serde_json::json!({"dataset": {"split": "validation"}, "prompt": {"default": prompt_profile}}),
        data_dir: "/nonexistent".into(),
        data_revision: None,
        data_files: vec![],
        available_samples: 4,
        selected_samples: 4,
        prompt_profile: prompt_profile.into(),
        metric_profile: metric_profile.into(),
        data_lock: String::new(),
    }
}

fn run(dir: &Path, prompt: &str, profile: (&str, &str), splitting: bool) -> LoadedRun {
    let manifest = RunManifest {
        format_version: 1,
        run_id: "run-<1>".into(),
        command: vec![],
        started_at: "2026-01-01T00:00:00Z".into(),
        suite: "custom".into(),
        model: ModelRecord {
            requested: "256m".into(),
            repo_id: Some("HuggingFaceTB/SmolVLM-256M-Instruct".into()),
            source_dir: String::new(),
            prepared_dir: String::new(),
            prepare_changes: vec![],
            files: vec![],
            engine: "mistralrs 0.8.1 <x>".into(),
            dtype: "f32".into(),
            tokens_per_image: 64,
            image_splitting: splitting,
            longest_edge: Some(1920),
            tile_size: 512,
            encoder_cache: false,
            engine_patch: None,
        },
        tasks: vec![task_record(profile.0, profile.1)],
        skipped_tasks: vec![],
        smolbench_version: "0.1.0".into(),
        git_commit: None,
        device: DeviceFingerprint {
            compute: "cpu".into(),
            cpu_model: "CPU".into(),
            cpu_cores: 2,
            ram_total_bytes: 1 << 30,
            gpus: vec![],
            os: "linux".into(),
            hostname: "h".into(),
        },
        data_source: "synthetic".into(),
        limit: None,
        endpoints: Vec::new(),
        scoring: "rules".into(),
        judge: None,
    };
    let records: Vec<SampleRecord> = (0..4)
        .map(|i| SampleRecord {
            task: "docvqa".into(),
            sample_id: format!("s{i}"),
            index: i,
            status: SampleStatus::Ok,
            prompt: prompt.into(),
            n_images: 1,
            references: vec!["a".into()],
            breakdown: [("type".to_string(), format!("t{}", i % 2))].into(),
            prediction: Some("<b>a</b>".into()),
            extracted: Some("a".into()),
            extraction_trace: vec![ExtractionStep { step: "strip".into(), output: "a".into() }],
            metric: "anls".into(),
            score: Some(if i == 0 { 1.0 } else { 0.25 }),
            memory: Some(MemoryReading { peak_bytes: 300 << 20, source: MemorySource::ProcessRss }),
            ..Default::default()
        })
        .collect();
    let summary = crate::summarise_run(&manifest.run_id, &records);
    LoadedRun { dir: dir.to_path_buf(), manifest, records, summary, summary_from_file: false, aggregates: Vec::new() }
}

fn render(r: LoadedRun, out: &Path) -> (SiteOutput, String) {
    let site = build_site(&[r], &Baselines::builtin(), out, &SiteOptions::default()).unwrap();
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    (site, index)
}

/// The compact table's row for docvqa.
fn docvqa_row(index: &str) -> &str {
    let start = index.find("<tr data-task=\"docvqa\"").expect("a docvqa row");
    &index[start..start + index[start..].find("</tr>").unwrap()]
}

#[test]
fn site_escapes_run_content_and_writes_every_page() {
    let out = tempfile::tempdir().unwrap();
    let r = run(out.path(), "<script>alert(1)</script>", ("vlmevalkit-smolvlm", "vlmevalkit"), true);
    let (site, index) = render(r, out.path());
    for page in ["index.html", "latency.html", "tasks.html", "baselines.html", "samples/r1-docvqa.html"] {
        assert!(site.pages.contains(&PathBuf::from(page)), "{page}");
    }
    let samples = std::fs::read_to_string(out.path().join("samples/r1-docvqa.html")).unwrap();
    assert!(!samples.contains("<script>alert"));
    assert!(samples.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(samples.contains("&lt;b&gt;a&lt;/b&gt;"));
    assert!(samples.ends_with("</html>\n"));
    // One pass row (score 1) and three failures; no thumbnails without the data.
    assert_eq!(samples.matches("<tr class=\"pass\"").count(), 1);
    assert_eq!(samples.matches("<tr class=\"fail\"").count(), 3);
    assert!(index.contains("run-&lt;1&gt;"));
    assert!(index.contains("mistralrs 0.8.1 &lt;x&gt;, f32"), "engine and dtype from run.json");
    // The mean of 1, .25, .25, .25 is 43.75%.
    assert!(index.contains("<b class=\"value\">43.75</b>"));
    assert!(site.warnings.iter().any(|w| w.contains("no summary.json")));
    for chart in ["charts/memory-docvqa.png", "charts/breakdown-docvqa-type.png"] {
        assert!(site.images.contains(&PathBuf::from(chart)), "{chart}");
        image::open(out.path().join(chart)).expect("a readable PNG");
    }
}

#[test]
fn the_authors_setting_is_compared_like_for_like_with_the_card() {
    let out = tempfile::tempdir().unwrap();
    let (_, index) = render(run(out.path(), "q", ("vlmevalkit-smolvlm", "vlmevalkit"), true), out.path());
    let row = docvqa_row(&index);
    // The 256M card's DocVQA val (58.3), same setting, and the difference 43.75 - 58.3.
    assert!(row.contains("<b>58.3</b> <span class=\"lbl\">SmolVLM-256M-Instruct: model card"), "{row}");
    assert!(row.contains("data-verdict=\"same\""), "{row}");
    assert!(row.contains("<b>-14.55</b>"), "{row}");
    // The headline chart comes first, and Idefics-80B is on no DocVQA chart: it publishes none.
    let chart = index.find("<figure class=\"headline\"").unwrap();
    assert!(chart < index.find("<table id=\"overview\"").unwrap());
}

#[test]
fn an_lmms_eval_run_is_marked_as_a_different_setting_naming_the_prompt_profile() {
    let out = tempfile::tempdir().unwrap();
    let (_, index) = render(run(out.path(), "q", ("lmms-eval", "official"), true), out.path());
    let row = docvqa_row(&index);
    assert!(row.contains("data-verdict=\"different\""), "{row}");
    assert!(row.contains("prompt profile: published vlmevalkit-smolvlm, this run lmms-eval"), "{row}");
    assert!(!row.contains("data-diff="), "no difference is shown across settings: {row}");
    assert!(row.contains("not like for like:<br>harness, prompt profile differ"), "{row}");
}

#[test]
fn what_the_page_says_about_splitting_comes_from_run_json() {
    for splitting in [true, false] {
        let out = tempfile::tempdir().unwrap();
        let (_, index) = render(run(out.path(), "q", ("vlmevalkit-smolvlm", "vlmevalkit"), splitting), out.path());
        let expected = if splitting {
            "split into 512 px tiles with a global view, resized to a longest edge of 1920 px"
        } else {
            "one tile of 512 px, no splitting, resized to a longest edge of 1920 px"
        };
        assert!(index.contains(expected), "splitting {splitting}");
        // No fixed sentence about splitting remains on any page.
        for page in ["index.html", "latency.html", "tasks.html", "baselines.html"] {
            let html = std::fs::read_to_string(out.path().join(page)).unwrap();
            assert!(!html.contains("image splitting is off in mistral.rs"), "{page}");
        }
        // Without splitting the card's number (split images) is a different setting.
        let row = docvqa_row(&index);
        assert_eq!(row.contains("image splitting: published on, this run off"), !splitting, "{row}");
    }
}

#[test]
fn the_headline_chart_plots_idefics_80b_at_an_estimated_memory() {
    let out = tempfile::tempdir().unwrap();
    let mut r = run(out.path(), "q", ("vlmevalkit-smolvlm", "vlmevalkit"), true);
    for rec in &mut r.records {
        rec.task = "mmmu".into();
    }
    r.manifest.tasks[0].name = "mmmu".into();
    r.summary = crate::summarise_run("r", &r.records);
    let (_, index) = render(r, out.path());
    let figure = &index[index.find("<figure class=\"headline\" data-task=\"mmmu\"").expect("mmmu headline")..];
    let caption = &figure[..figure.find("</figure>").unwrap()];
    assert!(caption.contains("Idefics-80B (~160 GB)"), "{caption}");
    // Models without a memory figure or a parameter count are listed, not dropped silently.
    let left_out = Baselines::builtin()
        .scores_for_task("mmmu")
        .into_iter()
        .filter(|p| Baselines::builtin().memory_figure(p).is_none())
        .map(|p| p.model.clone())
        .collect::<Vec<_>>();
    for model in &left_out {
        assert!(caption.contains(&escape_for_test(model)), "{model} not listed: {caption}");
    }
}

fn escape_for_test(s: &str) -> String {
    crate::html::escape(s)
}
