# SmolBench developer commands. `make demo` and `make test` are the two set-up commands of the
# README; `.ci/run` runs `make test`.
#
# Dependencies are built with optimisation even in test builds (see [profile.dev.package."*"]
# in Cargo.toml), so the model never runs debug-built.

CARGO ?= cargo
# `make test` keeps cargo's exit status through a pipe (pipefail).
SHELL := /bin/bash

.PHONY: demo test lint fixtures engine-patch system-deps report-demo cuda

## System packages (Debian) the tests and demos need, installed only when missing: headless
## Chromium (report test), a TrueType font (chart text), FFmpeg (video frames and fixtures),
## Slurm and munge (the Slurm test starts a private one-node cluster from them).
SYSTEM_DEPS = chromium fonts-dejavu-core ffmpeg slurmd slurmctld slurm-client munge

system-deps:
	@missing=""; for p in $(SYSTEM_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi

## Write the patched mistralrs-core that Cargo.toml's [patch.crates-io] points at
## (target/patched/, from crates.io + runners/patches/*.patch). Fast when already done.
engine-patch:
	runners/patches/apply.sh

## Where cargo puts its builds.
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

## Run the image suite on the embedded default (tiny model, synthetic data) and print the table.
## The binary is the one `make test` builds (`cargo run` would resolve dependency features without
## the dev-dependencies and compile mistral.rs a second time).
demo: engine-patch system-deps
	$(CARGO) test --workspace --no-run
	$(TARGET_DIR)/debug/bench run --suite image --model tiny

## Run every test of the workspace, then print one line adding up cargo's per-binary results.
test: engine-patch system-deps
	@mkdir -p $(TARGET_DIR)
	@set -o pipefail; $(CARGO) test --workspace 2>&1 | tee $(TARGET_DIR)/test-output.log; status=$$?; \
	awk '/^test result:/ { p += $$4; f += $$6; i += $$8 } END { printf "SmolBench tests: %d passed, %d failed, %d ignored (all test binaries)\n", p, f, i }' \
	  $(TARGET_DIR)/test-output.log; \
	exit $$status

## Formatting and lints, as kept green on every commit.
lint: engine-patch
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Write the tiny model and synthetic data sets to $SMOLBENCH_HOME/fixtures.
fixtures: engine-patch system-deps
	$(CARGO) test --workspace --no-run
	$(TARGET_DIR)/debug/bench fixtures

## A tiny run of the image suite, a run of the tiny checkpoint as `256m` (the authors' setting
## by default, so the report compares it with the model card; 512 px images, as the tiny
## checkpoint's 4,096-token context does not hold a 1,920 px prompt with the authors' 2,048-token
## budget), the report over both, and
## screenshots: runs/report-demo/site/index.html, runs/report-demo/first-screen.png (1400x900,
## what a reader sees first) and runs/report-demo/overview.png (the whole page).
report-demo: engine-patch system-deps
	rm -rf runs/report-demo
	$(CARGO) test --workspace --no-run
	$(TARGET_DIR)/debug/bench fixtures --out runs/report-demo/fixtures
	$(TARGET_DIR)/debug/bench run --suite image --model tiny --limit 6 --out runs/report-demo/suite
	$(TARGET_DIR)/debug/bench run --task docvqa --task mmmu --task chartqa --model 256m \
		--model-path runs/report-demo/fixtures/models/tiny --data-dir runs/report-demo/fixtures/data \
		--longest-edge 512 --limit 4 --out runs/report-demo/as-256m
	$(TARGET_DIR)/debug/bench report runs/report-demo/as-256m runs/report-demo/suite --out runs/report-demo/site
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
		--screenshot=runs/report-demo/first-screen.png file://$(CURDIR)/runs/report-demo/site/index.html
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2400 \
		--screenshot=runs/report-demo/overview.png file://$(CURDIR)/runs/report-demo/site/index.html


## The CUDA build, without a GPU: CUDA compiler and libraries from PyPI wheels in a venv, the
## compute capability given explicitly (CUDA_COMPUTE_CAP, default 90 for H100/H200), its own
## target directory (target-cuda). Leaves target-cuda/dist/{bench.xz,gpu-run.sh,build-info.txt},
## under 64 MiB, to carry to a GPU machine. See cuda/build.sh.
cuda: engine-patch
	cuda/build.sh
