# The two commands of the README.  Both run scripts/setup.sh first (idempotent).
.PHONY: setup demo test check bench

setup:
	@bash scripts/setup.sh

# Main job: a simulated call on the bundled example caller recording.
demo: setup
	.venv/bin/ivr simulate --fast

test: setup check
	.venv/bin/python -m pytest -q

# Lint, format and type checks (part of `make test`, so CI enforces them).
check: setup
	.venv/bin/ruff check ivr tests bench scripts server.py
	.venv/bin/ruff format --check ivr tests bench scripts server.py
	.venv/bin/mypy ivr

bench: setup
	.venv/bin/python bench/run_all.py
