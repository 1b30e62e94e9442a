# SmolBench developer commands. `make demo` and `make test` are the two set-up commands of the
# README; `.ci/run` runs `make test`.
#
# Dependencies are built with optimisation even in test builds (see [profile.dev.package."*"]
# in Cargo.toml), so the model never runs debug-built.

CARGO ?= cargo

.PHONY: demo test lint fixtures system-deps

## System packages the tests and the demo need, installed with apt only when a tool is missing:
## `package:command` pairs (ffmpeg decodes and synthesises the videos of the video suite).
SYSTEM_DEPS ?= ffmpeg:ffmpeg

system-deps:
	@missing=""; for dep in $(SYSTEM_DEPS); do pkg=$${dep%%:*}; cmd=$${dep##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi

## Run the image suite on the embedded default (tiny model, synthetic data) and print the table.
demo: system-deps
	$(CARGO) run --bin bench -- run --suite image --model tiny

## Run every test of the workspace.
test: system-deps
	$(CARGO) test --workspace

## Formatting and lints, as kept green on every commit.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Write the tiny model and synthetic data sets to $SMOLBENCH_HOME/fixtures.
fixtures:
	$(CARGO) run --bin bench -- fixtures
