//! End-to-end tests of the video suite: the real `bench` binary, FFmpeg decoding synthetic
//! videos written by `bench fixtures`, and the mistral.rs engine on the tiny checkpoint reading
//! the frames in SmolVLM2's video prompt layout.
//!
//! Each test gets its own `SMOLBENCH_HOME` and `HF_HOME`.

mod support;

use std::path::{Path, PathBuf};

use smolbench_core::{RunManifest, SampleRecord, SampleStatus};
use smolbench_datasets::fake_hub::FakeHub;
use smolbench_datasets::video::synth::{write_synthetic_video, SynthVideo};
use smolbench_datasets::video::{clip_of, probe_video, sample_frame_indices, SamplingSettings, TimeWindow, VideoInfo};
use smolbench_datasets::SplitTable;
use smolbench_runners::model::tiny::tiny_token_count;
use smolbench_tasks::metrics::videomme_official_extract;
use smolbench_tasks::video_prompt::{smolvlm2_video_block, vlmevalkit_smolvlm2_frames, VLMEVALKIT_SMOLVLM2_SYSTEM};
use support::{read_records, stderr, Sandbox};

fn manifest(dir: &Path) -> RunManifest {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

/// The Video-MME fixture's rows as (question_id, video file).
fn videomme_videos(data: &Path) -> Vec<(String, PathBuf)> {
    let root = data.join("lmms-lab/Video-MME");
    let table = SplitTable::open_split(&root, Some("videomme"), "test").unwrap();
    let rows = table.read_rows(&["question_id", "videoID"], None).unwrap();
    rows.iter()
        .map(|r| {
            let id = r["videoID"].as_text().unwrap();
            let file = ["mp4", "MP4", "mkv"]
                .iter()
                .map(|ext| root.join("data").join(format!("{id}.{ext}")))
                .find(|p| p.is_file())
                .expect("the fixture wrote the video");
            (r["question_id"].as_text().unwrap(), file)
        })
        .collect()
}

/// Prompt tokens the engine must count for a record of the tiny model: the chat template around
/// the user turn (which starts with text, so `User: `), one token per character or special
/// token, each `<image>` expanded to `tokens_per_image` tokens.
fn expected_prompt_tokens(record: &SampleRecord, tokens_per_image: usize) -> usize {
    let templated = format!("<|im_start|>User: {}<end_of_utterance>\nAssistant:", record.prompt);
    tiny_token_count(&templated) - record.n_images + record.n_images * tokens_per_image
}

#[test]
fn the_video_suite_runs_end_to_end_with_smolvlm2_frames() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = sb.bench(&["run", "--suite", "video", "--model", "tiny", "--out", run_dir.to_str().unwrap()]);
    assert!(out.status.success(), "bench run failed: {}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    for task in
        ["videomme", "videomme_w_subtitle", "mlvu", "mvbench_action_antonym", "worldsense", "tempcompass_yes_no"]
    {
        assert!(table.lines().any(|l| l.starts_with(task)), "{task} missing from: {table}");
    }

    let manifest = manifest(&run_dir);
    assert_eq!(manifest.tasks.len(), 27, "every video task ran: {:?}", manifest.skipped_tasks);
    let records = read_records(&run_dir);
    assert!(records.len() >= 60, "{} records", records.len());
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{} {}: {:?}", r.task, r.sample_id, r.error);
        assert!(r.prompt.starts_with("You are provided the following series of "), "{}", r.prompt);
        assert_eq!(r.prompt.matches("<image>").count(), r.n_images, "one marker per frame");
        assert!(r.n_images >= 1 && r.n_images <= 64);
        let g = r.generation.as_ref().unwrap();
        assert_eq!(g.prompt_tokens, expected_prompt_tokens(r, manifest.model.tokens_per_image), "{}", r.prompt);
        assert_eq!(
            g.image_tokens + g.image_marker_tokens,
            r.n_images * manifest.model.tokens_per_image,
            "placeholders and markers"
        );
        assert_eq!(g.image_marker_tokens, r.n_images * 3);
        assert!(r.score == Some(0.0) || r.score == Some(1.0));
    }

    // Video-MME: each prompt's block is exactly the one the sampling rule gives for its video.
    let data = sb.path("home/fixtures/data");
    let settings = SamplingSettings { frame_edge: 64, ..SamplingSettings::SMOLVLM2 };
    let mut frame_counts = Vec::new();
    for (question_id, file) in videomme_videos(&data) {
        let info = probe_video(&file).unwrap();
        let indices = sample_frame_indices(&info, &settings);
        let timestamps: Vec<f64> = indices.iter().map(|&i| i as f64 / info.fps).collect();
        let block = smolvlm2_video_block(info.duration_s(), &timestamps);
        for task in ["videomme", "videomme_w_subtitle"] {
            let r = records.iter().find(|r| r.task == task && r.sample_id == question_id).expect("recorded");
            assert!(r.prompt.starts_with(&block), "{task} {question_id}:\n{}\n---\n{block}", r.prompt);
            assert_eq!(r.n_images, indices.len());
            // The record says which file and frames the model saw.
            let video = r.video.as_ref().expect("video provenance");
            assert_eq!(video.frames, indices);
            assert_eq!(data.join("lmms-lab/Video-MME").join(&video.path), file);
            assert_eq!((video.fps, video.window_s), (info.fps, None));
        }
        frame_counts.push(indices.len());
    }
    frame_counts.sort_unstable();
    frame_counts.dedup();
    assert!(frame_counts.len() >= 3, "the fixture videos differ in length: {frame_counts:?}");
    // With subtitles: the fixture's SRT lines at sampled frames, or the reference's placeholder.
    let subtitled: Vec<&SampleRecord> = records.iter().filter(|r| r.task == "videomme_w_subtitle").collect();
    assert!(subtitled
        .iter()
        .any(|r| r.prompt.contains("This video's subtitles are listed below: \nline 0 of video 001")));
    assert!(subtitled.iter().any(|r| r.prompt.contains("listed below: \nNo subtitles available\n")));
    // The benchmark-specific aggregates: Video-MME by duration, MLVU over its seven types.
    let aggregates: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("aggregates.json")).unwrap()).unwrap();
    let find = |task: &str| aggregates.as_array().unwrap().iter().find(|a| a["task"] == task).cloned().unwrap();
    let videomme = find("videomme");
    assert_eq!(videomme["rule"], "videomme");
    assert_eq!(videomme["by_category"].as_object().unwrap().len(), 3, "{videomme}");
    let mean = records.iter().filter(|r| r.task == "videomme").map(|r| r.score.unwrap()).sum::<f64>() / 12.0;
    assert!((videomme["score_pct"].as_f64().unwrap() - 100.0 * mean).abs() < 1e-9, "lmms-eval counts every item");
    assert_eq!(find("mlvu")["by_category"].as_object().unwrap().len(), 7);
    assert_eq!(find("mvbench_action_antonym")["rule"], "mvbench");
    // MVBench's 20 tasks add up to one `mvbench` number: their scores weighted by size.
    let group = find("mvbench");
    assert_eq!(group["rule"], "group-mean");
    assert_eq!(group["members"].as_array().unwrap().len(), 20);
    let parts: Vec<serde_json::Value> =
        aggregates.as_array().unwrap().iter().filter(|a| a["rule"] == "mvbench").cloned().collect();
    let total: f64 = parts.iter().map(|p| p["total"].as_f64().unwrap()).sum();
    let weighted: f64 = parts.iter().map(|p| p["score_pct"].as_f64().unwrap() * p["total"].as_f64().unwrap()).sum();
    assert_eq!(group["total"].as_f64().unwrap(), total);
    assert!((group["score_pct"].as_f64().unwrap() - weighted / total).abs() < 1e-9, "{group}");
    // WorldSense (two videos, two questions each) and TempCompass's three parts (three videos,
    // one question each) ran on their fixtures; TempCompass adds up to one `tempcompass` number.
    assert_eq!(records.iter().filter(|r| r.task == "worldsense").count(), 4);
    assert!(records.iter().filter(|r| r.task == "worldsense").all(|r| r.prompt.contains("\nA. ") && r.video.is_some()));
    let tempcompass = find("tempcompass");
    assert_eq!((tempcompass["rule"].as_str(), tempcompass["total"].as_f64()), (Some("group-mean"), Some(9.0)));
    let right = records.iter().filter(|r| r.task.starts_with("tempcompass_")).map(|r| r.score.unwrap()).sum::<f64>();
    assert!((tempcompass["score_pct"].as_f64().unwrap() - 100.0 * right / 9.0).abs() < 1e-9, "{tempcompass}");

    // The report puts the reference numbers beside the published ones: MVBench as a whole.
    let site = sb.path("site");
    let out = sb.bench(&["report", run_dir.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("without a thumbnail"), "{}", stderr(&out));
    // Each video sample's page shows a strip of the frames it was shown, decoded again.
    for name in ["r1-videomme-0.png", "r1-mvbench_episodic_reasoning-1.png", "r1-mvbench_action_sequence-0.png"] {
        let png = std::fs::read(site.join("samples/thumbs").join(name)).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{name}");
        // The IHDR chunk: width and height, big-endian, at bytes 16..24.
        let (width, height) =
            (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
        // At least two landscape frames side by side.
        assert!(width > 2 * height && height <= 80, "{name}: {width}x{height}");
    }
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    let row_start = index.find("<tr class=\"aggregate\" data-task=\"mvbench\">").expect("an mvbench row");
    let row = &index[row_start..row_start + index[row_start..].find("</tr>").unwrap()];
    assert!(row.contains("mean of 20 tasks"), "{row}");
    assert!(row.contains(&format!("<b class=\"value\">{:.1}</b>", group["score_pct"].as_f64().unwrap())), "{row}");
    // SmolVLM2-256M-Video-Instruct's card: MVBench 32.7.
    assert!(row.contains("32.7"), "{row}");
    // The frame cache holds one entry per distinct video and setting.
    let cache = sb.path("home/cache/frames");
    assert!(std::fs::read_dir(&cache).unwrap().count() >= 4);
}

/// The whole model input the tiny model's chat template makes of a record: the system turn where
/// there is one, the user turn, the open assistant turn.
fn templated(record: &SampleRecord) -> String {
    let system = record.system.as_ref().map(|s| format!("System: {s}<end_of_utterance>\n")).unwrap_or_default();
    let user = if record.prompt.starts_with("<image>") { "User:" } else { "User: " };
    format!("<|im_start|>{system}{user}{}<end_of_utterance>\nAssistant:", record.prompt)
}

/// `vlmevalkit-smolvlm` sends each video task's prompt as VLMEvalKit's SmolVLM2 wrapper builds it:
/// the system turn, `Frame from MM:SS:` labels counting frames, the texts joined by spaces and the
/// per-data-set rewrites; WorldSense goes through the wrapper's default builder. The engine
/// counts exactly the tokens of that system turn and user turn.
#[test]
fn the_vlmevalkit_profile_sends_the_wrappers_turns_word_for_word() {
    let sb = Sandbox::new();
    let data = sb.fixtures();
    let run_dir = sb.path("run");
    let mut args = vec!["run", "--model", "tiny", "--prompt-profile", "vlmevalkit-smolvlm", "--limit", "2"];
    for task in ["mvbench_action_antonym", "videomme", "mlvu", "worldsense", "tempcompass_yes_no"] {
        args.extend(["--task", task]);
    }
    args.extend(["--data-dir", data.to_str().unwrap(), "--out", run_dir.to_str().unwrap()]);
    let out = sb.bench(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = manifest(&run_dir);
    assert!(manifest.tasks.iter().all(|t| t.prompt_profile == "vlmevalkit-smolvlm"));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 10);
    let frames = |r: &SampleRecord| vlmevalkit_smolvlm2_frames(r.n_images);
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{} {}: {:?}", r.task, r.sample_id, r.error);
        let g = r.generation.as_ref().unwrap();
        let expected_tokens =
            tiny_token_count(&templated(r)) - r.n_images + r.n_images * manifest.model.tokens_per_image;
        assert_eq!(g.prompt_tokens, expected_tokens, "{}: the engine saw the system and user turns", r.task);
    }

    // MVBench: the data set's system text, the question and options rewritten, "Best option:(" now
    // "Answer:", and the assistant-role text inside the user turn.
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("OpenGVLab/MVBench/json/action_antonym.json")).unwrap(),
    )
    .unwrap();
    for r in records.iter().filter(|r| r.task == "mvbench_action_antonym") {
        let row = &json[r.index];
        let options: Vec<String> = row["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, c)| format!("({}) {}", (b'A' + i as u8) as char, c.as_str().unwrap()))
            .collect();
        let expected = format!(
            "{}Question: {}\nrespond ONLY with one of the multiple choice letter options (A/B/C/D):\n{} Only give the best option. Answer: ",
            frames(r),
            row["question"].as_str().unwrap(),
            options.join("\n")
        );
        assert_eq!(r.prompt, expected);
        assert_eq!(
            r.system.as_deref(),
            Some(
                "Carefully watch the video and pay attention to the cause and sequence of events, the detail and \
                 movement of objects, and the action and pose of persons. Based on your observations, select the best \
                 option that accurately addresses the question.\n "
            )
        );
        assert_eq!(r.assistant_prefix, None);
    }
    // Video-MME: the default system turn; the empty first text leaves two spaces after the frames.
    let table = SplitTable::open_split(&data.join("lmms-lab/Video-MME"), Some("videomme"), "test").unwrap();
    let rows = table.read_rows(&["question", "options"], Some(2)).unwrap();
    for r in records.iter().filter(|r| r.task == "videomme") {
        let row = &rows[r.index];
        let expected = format!(
            "{} These are the frames of a video. Select the best answer to the following multiple-choice question \
             based on the video. Respond with only the letter (A, B, C, or D) of the correct option. Question: {}\n{}\nAnswer: ",
            frames(r),
            row["question"].as_text().unwrap(),
            row["options"].as_text_list().unwrap().join("\n")
        );
        assert_eq!(r.prompt, expected);
        assert!(r.prompt.contains(":\n Frame from 00:00: <image> Frame from 00:01: <image>"), "{}", r.prompt);
        assert_eq!(r.system, Some(format!("{VLMEVALKIT_SMOLVLM2_SYSTEM} ")));
    }
    // MLVU: its system text, "Options:" rewritten.
    for r in records.iter().filter(|r| r.task == "mlvu") {
        assert!(r.prompt.starts_with(&frames(r)) && r.prompt.ends_with(" Only give the best option. "), "{}", r.prompt);
        assert!(r.prompt.contains("\nrespond ONLY with one of the multiple choice letter options (A/B/C/D):\n(A) "));
        assert!(r
            .system
            .as_deref()
            .unwrap()
            .starts_with("Carefully watch this video and pay attention to every detail."));
    }
    // TempCompass yes/no: the question and the answer prompt after the frames.
    let table = SplitTable::open_split(&data.join("lmms-lab/TempCompass"), Some("yes_no"), "test").unwrap();
    let rows = table.read_rows(&["question"], Some(2)).unwrap();
    for r in records.iter().filter(|r| r.task == "tempcompass_yes_no") {
        let question = rows[r.index]["question"].as_text().unwrap();
        assert_eq!(r.prompt, format!("{}{question} Please answer yes or no: ", frames(r)));
        assert_eq!(r.system, Some(format!("{VLMEVALKIT_SMOLVLM2_SYSTEM} ")));
    }
    // WorldSense: the default builder, no system turn, bare markers after the system text.
    let table = SplitTable::open_split(&data.join("winvswon78/worldsensesub"), None, "test").unwrap();
    let rows = table.read_rows(&["question", "candidates"], Some(2)).unwrap();
    for r in records.iter().filter(|r| r.task == "worldsense") {
        let row = &rows[r.index];
        let expected = format!(
            "Carefully watch this video and pay attention to every detail. Based on your observations, select the best \
             option that accurately addresses the question.{}These are the frames of a video. Select the best answer to \
             the following multiple-choice question based on the video. Respond with only the letter (A, B, C, or D) of \
             the correct option.Question: {}\n{}\nAnswer:",
            "<image>".repeat(r.n_images),
            row["question"].as_text().unwrap(),
            row["candidates"].as_text_list().unwrap().join("\n")
        );
        assert_eq!(r.prompt, expected);
        assert_eq!(r.system, None);
    }
}

