#!/usr/bin/env bash
# Writes the patched copy of mistralrs-core 0.8.1 that the workspace's [patch.crates-io] points
# at: target/patched/mistralrs-core-0.8.1 (git-ignored), from the crates.io package verified by
# its SHA-256, plus runners/patches/mistralrs-core-0.8.1-idefics3-split.patch.
#
# Idempotent and fast when already done: a stamp holds the patch's hash. Run from anywhere;
# `make test`, `make demo` and `make lint` run it first. Needs bash, tar, sha256sum, cargo (only
# when the package is not yet in cargo's cache) and `patch` or `git`.
#
#   runners/patches/apply.sh            # write the copy (no-op when up to date)
#   runners/patches/apply.sh --check    # only check that the patch applies to the pristine source
#                                       # (SMOLBENCH_ENGINE_PATCH=FILE checks another patch file)
set -euo pipefail

VERSION=0.8.1
CRATE=mistralrs-core-$VERSION
# sha256 of mistralrs-core-0.8.1.crate as published on crates.io (Cargo.lock's checksum).
CRATE_SHA256=a2b8b9e5c94491d9ceeded3a30291cb6af6ae74810a5776dd55e3bbb8b3429d4

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PATCH=$HERE/$CRATE-idefics3-split.patch
DEST=$ROOT/target/patched/$CRATE
# The stamp sits beside the copy, not in it: cargo rebuilds a path crate when any file in it
# changes.
STAMP=$DEST.sha256
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
CHECK_ONLY=0
if [[ "${1:-}" == "--check" ]]; then
    CHECK_ONLY=1
    # Tests point the check at another patch file to see that it can fail.
    PATCH=${SMOLBENCH_ENGINE_PATCH:-$PATCH}
fi

die() { echo "runners/patches/apply.sh: $*" >&2; exit 1; }

patch_hash=$(sha256sum "$PATCH" | cut -d' ' -f1)
if [[ $CHECK_ONLY == 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$patch_hash" ]]; then
    exit 0
fi

find_crate_file() {
    ls "$CARGO_HOME"/registry/cache/*/"$CRATE.crate" 2>/dev/null | head -n1 || true
}

crate_file=$(find_crate_file)
if [[ -z "$crate_file" ]]; then
    # Fetch the package with cargo's ordinary client, outside this workspace (whose [patch]
    # entry needs the very directory this script writes).
    tmp_project=$(mktemp -d)
    trap 'rm -rf "$tmp_project"' EXIT
    mkdir -p "$tmp_project/src"
    printf '[package]\nname = "fetch-mistralrs-core"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nmistralrs-core = "=%s"\n' \
        "$VERSION" >"$tmp_project/Cargo.toml"
    : >"$tmp_project/src/lib.rs"
    echo "runners/patches/apply.sh: downloading $CRATE from crates.io" >&2
    (cd "$tmp_project" && cargo fetch --quiet) || die "cannot download $CRATE (cargo fetch failed); check the network"
    crate_file=$(find_crate_file)
    [[ -n "$crate_file" ]] || die "cargo fetch did not leave $CRATE.crate under $CARGO_HOME/registry/cache"
fi

actual=$(sha256sum "$crate_file" | cut -d' ' -f1)
[[ "$actual" == "$CRATE_SHA256" ]] || die "$crate_file has sha256 $actual, expected $CRATE_SHA256; delete it and run again"

work=$(mktemp -d "$ROOT/target/.patched-XXXXXX" 2>/dev/null || { mkdir -p "$ROOT/target" && mktemp -d "$ROOT/target/.patched-XXXXXX"; })
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
tar -xzf "$crate_file" -C "$work"
[[ -f "$work/$CRATE/Cargo.toml" ]] || die "$crate_file does not unpack to $CRATE/"

apply_patch() { # $1 = directory, $2 = extra flag (--dry-run or empty)
    # SMOLBENCH_PATCH_TOOL=git forces the git fallback (used by tests).
    if [[ "${SMOLBENCH_PATCH_TOOL:-}" != git ]] && command -v patch >/dev/null 2>&1; then
        (cd "$1" && patch -p1 --forward --batch --silent --fuzz=0 ${2:+"$2"} <"$PATCH")
    else
        # The copy sits inside this repository's target/: stop git from finding the repository,
        # or it would apply paths relative to its top.
        (cd "$1" && GIT_CEILING_DIRECTORIES="$(dirname "$1")" git apply -p1 ${2:+--check} "$PATCH")
    fi
}

if [[ $CHECK_ONLY == 1 ]]; then
    apply_patch "$work/$CRATE" --dry-run || die "$PATCH no longer applies to $CRATE"
    echo "ok: $PATCH applies to $CRATE"
    exit 0
fi

apply_patch "$work/$CRATE" "" || die "$PATCH does not apply to $CRATE"
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST" "$STAMP"
mv "$work/$CRATE" "$DEST"
echo "$patch_hash" >"$STAMP"
echo "runners/patches/apply.sh: wrote $DEST" >&2
