# cx-workbench: `make report` and `make test` are the two commands (see README.md).
# Both bootstrap what they need: a .venv with the project installed, and the sample data.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE := data/sample/truth.json

.PHONY: report test lab data data-large bench clean help browser java

help:
	@echo "make report  run every notebook on the sample data into reports/<run>/*.html"
	@echo "make test    run the test suite (pytest + nbval on the notebooks)"
	@echo "make lab     open JupyterLab on notebooks/"
	@echo "make data    generate the sample data into data/sample/ (if missing)"
	@echo "make data-large  1M simulated customers into data/large/ (warehouse-scale tests)"
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

# 1,000,000 customers written in chunks straight to Parquet (docs/warehouse.md), with app
# sessions for warehouse-scale event volume (about 100M touchpoint events) and denser surveys
# (every transactional touchpoint invited, a relationship wave every 2 months: about 4.7M
# responses). The sample's defaults are untouched.
data-large: $(STAMP)
	$(BIN)/python -m cxlib.synth._large --out data/large --customers 1000000 --seed 20261122 \
	  --app-sessions 6 --transactional-invite 1.0 --relationship-every 2

report: $(STAMP) $(SAMPLE)
	$(BIN)/cx report --run config/runs/daily.yml

test: $(STAMP) $(SAMPLE) browser java
	$(BIN)/python -m pytest

# The browser test (tests/test_browser.py) and `cx report --pdf` drive the system's headless
# Chromium with Playwright; nothing is downloaded at run time. Installs Debian's chromium when
# it is missing (about 1-2 min on a fresh machine: ~113 MB of packages; a no-op afterwards),
# with the Noto CJK fonts (Japanese prints as text, not empty boxes; ~60 MB) and poppler-utils
# (pdftotext/pdfinfo, which the PDF test reads with), as root or through sudo. Playwright
# itself comes with the dev extra.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BROWSER_PACKAGES := chromium fonts-noto-cjk poppler-utils
browser:
	@( (command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1) && \
	   dpkg -s fonts-noto-cjk >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 ) || \
	  ($(SUDO) apt-get update -qq && \
	   $(SUDO) apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES))

# The Spark tests (tests/test_engine_spark.py) run pyspark 4.x in local mode, which needs a
# Java 17 or 21 runtime. Installs Debian's default-jre-headless (OpenJDK 17 on bookworm, 21 on
# trixie) when java is missing: about 1 min on a fresh machine (~45 MB of packages, ~190 MB
# installed; apt-get update included); a no-op afterwards. As root or through sudo.
java:
	@command -v java >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends default-jre-headless)

# Lab refuses to run as root (containers) unless told: --allow-root when uid is 0.
lab: $(STAMP) $(SAMPLE)
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,lab]'
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP) $(SAMPLE)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data/sample/*.parquet data/sample/truth.json reports/*/ reports/index.html reports/latest
