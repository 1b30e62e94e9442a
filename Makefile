# SmolBench developer commands. `make demo` and `make test` are the two set-up commands of the
# README; `.ci/run` runs `make test`.
#
# Dependencies are built with optimisation even in test builds (see [profile.dev.package."*"]
# in Cargo.toml), so the model never runs debug-built.

CARGO ?= cargo

.PHONY: demo test lint fixtures

## Run the image suite on the embedded default (tiny model, synthetic data) and print the table.
demo:
	$(CARGO) run --bin bench -- run --suite image --model tiny

## Run every test of the workspace.
test:
	$(CARGO) test --workspace

## Formatting and lints, as kept green on every commit.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Write the tiny model and synthetic data sets to $SMOLBENCH_HOME/fixtures.
fixtures:
	$(CARGO) run --bin bench -- fixtures
