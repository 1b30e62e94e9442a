//! The engine patch (`runners/patches/`) still applies to the pristine mistralrs-core 0.8.1
//! package from crates.io, and the copy the build uses is that patch's result.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn patches_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("patches")
}

fn check(patch: Option<&Path>) -> Output {
    check_with(patch, None)
}

fn check_with(patch: Option<&Path>, tool: Option<&str>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(patches_dir().join("apply.sh")).arg("--check");
    match tool {
        Some(t) => cmd.env("SMOLBENCH_PATCH_TOOL", t),
        None => cmd.env_remove("SMOLBENCH_PATCH_TOOL"),
    };
    match patch {
        Some(p) => cmd.env("SMOLBENCH_ENGINE_PATCH", p),
        None => cmd.env_remove("SMOLBENCH_ENGINE_PATCH"),
    };
    cmd.output().expect("bash runs apply.sh")
}

#[test]
fn the_patch_applies_to_the_pristine_crate() {
    let out = check(None);
    assert!(
        out.status.success(),
        "the engine patch no longer applies to mistralrs-core 0.8.1:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_git_fallback_applies_it_too() {
    // Machines without `patch` use `git apply`.
    let out = check_with(None, Some("git"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_patch_that_does_not_fit_fails_the_check() {
    let real = std::fs::read_to_string(patches_dir().join("mistralrs-core-0.8.1-idefics3-split.patch")).unwrap();
    // Change a context line the patch relies on, as a newer upstream source would.
    let broken = real.replacen(" mod xlora_models;", " mod xlora_models_renamed_upstream;", 1);
    assert_ne!(broken, real, "the patch has the context line this test edits");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.patch");
    std::fs::write(&path, broken).unwrap();
    let out = check(Some(&path));
    assert!(!out.status.success(), "a patch whose context is gone must not pass the check");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no longer applies"));
}

#[test]
fn the_build_uses_the_patched_copy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains(r#"mistralrs-core = { path = "target/patched/mistralrs-core-0.8.1" }"#));
    let copy = root.join("target/patched/mistralrs-core-0.8.1");
    let stamp = std::fs::read_to_string(root.join("target/patched/mistralrs-core-0.8.1.sha256"))
        .expect("apply.sh wrote its stamp");
    let patch = std::fs::read(patches_dir().join("mistralrs-core-0.8.1-idefics3-split.patch")).unwrap();
    use sha2::Digest;
    assert_eq!(stamp.trim(), hex::encode(sha2::Sha256::digest(&patch)), "the patched copy is stale: run make test");
    let lib = std::fs::read_to_string(copy.join("src/lib.rs")).unwrap();
    assert!(lib.contains("pub mod idefics3_encoder_cache"));
}
