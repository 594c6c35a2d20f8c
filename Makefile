# mm2-smoke — the two commands a fresh machine needs: `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/include:$(CURDIR)/dags

.PHONY: deps venv debs stack-up stack-down stack-status airflow-up airflow-down demo ui test unit lint generate constraints clean bench budget soak test-extended bench-e2e bench-topology

# Debian packages: prometheus and victoria-metrics (the stack's metrics stores), docker-compose (checks the compose
# file; no engine needed), chromium
# (the browser test), curl (a compose one-shot script is tested with it).
deps: venv debs ## everything the project needs: the venv and the Debian packages

venv: .venv/.installed
.venv/.installed: requirements.txt constraints.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements.txt -c constraints.txt
	touch $@

DEBS := prometheus:prometheus victoria-metrics:victoria-metrics docker-compose:docker-compose chromium:chromium curl:curl pg_ctlcluster:postgresql redis-server:redis-server
debs:
	@missing=""; for pair in $(DEBS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

stack-up: deps ## start (or reuse) the local MM2 stack
	$(PY) -m mm2_stack up

stack-down: ## stop every process of the local stack
	@if [ -x $(PY) ]; then $(PY) -m mm2_stack down; else echo "no venv: nothing to stop"; fi

stack-status:
	$(PY) -m mm2_stack status

airflow-up: deps ## a distributed Airflow beside the stack (CeleryExecutor, PostgreSQL, Redis, two workers): start or reuse
	$(PY) -m mm2_stack airflow up

airflow-down: ## stop every process of the distributed Airflow (its state is kept)
	@if [ -x $(PY) ]; then $(PY) -m mm2_stack airflow down; else echo "no venv: nothing to stop"; fi

demo: stack-up ## the smoke test end to end on the local stack: run the DAG once, print the checklist
	$(PY) -m mm2_stack.airflow_run

ui: stack-up ## Airflow's UI on the local stack (airflow standalone, SQLite): prints the URL and login
	$(PY) -m mm2_stack.ui

test: deps ## unit + integration tests (the integration tests start the stack they need and stop it; the unit tests, which need none, run beside them)
	@mkdir -p test-artifacts; \
	$(PY) -m pytest tests/unit -q > test-artifacts/unit-tests.log 2>&1 & unit=$$!; \
	$(PY) -m pytest tests/integration --durations=25; integration=$$?; \
	wait $$unit; units=$$?; \
	echo "=== unit tests (run beside the integration tests): test-artifacts/unit-tests.log ==="; \
	if [ $$units -ne 0 ]; then cat test-artifacts/unit-tests.log; else tail -n 4 test-artifacts/unit-tests.log; fi; \
	[ $$integration -eq 0 ] && [ $$units -eq 0 ]

test-extended: deps ## the cases kept outside CI for time: more runs of classes CI covers (e.g. VictoriaMetrics at 1000 msg/s)
	$(PY) -m pytest -m extended --durations=10

unit: venv
	$(PY) -m pytest tests/unit

lint: venv
	.venv/bin/ruff check .

# Dashboards, alert rules and docker-compose's MM2 files from the metric catalog, the settings table, the topic
# naming and the local stack's MM2 definition (tests fail when a committed one is stale).
generate: venv ## write every generated file
	$(PY) -m mm2_stack.generate

constraints: venv
	( echo "# Resolved pins of every package (pip freeze of requirements.txt on Python 3.11). Regenerate: make constraints"; \
	  .venv/bin/pip freeze | grep -v '^-e' ) > constraints.txt

clean: stack-down
	rm -rf .stack/run .airflow test-artifacts

bench: deps ## the load tools vs Kafka's own tools on the local stack (prints numbers; BENCH_ARGS="--rate-seconds 10")
	$(PY) bench/run_bench.py $(BENCH_ARGS)

bench-topology: deps ## a healthy run of every flow of a topology vs a one-flow run (ratio; TOPOLOGY_ARGS="--topology fan-in")
	$(PY) bench/topology_ratio.py $(TOPOLOGY_ARGS)

soak: deps ## an hour of scheduled runs under the real scheduler: verdicts, p50/p95, RSS and growth (SOAK_ARGS="--runs 60"; not in CI)
	$(PY) bench/soak.py $(SOAK_ARGS)

budget: deps ## where a healthy run's seconds go, per stage, under the scheduler and under dags test (BUDGET_ARGS="--runs 3")
	$(PY) bench/stage_budget.py $(BUDGET_ARGS)

bench-e2e: venv ## e2e latency on the running stack: an EndToEndLatency-style probe vs the smoke run's e2e p50 and MM2's avg (E2E_ARGS="--run --count 500")
	$(PY) bench/e2e_probe.py $(E2E_ARGS)