#[test]
fn a_missing_or_corrupt_video_fails_its_samples_and_the_run_goes_on() {
    let sb = Sandbox::new();
    let data = sb.fixtures();
    let videos = videomme_videos(&data);
    // Video 001 (questions 001-1..3) removed, video 003 (003-1..3) cut short.
    let missing = videos.iter().find(|(q, _)| q == "001-1").unwrap().1.clone();
    std::fs::remove_file(&missing).unwrap();
    let corrupt = videos.iter().find(|(q, _)| q == "003-1").unwrap().1.clone();
    let bytes = std::fs::read(&corrupt).unwrap();
    std::fs::write(&corrupt, &bytes[..bytes.len() / 4]).unwrap();

    let run_dir = sb.path("run");
    let out = sb.bench(&[
        "run",
        "--task",
        "videomme",
        "--model",
        "tiny",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 12);
    // A sample whose video cannot be read fails while its request is built, so its record is
    // known by row index (three questions per video, in order); the error names the id.
    for r in &records {
        match r.index / 3 {
            0 => {
                assert_eq!(r.status, SampleStatus::Failed);
                assert_eq!(r.score, None, "a failed sample is never scored");
                let error = r.error.as_deref().unwrap();
                assert!(error.contains(missing.to_str().unwrap()) && error.contains("does not exist"), "{error}");
                assert!(error.contains(&format!("(id `001-{}`)", r.index + 1)), "{error}");
            }
            2 => {
                assert_eq!(r.status, SampleStatus::Failed);
                let error = r.error.as_deref().unwrap();
                assert!(error.contains(corrupt.to_str().unwrap()) && error.contains("cannot decode video"), "{error}");
                assert_eq!(error.lines().count(), 1, "{error}");
            }
            _ => assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error),
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["tasks"][0]["n_failed"], 6);
    assert_eq!(summary["tasks"][0]["n_scored"], 6);
}

#[test]
fn without_ffmpeg_samples_fail_naming_the_tool_and_the_make_target() {
    let sb = Sandbox::new();
    let data = sb.fixtures();
    let out = sb
        .command(&["run", "--task", "mlvu", "--model", "tiny", "--data-dir", data.to_str().unwrap()])
        .env("SMOLBENCH_FFPROBE", "/nonexistent/ffprobe")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    let line = err.lines().find(|l| l.starts_with("error:")).expect("an error line");
    assert!(line.contains("`ffprobe` is not installed") && line.contains("make system-deps"), "{line}");
}

#[test]
fn a_smolvlm2_named_checkpoint_runs_the_video_prompt() {
    let sb = Sandbox::new();
    let data = sb.fixtures();
    // The tiny checkpoint renamed as SmolVLM2 names its architecture.
    let model = sb.path("smolvlm2-tiny");
    std::fs::create_dir_all(&model).unwrap();
    for entry in std::fs::read_dir(sb.path("fixtures/models/tiny")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), model.join(entry.file_name())).unwrap();
    }
    let config_path = model.join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["architectures"] = serde_json::json!(["SmolVLMForConditionalGeneration"]);
    config["model_type"] = serde_json::json!("smolvlm");
    std::fs::write(&config_path, config.to_string()).unwrap();

    let run_dir = sb.path("run");
    let out = sb.bench(&[
        "run",
        "--task",
        "mlvu",
        "--model",
        "500m-video",
        "--model-path",
        model.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = manifest(&run_dir);
    assert!(manifest.model.prepare_changes.iter().any(|c| c.contains("SmolVLMForConditionalGeneration")));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 7);
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
        assert!(r.prompt.contains("\nOnly give the best option.\n\nBest option: ("), "{}", r.prompt);
        assert_eq!(
            r.generation.as_ref().unwrap().prompt_tokens,
            expected_prompt_tokens(r, manifest.model.tokens_per_image)
        );
    }
}

