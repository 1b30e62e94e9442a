# SmolBench developer commands. `make demo` and `make test` are the two set-up commands of the
# README; `.ci/run` runs `make test`.
#
# Dependencies are built with optimisation even in test builds (see [profile.dev.package."*"]
# in Cargo.toml), so the model never runs debug-built.

CARGO ?= cargo

.PHONY: demo test lint fixtures system-deps report-demo

## Run the image suite on the embedded default (tiny model, synthetic data) and print the table.
demo:
	$(CARGO) run --bin bench -- run --suite image --model tiny

## System packages the tests need (Debian): headless Chromium for the report test, a TrueType
## font for chart text. Installs only what is missing.
SYSTEM_DEPS = chromium fonts-dejavu-core
system-deps:
	@missing=""; for p in $(SYSTEM_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y $$missing; fi

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

## Two tiny runs, the report over both, and a screenshot of its overview page:
## runs/report-demo/site/index.html and runs/report-demo/overview.png.
report-demo:
	rm -rf runs/report-demo
	$(CARGO) run --bin bench -- run --suite image --model tiny --limit 6 --out runs/report-demo/suite
	$(CARGO) run --bin bench -- run --task docvqa --task mmmu --model tiny --out runs/report-demo/docvqa-mmmu
	$(CARGO) run --bin bench -- report runs/report-demo/suite runs/report-demo/docvqa-mmmu --out runs/report-demo/site
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2400 \
		--screenshot=runs/report-demo/overview.png file://$(CURDIR)/runs/report-demo/site/index.html
