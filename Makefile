# The two commands of the README.  Both run scripts/setup.sh first (idempotent).
.PHONY: setup demo test bench

setup:
	@bash scripts/setup.sh

# Main job: a simulated call on the bundled example caller recording.
demo: setup
	.venv/bin/ivr simulate --fast

test: setup
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python bench/run_all.py
