# The two commands of the README.  Both run scripts/setup.sh first (idempotent).
.PHONY: setup demo test check bench

setup:
	@bash scripts/setup.sh

# Main job: a simulated call on the bundled example caller recording.  First the Mandarin speech
# model (vosk-model-small-cn-0.22, sha256-checked) unless installed: a failed download only warns,
# once, saying how to get it; offline it gives up within 10 s and is not retried for an hour.
# (Not part of `make test`: CI stays offline.)
demo: setup
	@.venv/bin/ivr models ensure zh-CN --timeout 10
	.venv/bin/ivr simulate --fast

# pytest-xdist, one worker per core; real-time tests (SIP, Kamailio, PostgreSQL, browser) stay in one
# serial group (tests/conftest.py, xdist_group) so they never compete with each other.
test: setup check
	.venv/bin/python -m pytest -q -n auto --dist loadgroup

# Lint, format and type checks (part of `make test`, so CI enforces them).
check: setup
	.venv/bin/ruff check ivr tests bench scripts server.py
	.venv/bin/ruff format --check ivr tests bench scripts server.py
	.venv/bin/mypy ivr

bench: setup
	.venv/bin/python bench/run_all.py
