# Syndication Tracker: the user's entry points. Every target that runs Python first makes
# sure .venv exists and matches requirements.lock (created or refreshed when missing or stale).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-from-lock
export PYTHONPATH := $(CURDIR)

# Options (make crawl SOURCES=my.yaml, make evaluate SEED=7 SITES=20 STORIES=400, ...)
SOURCES ?= sources.yaml
DATA    ?= data
SEED    ?= 1
SITES   ?= 12
STORIES ?= 300
DAY     ?= 1
WORKERS ?= 2
PORT    ?= 8800
REPEAT  ?= 3
DOCUMENTS ?= 1000000
REALTEXT ?= ../shared/realtext/news_2025.parquet
REALPAGES ?= ../shared/realpages
HEAVY   ?=
MASTER  ?= local[*]
TEST_WORKERS ?= 2
SPARK_OUT ?= $(DATA)/spark_group
SPARK_DOCUMENTS ?= 50000

.DEFAULT_GOAL := help
.PHONY: help venv redis-server chromium test test-fast crawl report crawl-cluster demo-web reprocess migrate spark-group evaluate evaluate-real bench bench-realtext bench-scale bench-spark bench-cluster lint clean

help: ## list the targets
	@echo "Syndication Tracker"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Options: SOURCES=$(SOURCES) DATA=$(DATA) SEED=$(SEED) SITES=$(SITES) STORIES=$(STORIES) DAY=$(DAY) WORKERS=$(WORKERS) PORT=$(PORT) REPEAT=$(REPEAT) DOCUMENTS=$(DOCUMENTS) REALTEXT=$(REALTEXT) REALTEXT_TOOLS=$(REALTEXT_TOOLS) REALPAGES=$(REALPAGES) HEAVY=$(HEAVY) MASTER=$(MASTER) TEST_WORKERS=$(TEST_WORKERS) SPARK_OUT=$(SPARK_OUT) SPARK_DOCUMENTS=$(SPARK_DOCUMENTS)"

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

venv: $(STAMP) ## create or refresh .venv from requirements.lock

# The shared frontier's tests (and crawl workers) need a redis-server; Debian's package is
# installed when it is missing (as root, or through sudo).
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q redis-server >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q redis-server >/dev/null; } || \
	  { echo "error: could not install redis-server; install it (apt-get install redis-server) and retry" >&2; exit 1; }; }

# The report's test opens it in a headless Chromium (Playwright drives Debian's package).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; } || \
	  { echo "error: could not install chromium; install it (apt-get install chromium) and retry" >&2; exit 1; }; }

# The suite's files are shared out over TEST_WORKERS pytest processes (pytest-xdist; a file's
# tests stay in one process, so its fixtures are built once); TEST_WORKERS=0 runs them in this one.
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

test: $(STAMP) redis-server chromium ## run the test suite (about 13 minutes on 2 cores)
	$(PYTEST)

test-fast: $(STAMP) redis-server ## the unit tests only, no crawl (about 1.5 minutes)
	$(PYTEST) -m "not crawl" -q

# DAY given on the command line (make crawl DAY=2) moves the demo web of the sources file to that day.
crawl: $(STAMP) ## crawl the sources into DATA: only what is new since the last run (DAY=N: demo web day, REPORT=1: then make report)
	$(PY) -m crawler.run --sources $(SOURCES) --data $(DATA) $(if $(filter command line,$(origin DAY)),--demo-day $(DAY)) $(if $(REPORT),--report) $(if $(WATCH),--watch $(WATCH)) $(if $(WATCH_JSON),--watch-json $(WATCH_JSON))

report: $(STAMP) ## the static HTML report of DATA in DATA/report/ (opens from disk, no network)
	$(PY) -m pipelines.report --data $(DATA)

reprocess: $(STAMP) ## rebuild documents, edges, clusters and the state from the stored pages (no crawl)
	$(PY) -m pipelines.reprocess --data $(DATA)

migrate: $(STAMP) ## rewrite the datasets of DATA in the current schema version, in place
	$(PY) -m pipelines.storage.migrate --data $(DATA)

# WORKERS crawl workers and one grouping service over a Redis of their own (README, "Many crawl workers").
crawl-cluster: $(STAMP) redis-server ## the same crawl as `make crawl`, by WORKERS workers and one grouping service
	$(PY) -m crawler.cluster --workers $(WORKERS) --sources $(SOURCES) --data $(DATA) $(if $(filter command line,$(origin DAY)),--demo-day $(DAY))

spark-group: $(STAMP) ## re-group every stored document of DATA with Spark (MASTER) -> SPARK_OUT
	$(PY) -m pipelines.spark_group --data $(DATA) --out $(SPARK_OUT) --master "$(MASTER)"

evaluate: $(STAMP) ## crawl the demo web SEED/SITES/STORIES (HEAVY=1: heavy pages) and score it
	$(PY) -m pipelines.evaluate --crawl --seed $(SEED) --sites $(SITES) --stories $(STORIES) --data $(DATA) $(if $(HEAVY),--heavy)

evaluate-real: $(STAMP) ## crawl the real pages of REALPAGES on a loopback proxy; score beside trafilatura
	$(PY) -m pipelines.evaluate_real --crawl --pages $(REALPAGES) --data $(DATA)

demo-web: $(STAMP) ## serve the demo web in the foreground (proxy on 127.0.0.1:PORT)
	$(PY) -m demoweb serve --port $(PORT) --seed $(SEED) --sites $(SITES) --stories $(STORIES) --day $(DAY) $(if $(HEAVY),--heavy)

bench: $(STAMP) ## measure every stage against its baseline (REPEAT runs; heavy pages, LIGHT=1: light) -> data/bench/latest.json
	$(PY) -m bench $(if $(LIGHT),--light) --repeat $(REPEAT) --seed $(SEED) --sites $(SITES) --stories $(STORIES) --realtext "$(REALTEXT)" --out $(DATA)/bench/latest.json

bench-realtext: $(STAMP) ## group real-text copies: this project beside rensa and datasketch (REALTEXT_TOOLS=...,pipeline-core: also the bare grouping core) -> data/bench/realtext.json
	$(PY) -m bench.realtext --articles "$(REALTEXT)" --repeat $(REPEAT) --seed $(SEED) $(if $(REALTEXT_TOOLS),--tools $(REALTEXT_TOOLS)) --out $(DATA)/bench/realtext.json

bench-scale: $(STAMP) ## group DOCUMENTS generated documents (minutes) -> data/bench/scale.json
	$(PY) -m bench.scale --documents $(DOCUMENTS) --out $(DATA)/bench/scale.json

bench-spark: $(STAMP) ## spark_group (MASTER) beside pipelines.group on SPARK_DOCUMENTS texts -> data/bench/spark_group.json
	$(PY) -m bench.spark_group --documents $(SPARK_DOCUMENTS) --repeat $(REPEAT) --master "$(MASTER)" --out $(DATA)/bench/spark_group.json

bench-cluster: $(STAMP) redis-server ## the grouping service with 1 and 2 crawl workers beside one crawl -> data/bench/cluster.json
	$(PY) -m bench.cluster --workers 1,2 --repeat $(REPEAT) --stories $(STORIES) --out $(DATA)/bench/cluster.json

lint: $(STAMP) ## ruff lint and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean: ## remove .venv and caches (keeps data/)
	rm -rf $(VENV) .pytest_cache .ruff_cache
