# SmolBench developer commands. `make demo` and `make test` are the two set-up commands of the
# README; `.ci/run` runs `make test`.
#
# Dependencies are built with optimisation even in test builds (see [profile.dev.package."*"]
# in Cargo.toml), so the model never runs debug-built.

CARGO ?= cargo

.PHONY: demo test lint fixtures engine-patch

## Write the patched mistralrs-core that Cargo.toml's [patch.crates-io] points at
## (target/patched/, from crates.io + runners/patches/*.patch). Fast when already done.
engine-patch:
	runners/patches/apply.sh

## Run the image suite on the embedded default (tiny model, synthetic data) and print the table.
demo: engine-patch
	$(CARGO) run --bin bench -- run --suite image --model tiny

## Run every test of the workspace.
test: engine-patch
	$(CARGO) test --workspace

## Formatting and lints, as kept green on every commit.
lint: engine-patch
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Write the tiny model and synthetic data sets to $SMOLBENCH_HOME/fixtures.
fixtures: engine-patch
	$(CARGO) run --bin bench -- fixtures
