"""The hypothesis profiles of the fuzz suite (issue 13: the whole of tests/fuzz in < 2 minutes in CI).

`fuzz` (the default, what CI runs): derandomized, so every run tries the same examples (a red CI
run is reproducible by running it again), no example database, no deadline (2 cores shared by
several jobs: a slow example is load, not a bug; hangs are caught by each test's timeout).
`IVR_FUZZ=deep` switches to `fuzz-deep`: random examples, 10x as many, failures kept in
.hypothesis/ — for hunting locally, not for CI.

Each test asks for its own example count with `fuzz(n)`: pure parsers take hundreds, a round trip
through a real server a few dozen.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

BUDGET_S = 120.0  # issue 13 acceptance: the whole suite within 2 minutes on the CI machine

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("fuzz", derandomize=True, database=None, **_COMMON)
settings.register_profile("fuzz-deep", derandomize=False, **_COMMON)

DEEP = os.environ.get("IVR_FUZZ") == "deep"
PROFILE = "fuzz-deep" if DEEP else "fuzz"


def fuzz(max_examples: int) -> settings:
    """Settings for one property: the active profile with `max_examples` (x10 when deep)."""
    return settings(settings.get_profile(PROFILE), max_examples=max_examples * (10 if DEEP else 1))