#[test]
fn video_fixtures_are_identical_every_time() {
    let sb = Sandbox::new();
    let (a, b) = (sb.path("fa"), sb.path("fb"));
    for dir in [&a, &b] {
        let out = sb.bench(&["fixtures", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let videos: Vec<(String, PathBuf)> = videomme_videos(&a.join("data"));
    assert!(videos.iter().any(|(_, f)| f.extension().is_some_and(|e| e == "mkv")), "one video is Matroska");
    let mut files: Vec<PathBuf> = videos.into_iter().map(|(_, f)| f).collect();
    files.push(a.join("data/lmms-lab/Video-MME/videomme/test-00000-of-00001.parquet"));
    files.push(a.join("data/OpenGVLab/MVBench/json/action_antonym.json"));
    files.push(a.join("data/OpenGVLab/MVBench/fine_grained_action/train/0000.parquet"));
    files.push(a.join("data/OpenGVLab/MVBench/video/ssv2_video_mp4/clip0.mp4"));
    files.push(a.join("data/OpenGVLab/MVBench/video/tvqa/frames_fps3_hq/clip1/00007.jpg"));
    files.push(a.join("data/sy1998/MLVU_dev/data/test-00000-of-00001.parquet"));
    for file in files {
        let rel = file.strip_prefix(&a).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(b.join(rel)).unwrap(), "{} differs", rel.display());
    }
}

#[test]
fn sharded_video_runs_merge_to_the_same_aggregates_and_rescore_writes_its_own() {
    let sb = Sandbox::new();
    let data = sb.fixtures();
    let data_s = data.to_str().unwrap();
    let single = sb.path("single");
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec!["run", "--task", "mlvu", "--task", "videomme", "--model", "tiny", "--data-dir", data_s];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(extra);
        let out = sb.bench(&args);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    run(&single, &[]);
    let sharded = sb.path("sharded");
    run(&sharded, &["--shard", "0/2"]);
    run(&sharded, &["--shard", "1/2"]);
    let merged = sb.path("merged");
    let out = sb.bench(&["merge", sharded.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let read = |path: PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap()
    };
    let single_aggregates = read(single.join("aggregates.json"));
    assert_eq!(single_aggregates.as_array().unwrap().len(), 2, "{single_aggregates}");
    assert_eq!(read(merged.join("aggregates.json")), single_aggregates, "the merge recomputes the aggregates");

    // Rescoring with the official rules writes its own aggregates beside its summary; Video-MME's
    // official rule counts only answered items, lmms-eval's all of them.
    let out = sb.bench(&["rescore", merged.to_str().unwrap(), "--metric-profile", "official"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("videomme (videomme rule, official profile)"));
    let official = read(merged.join("aggregates.official.json"));
    let videomme = official.as_array().unwrap().iter().find(|a| a["task"] == "videomme").unwrap().clone();
    assert_eq!(videomme["profile"], "official", "{videomme}");
    let records = read_records(&merged);
    let answered: Vec<&SampleRecord> = records
        .iter()
        .filter(|r| r.task == "videomme")
        .filter(|r| !videomme_official_extract(r.prediction.as_deref().unwrap_or("")).is_empty())
        .collect();
    assert_eq!(videomme["counted"], answered.len(), "{videomme}");
    assert_eq!(read(merged.join("aggregates.json")), single_aggregates, "the run's own aggregates stay");
}

/// The SmolVLM2 block for `clip` of a video sampled with the tiny model's frame edge, computed
/// here from the probe and the sampling rule (not by the sampler the run used).
fn expected_block(info: &VideoInfo, window: Option<TimeWindow>) -> (String, usize) {
    let settings = SamplingSettings { frame_edge: 64, ..SamplingSettings::SMOLVLM2 };
    let (first, clip) = match window {
        Some(w) => clip_of(info, &w).unwrap(),
        None => (0, *info),
    };
    let indices = sample_frame_indices(&clip, &settings);
    let timestamps: Vec<f64> = indices.iter().map(|&i| i as f64 / info.fps).collect();
    assert!(first + indices.last().unwrap() < info.total_frames);
    (smolvlm2_video_block(clip.duration_s(), &timestamps), indices.len())
}

#[test]
fn mvbench_reads_its_json_layout_and_cuts_windows_from_whole_recordings_and_frame_folders() {
    let sb = Sandbox::new();
    let data = sb.fixtures();
    let root = data.join("OpenGVLab/MVBench");
    // lmms-eval's pre-cut clip of row 0 of action_sequence: read whole, before the recording.
    let segment = root.join("video/star/Charades_segment/clip0.mp4");
    let spec = SynthVideo { width: 64, height: 48, fps: (10, 1), frames: 23, tint: 9 };
    write_synthetic_video(&segment, &spec).unwrap();

    let run_dir = sb.path("run");
    let tasks = ["mvbench_action_sequence", "mvbench_episodic_reasoning", "mvbench_fine_grained_action"];
    // The synthetic source (not --data-dir), so the run checks the fixtures' own lock.
    let fixtures = sb.path("fixtures");
    let mut args = vec!["run", "--model", "tiny", "--fixtures", fixtures.to_str().unwrap()];
    for task in tasks {
        args.extend(["--task", task]);
    }
    args.extend(["--out", run_dir.to_str().unwrap()]);
    let out = sb.bench(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 6, "two rows per config");
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{} {}: {:?}", r.task, r.sample_id, r.error);
    }
    let record = |task: &str, index: usize| records.iter().find(|r| r.task == task && r.index == index).unwrap();
    let json = |config: &str| -> Vec<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(root.join(format!("json/{config}.json"))).unwrap()).unwrap()
    };
    let window_of = |row: &serde_json::Value| TimeWindow {
        start_s: row["start"].as_f64().unwrap(),
        end_s: row["end"].as_f64().unwrap(),
    };

    // action_sequence row 0: the pre-cut clip, whole; row 1: the recording cut to its window.
    let rows = json("action_sequence");
    let (block, n) = expected_block(&probe_video(&segment).unwrap(), None);
    let r = record("mvbench_action_sequence", 0);
    assert!(r.prompt.starts_with(&block), "{}\n---\n{block}", r.prompt);
    assert_eq!((r.n_images, n), (2, 2), "2.3 s of clip: two frames");
    let recording = root.join("video/star/Charades_v1_480/clip1.mp4");
    let info = probe_video(&recording).unwrap();
    let window = window_of(&rows[1]);
    let (block, n) = expected_block(&info, Some(window));
    let r = record("mvbench_action_sequence", 1);
    assert!(r.prompt.starts_with(&block), "{}\n---\n{block}", r.prompt);
    assert_eq!(r.n_images, n);
    let (whole, _) = expected_block(&info, None);
    assert_ne!(block, whole, "the window is not the whole recording");
    assert!(r.prompt.contains("Only give the best option.\n"));

    // episodic_reasoning: folders of JPEG frames at 3 fps, cut to each row's window.
    let rows = json("episodic_reasoning");
    for (index, row) in rows.iter().enumerate() {
        let folder = root.join("video/tvqa/frames_fps3_hq").join(row["video"].as_str().unwrap());
        let frames = std::fs::read_dir(&folder).unwrap().count();
        let info = VideoInfo { total_frames: frames, fps: 3.0, width: 0, height: 0 };
        let (block, n) = expected_block(&info, Some(window_of(row)));
        let r = record("mvbench_episodic_reasoning", index);
        assert!(r.prompt.starts_with(&block), "{}\n---\n{block}", r.prompt);
        assert_eq!(r.n_images, n);
    }

    // fine_grained_action is read from the Hub's parquet conversion, scored like the others.
    assert!(root.join("fine_grained_action/train/0000.parquet").is_file());
    assert!(!root.join("json/fine_grained_action.json").exists());
    assert!(record("mvbench_fine_grained_action", 1).score.is_some());
    let manifest = manifest(&run_dir);
    let task = manifest.tasks.iter().find(|t| t.name == "mvbench_episodic_reasoning").unwrap();
    assert!(task.data_lock.starts_with("verified"), "{}", task.data_lock);
}

#[test]
fn a_damaged_mvbench_json_file_is_named_with_what_to_do() {
    let sb = Sandbox::new();
    let data = sb.fixtures();
    let file = data.join("OpenGVLab/MVBench/json/action_count.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, &text[..text.len() / 2]).unwrap();
    let out = sb.run_tiny("mvbench_action_count", &["--data-dir", data.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let line = err.lines().find(|l| l.starts_with("error:")).expect("an error line");
    assert!(line.contains(file.to_str().unwrap()) && line.contains("cannot read JSON data file"), "{line}");
    assert!(line.contains("fetch it again"), "{line}");
}

/// Packs every file under `dir/prefix` into the zip archive `out` (stored, paths from `dir`).
fn pack(dir: &Path, prefix: &str, out: &Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(prefix)).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        let name = format!("{prefix}/{}", file.file_name().unwrap().to_string_lossy());
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, &std::fs::read(&file).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn bench_fetch_brings_the_videos_a_run_needs_from_files_or_archives() {
    let sb = Sandbox::new();
    let data = sb.fixtures();
    let model = sb.path("fixtures/models/tiny");
    let run = |tasks: &[&str], out: &str| -> Vec<SampleRecord> {
        let out_dir = sb.path(out);
        let mut args = vec!["run", "--model", "tiny", "--model-path", model.to_str().unwrap()];
        args.extend(["--out", out_dir.to_str().unwrap()]);
        for task in tasks {
            args.extend(["--task", task]);
        }
        let out = sb.bench(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        read_records(&out_dir)
    };

    // MVBench's `video` branch keeps its videos as files: only those the rows name come down,
    // a TVQA frame folder with all its frames.
    let hub = FakeHub::serve("OpenGVLab/MVBench", "5eed0001", &data.join("OpenGVLab/MVBench")).unwrap();
    let tasks = ["mvbench_action_sequence", "mvbench_episodic_reasoning"];
    let out = sb
        .command(&["fetch", "--task", tasks[0], "--task", tasks[1]])
        .env("HF_ENDPOINT", hub.endpoint())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("mvbench_action_sequence: 2 video files, 0 archives"), "{stdout}");
    let snapshot = sb.path("hf/hub/datasets--OpenGVLab--MVBench/snapshots/5eed0001");
    assert!(snapshot.join("json/action_sequence.json").is_file());
    assert!(snapshot.join("video/star/Charades_v1_480/clip1.mp4").is_file());
    let frames = std::fs::read_dir(snapshot.join("video/tvqa/frames_fps3_hq/clip1")).unwrap().count();
    assert_eq!(
        frames,
        std::fs::read_dir(data.join("OpenGVLab/MVBench/video/tvqa/frames_fps3_hq/clip1")).unwrap().count()
    );
    assert!(!snapshot.join("video/clevrer").exists(), "videos of tasks not asked for stay behind");
    drop(hub);
    let records = run(&tasks, "run-mvbench");
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{} {}: {:?}", r.task, r.sample_id, r.error);
    }

    // Video-MME ships zip archives: fetched and unpacked where the task reads them.
    let remote = sb.path("remote-videomme");
    let local = data.join("lmms-lab/Video-MME");
    std::fs::create_dir_all(remote.join("videomme")).unwrap();
    let parquet = "videomme/test-00000-of-00001.parquet";
    std::fs::copy(local.join(parquet), remote.join(parquet)).unwrap();
    pack(&local, "data", &remote.join("videos_chunked_01.zip"));
    pack(&local, "subtitle", &remote.join("subtitle.zip"));
    let hub = FakeHub::serve("lmms-lab/Video-MME", "5eed0002", &remote).unwrap();
    let out =
        sb.command(&["fetch", "--task", "videomme_w_subtitle"]).env("HF_ENDPOINT", hub.endpoint()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let videos = std::fs::read_dir(local.join("data")).unwrap().count();
    let subtitles = std::fs::read_dir(local.join("subtitle")).unwrap().count();
    let expected = format!("0 video files, 2 archives ({} files unpacked)", videos + subtitles);
    assert!(stdout.contains(&expected), "{stdout}");
    drop(hub);
    let records = run(&["videomme_w_subtitle"], "run-videomme");
    assert_eq!(records.len(), 12);
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{}: {:?}", r.sample_id, r.error);
    }
    assert!(records.iter().any(|r| r.prompt.contains("listed below: \nline 0 of video 001")));
}

#[test]
fn sample_frames_prints_the_picked_frames_of_a_window_and_the_speed() {
    let sb = Sandbox::new();
    let video = sb.path("v.mp4");
    write_synthetic_video(&video, &SynthVideo { width: 64, height: 48, fps: (10, 1), frames: 100, tint: 3 }).unwrap();
    let out = sb.bench(&["sample-frames", "--repeat", "1", "--start", "2", "--end", "6.5", video.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // [2, 6.5) s at 10 fps is frames 20..65, 4.5 s: round(4.5) = 4 frames at linspace(0, 44, 4).
    assert!(stdout.contains("4 frames of 100, frames 20..65 kept at 10.000 fps (4.50 s"), "{stdout}");
    assert!(stdout.contains("20@0.00s 34@1.40s 49@2.90s 64@4.40s"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("decode: 4 frames in ") && l.ends_with(" frames/s")), "{stdout}");
}

#[test]
fn a_served_model_sees_the_frames_an_in_process_run_sends() {
    let sb = Sandbox::new();
    let server = sb.serve_tiny();
    let tasks = ["videomme_w_subtitle", "mvbench_action_localization", "mvbench_episodic_reasoning"];
    let run = |out: &str, extra: &[&str]| -> Vec<SampleRecord> {
        let dir = sb.path(out);
        let mut args = vec!["run", "--model", "tiny", "--out", dir.to_str().unwrap()];
        for task in tasks {
            args.extend(["--task", task]);
        }
        args.extend(extra);
        let out = sb.bench(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut records = read_records(&dir);
        records.sort_by(|a, b| (&a.task, a.index).cmp(&(&b.task, b.index)));
        records
    };
    let local = run("local", &[]);
    // Frames are sized from the tiny model's own files even though it is not loaded here.
    let served = run("served", &["--endpoint", &server.url]);
    assert_eq!(local.len(), 16);
    for (l, s) in local.iter().zip(&served) {
        assert_eq!((&l.task, l.index), (&s.task, s.index));
        assert_eq!(s.status, SampleStatus::Ok, "{:?}", s.error);
        assert_eq!((&l.prompt, l.n_images, &l.video), (&s.prompt, s.n_images, &s.video));
        assert_eq!(l.prediction, s.prediction, "{} {}", l.task, l.sample_id);
    }
}
