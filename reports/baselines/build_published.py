#!/usr/bin/env python3
"""Builds reports/baselines/published.toml from the shared published_results.csv.

Every row keeps its number, its source text and tier, and gains three labels that the report
shows beside the number:
  - task: the SmolBench task the benchmark corresponds to ("" where SmolBench has none),
  - checkpoint: the Hugging Face checkpoint the number belongs to (inferred for the paper's
    Table 1 columns: see published-results.md section 0.2), or the model as published,
  - setting: which evaluation produced it (paper table, blog, model card, the baseline's own
    report, a third-party leaderboard) and the split where the metric names one,
  - for the SmolVLM authors' own VLMEvalKit numbers, that setting field by field (harness,
    prompt profile, image splitting, data split) so a report can say whether a run's setting
    matches; fields a source does not give are left out and read as "not published".
OCRBench scores out of 1000 are divided by 10 so they read as percent like the rest.

Usage: python3 reports/baselines/build_published.py /work/shared/data/published_results.csv \
           > reports/baselines/published.toml
"""
import csv
import re
import sys

TASKS = {
    "OCRBench": "ocrbench", "AI2D": "ai2d", "ChartQA": "chartqa", "TextVQA": "textvqa",
    "DocVQA": "docvqa", "ScienceQA": "scienceqa", "MMMU": "mmmu", "MathVista": "mathvista",
    "MMStar": "mmstar", "Video-MME": "videomme", "MLVU": "mlvu", "MVBench": "mvbench",
    # TempCompass: the group of its three rule-scored parts (multi-choice, yes/no, caption matching).
    "WorldSense": "worldsense", "TempCompass": "tempcompass",
}

