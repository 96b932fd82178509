# The two README commands: `make demo` (gate the bundled example, offline) and `make test`.
# Everything is installed from the lock: uv from requirements/uv.txt (pip, hash-checked, into
# a bootstrap environment of its own), then every package of $(VENV) from uv.lock
# (`uv sync --locked`). $(VENV) holds what the lock names and nothing else: no pip or
# setuptools from the interpreter's ensurepip. Nothing floats.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
BOOTSTRAP := .uv-bootstrap
BOOT_UV := $(BOOTSTRAP)/bin/uv

# uv installs into $(VENV), never downloads an interpreter and reads no user or system
# uv.toml, so that every machine installs the same thing.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_NO_CONFIG := 1

.PHONY: demo test test-fast bench gate install lock schema test-pythons test-latest test-lowest clean

# uv first, from its hash-pinned requirement; then everything else from uv.lock.
$(BOOT_UV): requirements/uv.txt
	rm -rf $(BOOTSTRAP)
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps --only-binary :all: -r requirements/uv.txt
	touch $(BOOT_UV)

$(STAMP): $(BOOT_UV) uv.lock pyproject.toml Makefile
	rm -rf $(VENV)
	$(PYTHON) -m venv --without-pip $(VENV)
	$(BOOT_UV) sync --quiet --locked --python $(BIN)/python
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

# The whole suite, spread over the machine's cores (at most 4: past that, starting workers
# costs more than it saves); about 100 s on 2 cores.
test: $(STAMP)
	$(BIN)/ruff check gate tests bench scripts
	$(BIN)/ruff format --check gate tests bench scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest --numprocesses auto --maxprocesses 4

# The tier to run after every change (under 20 s on 2 cores): every test not marked slow, that
# is, no real process, no wait of a second or more, no build or install. `make test` runs
# everything. Bytecode stays on here even if PYTHONDONTWRITEBYTECODE is set: pytest keeps its
# rewritten test modules there, and recompiling them costs about 5 s per run.
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -m "not slow" -q -p no:cacheprovider

# Benchmarks (about four minutes on 2 cores): evaluation at scale, waiting, runs fetch, start-up,
# and the GitHub Action's install step, cold and warm.
bench: $(STAMP)
	$(BIN)/python -m bench

# Re-lock after a change to the dependencies in pyproject.toml; `make lock UPGRADE=1` also
# moves every pin to the newest release the ranges allow. Rewrites uv.lock,
# requirements/runtime.txt (what the Action and the image install) and requirements/uv.txt.
lock: $(BOOT_UV)
	$(BOOT_UV) lock $(if $(UPGRADE),--upgrade)
	$(MAKE) --no-print-directory install
	$(BIN)/python scripts/locks.py --write

# gate/policy/policy.schema.json is generated from gate/policy/contract.py (and the run:
# fields of RunSettings); rewrite it after changing either. `--check` is what the tests run.
schema: $(STAMP)
	$(BIN)/python scripts/policy_schema.py --write

# The suite on every supported Python, each in its own environment from the same lock.
# An interpreter is pythonX.Y on PATH, else pyenv's newest X.Y (scripts/find-python).
PYTHONS ?= 3.10 3.11 3.12 3.13
test-pythons:
	@for v in $(PYTHONS); do \
		py=$$(sh scripts/find-python $$v) || exit 1; \
		echo "== Python $$v: $$py"; \
		$(MAKE) --no-print-directory test PYTHON="$$py" VENV=.venv-$$v || exit 1; \
	done

# The suite against the newest (test-latest) or the oldest (test-lowest) versions of the
# runtime dependencies that pyproject.toml allows, with the test tools still from the lock:
# a range that no longer holds is found here, not by a user.
test-latest: RESOLUTION := highest
test-lowest: RESOLUTION := lowest-direct
test-latest test-lowest: $(STAMP)
	rm -rf .venv-$(RESOLUTION)
	$(MAKE) --no-print-directory install VENV=.venv-$(RESOLUTION)
	$(UV) pip compile --quiet --no-header --resolution $(RESOLUTION) pyproject.toml \
		--python .venv-$(RESOLUTION)/bin/python -o .venv-$(RESOLUTION)/runtime.txt
	$(UV) pip install --quiet --python .venv-$(RESOLUTION)/bin/python -r .venv-$(RESOLUTION)/runtime.txt
	@echo "runtime dependencies ($(RESOLUTION)):"; sed -n 's/^\([a-z]\)/  \1/p' .venv-$(RESOLUTION)/runtime.txt
	GATE_TEST_UNLOCKED_RUNTIME=1 .venv-$(RESOLUTION)/bin/python -m pytest -q -p no:cacheprovider

# Local pre-release check against the live API: make gate RESULT_ID=4242
# (reads the key from CEKURA_API_KEY; POLICY defaults to gate.yaml).
POLICY ?= gate.yaml
gate:
	@test -n "$(RESULT_ID)" || { echo "usage: make gate RESULT_ID=<cekura result id> [POLICY=gate.yaml]" >&2; exit 2; }
	@$(MAKE) -s install
	$(BIN)/cekura-gate check --policy "$(POLICY)" --result-id "$(RESULT_ID)" \
		--junit out/junit.xml --summary out/summary.md --json out/verdict.json

clean:
	rm -rf $(VENV) .venv-* $(BOOTSTRAP) out dist .pytest_cache .mypy_cache .ruff_cache
