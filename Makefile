# One command runs the platform, one runs every test tier.
#   make run          broker, PostgreSQL, Redis, gateway, relay, projector and workers
#   make run SCALE=payment=3
#   make run BROKERS=3    a three-node Kafka cluster (replication 3, min.insync.replicas=2)
#   make run COHOST=1     the five workers' agents in one process (less CPU per order)
#   make run V=1          every line of every process on the terminal (default: ready
#                         lines, warnings and errors; full logs in var/log/run-<time>/)
#   make test         every tier (fast + integration) against a real Kafka/PostgreSQL/Redis
#   make test-fast    the fast tier only: no broker, no database server
# Both first install the system tools the tests run (node, chromium): no test installs.
#   make check        ruff (lint + format), mypy and the import contract (lint-imports)

.PHONY: run test test-fast check fmt bootstrap test-tools clean

VENV := .venv/bin

bootstrap:
	@scripts/bootstrap

test-tools:
	@scripts/bootstrap --test-tools

run: bootstrap
	$(VENV)/sagactl run $(if $(SCALE),--scale $(SCALE)) $(if $(BROKERS),--brokers $(BROKERS)) $(if $(filter-out 0,$(COHOST)),--cohost) $(if $(filter-out 0,$(V)),--verbose)

test: test-tools
	$(VENV)/sagactl stack -- $(VENV)/pytest $(PYTEST_ARGS)

test-fast: test-tools
	$(VENV)/pytest -m "not integration and not e2e" $(PYTEST_ARGS)

check: bootstrap
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy .
	$(VENV)/lint-imports

fmt: bootstrap
	$(VENV)/ruff check --fix .
	$(VENV)/ruff format .

.PHONY: bench
# The platform beside its floor and ceiling (benchmarks/README.md); BENCH_ARGS=--quick: < 3 min.
bench: bootstrap
	$(VENV)/python -m benchmarks.platform_bench $(BENCH_ARGS)

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