CHECKPOINTS = {
    # The paper's Table 1 columns are the SmolVLM2 checkpoints (published-results.md 0.2).
    "SmolVLM-256M": ("HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "paper column 'SmolVLM-256M'; checkpoint inferred (scores equal the SmolVLM2 cards)"),
    "SmolVLM-500M": ("HuggingFaceTB/SmolVLM2-500M-Video-Instruct", "paper column 'SmolVLM-500M'; checkpoint inferred (scores equal the SmolVLM2 cards)"),
    "SmolVLM-2.2B": ("HuggingFaceTB/SmolVLM2-2.2B-Instruct", "paper column 'SmolVLM-2.2B'; checkpoint inferred (scores equal the SmolVLM2 cards)"),
    "SmolVLM-256M-Instruct": ("HuggingFaceTB/SmolVLM-256M-Instruct", ""),
    "SmolVLM-500M-Instruct": ("HuggingFaceTB/SmolVLM-500M-Instruct", ""),
    "SmolVLM-Instruct (2.2B)": ("HuggingFaceTB/SmolVLM-Instruct", ""),
    "SmolVLM2-2.2B-Instruct": ("HuggingFaceTB/SmolVLM2-2.2B-Instruct", ""),
    "SmolVLM2-500M-Video-Instruct": ("HuggingFaceTB/SmolVLM2-500M-Video-Instruct", ""),
    "SmolVLM2-256M-Video-Instruct": ("HuggingFaceTB/SmolVLM2-256M-Video-Instruct", ""),
}


def tier(source):
    for tag in ("UNVERIFIED", "THIRD-PARTY", "PRIMARY", "SECONDARY"):
        if source.startswith(tag):
            if tag == "PRIMARY" and "baseline self-report" in source:
                return "BASELINE-SELF-REPORT"
            return tag
    return "OTHER"


def setting(source):
    if "paper Table 1" in source:
        return "SmolVLM paper Table 1 (VLMEvalKit, image splitting on)"
    if "paper sec 4.3" in source:
        return "SmolVLM paper section 4.3"
    if "paper Fig. 9" in source:
        return "SmolVLM paper Fig. 9 / section 4.4"
    if "blog 'SmolVLM - small yet mighty'" in source or "huggingface.co/blog/smolvlm" in source:
        return "SmolVLM blog, Nov 2024 (VLMEvalKit)"
    if source.startswith("UNVERIFIED"):
        return "unverified: a single LLM-written summary"
    if "baseline self-report" in source:
        return "the baseline's own report (its own evaluation set-up)"
    if source.startswith("THIRD-PARTY"):
        return "third-party leaderboard or port (not SmolVLM's evaluation)"
    if "SmolVLM2" in source and "Video Evaluation" in source:
        return "SmolVLM2 model cards, video evaluation (VLMEvalKit)"
    if "HF model card" in source:
        return "model card, Jan 2025 (VLMEvalKit)"
    return "secondary aggregator"


def authors_vlmevalkit(source):
    """Whether the number comes from the SmolVLM authors' VLMEvalKit evaluation (paper Table 1,
    the Nov-2024 blog, the model cards). For SmolVLM checkpoints that means their SmolVLM/SmolVLM2
    wrapper prompts and the processor's image splitting (on by default for every SmolVLM
    checkpoint)."""
    s = setting(source)
    return "VLMEvalKit" in s


# The data split of the VLMEvalKit data set each benchmark name stands for, where the published
# metric does not name one (VLMEvalKit dataset names: OCRBench, AI2D_TEST, ChartQA_TEST,
# TextVQA_VAL, DocVQA_VAL, MMMU_DEV_VAL, MathVista_MINI, MMStar, Video-MME, MLVU, MVBench).
# ScienceQA is left out: VLMEvalKit has ScienceQA_VAL and ScienceQA_TEST and the sources do not
# say which one was used.
VLMEVALKIT_SPLITS = {
    "OCRBench": "test", "AI2D": "test", "ChartQA": "test", "TextVQA": "val", "DocVQA": "val",
    "MMMU": "val", "MathVista": "testmini", "MMStar": "val", "Video-MME": "test", "MLVU": "test",
    "MVBench": "test",
}


def kind(benchmark):
    b = benchmark.lower()
    if "ram" in b:
        return "memory"
    if "throughput" in b:
        return "throughput"
    if b in ("ttft", "decode_speed") or b.startswith("decode_") or "encode_time" in b:
        return "latency"
    return "score"


def split_of(metric):
    m = re.search(r"(?:\b|_)(testmini|test-dev|test|val|validation)\b", metric, re.I)
    if not m:
        return ""
    split = m.group(1).lower()
    return "val" if split == "validation" else split


def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(path):
    out = [
        "# Published results of SmolVLM and larger baselines, generated by build_published.py from",
        "# shared/data/published_results.csv (sources: shared/reference/published-results.md).",
        "# Do not edit by hand: fix the CSV or the script and regenerate.",
        "# score: percent (OCRBench /1000 divided by 10); gpu_ram_gb: as published, when given.",
        "",
    ]
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["score"].strip() == "":
                continue  # published as "not reported"
            score = float(row["score"])
            metric = row["metric"]
            note = ""
            if "/1000" in metric:
                score = score / 10.0
                note = "published out of 1000; divided by 10"
            checkpoint, ck_note = CHECKPOINTS.get(row["model"], (row["model"], ""))
            k = kind(row["benchmark"])
            out.append("[[result]]")
            out.append(f"model = {toml_str(row['model'])}")
            out.append(f"checkpoint = {toml_str(checkpoint)}")
            if ck_note:
                out.append(f"checkpoint_note = {toml_str(ck_note)}")
            if row["params_b"].strip():
                out.append(f"params_b = {float(row['params_b'])}")
            out.append(f"benchmark = {toml_str(row['benchmark'])}")
            out.append(f"task = {toml_str(TASKS.get(row['benchmark'], '') if k == 'score' else '')}")
            out.append(f"kind = {toml_str(k)}")
            out.append(f"metric = {toml_str(metric)}")
            split = split_of(metric)
            authors = k == "score" and authors_vlmevalkit(row["source"])
            split_note = ""
            if not split and authors and row["benchmark"] in VLMEVALKIT_SPLITS:
                split = VLMEVALKIT_SPLITS[row["benchmark"]]
                split_note = "not named by the source; the split of VLMEvalKit's data set for this benchmark"
            out.append(f"split = {toml_str(split)}")
            if split_note:
                out.append(f"split_note = {toml_str(split_note)}")
            out.append(f"value = {score}")
            if note:
                out.append(f"value_note = {toml_str(note)}")
            if row["gpu_ram_gb"].strip():
                out.append(f"gpu_ram_gb = {float(row['gpu_ram_gb'])}")
            out.append(f"setting = {toml_str(setting(row['source']))}")
            if authors:
                # The setting, field by field, as a report compares it with a run's. Baselines the
                # authors ran through VLMEvalKit used their own wrappers: no SmolBench profile.
                out.append('harness = "VLMEvalKit"')
                if row["model"].startswith("SmolVLM"):
                    out.append('prompt_profile = "vlmevalkit-smolvlm"')
                    out.append("image_splitting = true")
            out.append(f"tier = {toml_str(tier(row['source']))}")
            out.append(f"source = {toml_str(row['source'])}")
            out.append("")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/published_results.csv")
