# cx-workbench: `make report` and `make test` are the two commands (see README.md).
# Both bootstrap what they need: a .venv with the project installed, and the sample data.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE := data/sample/truth.json

.PHONY: report test lab data bench clean help

help:
	@echo "make report  run every notebook on the sample data into reports/<run>/*.html"
	@echo "make test    run the test suite (pytest + nbval on the notebooks)"
	@echo "make lab     open JupyterLab on notebooks/"
	@echo "make data    generate the sample data into data/sample/ (if missing)"
	@echo "make bench   run the benchmarks"
	@echo "make clean   remove the venv, generated data and reports"

# Re-install only when the dependencies change.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Regenerated when the simulator changes; otherwise reused.
$(SAMPLE): $(wildcard cxlib/synth/*.py) cxlib/vocab.py | $(STAMP)
	$(BIN)/cx data --out data/sample --force

data: $(SAMPLE)

report: $(STAMP) $(SAMPLE)
	$(BIN)/cx report

test: $(STAMP) $(SAMPLE)
	$(BIN)/python -m pytest

lab: $(STAMP) $(SAMPLE)
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,lab]'
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(STAMP) $(SAMPLE)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data/sample/*.parquet data/sample/truth.json reports/*/ reports/index.html reports/latest
