# The two README commands: `make demo` (gate the bundled example, offline) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench gate install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The bundled result has a failing run, so the gate's verdict is "failed" (exit 1);
# the demo reports that exit code instead of failing make.
demo: $(STAMP)
	@$(BIN)/cekura-gate check --policy examples/gate.yaml \
		--result-file examples/results/result_completed_mixed.json \
		--runs-file examples/results/runs_bulk.json \
		--junit out/junit.xml --summary out/summary.md --json out/verdict.json; \
	code=$$?; echo "cekura-gate exited with $$code; reports in out/ (junit.xml, summary.md, verdict.json)"; \
	test $$code -le 1

test: $(STAMP)
	$(BIN)/ruff check gate tests bench
	$(BIN)/ruff format --check gate tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Benchmarks (about a minute on 2 cores): evaluation at scale, waiting, runs fetch, start-up.
bench: $(STAMP)
	$(BIN)/python -m bench

# Local pre-release check against the live API: make gate RESULT_ID=4242
# (reads the key from CEKURA_API_KEY; POLICY defaults to gate.yaml).
POLICY ?= gate.yaml
gate:
	@test -n "$(RESULT_ID)" || { echo "usage: make gate RESULT_ID=<cekura result id> [POLICY=gate.yaml]" >&2; exit 2; }
	@$(MAKE) -s install
	$(BIN)/cekura-gate check --policy "$(POLICY)" --result-id "$(RESULT_ID)" \
		--junit out/junit.xml --summary out/summary.md --json out/verdict.json

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
