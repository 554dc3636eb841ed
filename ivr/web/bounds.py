"""Bounds of every console/API parameter (issue 13, finding 9): a value outside them is a 422
naming the field, the expected range and the value, never a 500 from a date overflow or an integer
that no database column can hold.

Used as annotated types by the REST API and the pages (`Id`, `Page`, `PerPage`, `CallId`, `Day`),
and by the pages' own date parsing (`parse_day`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import HTTPException, Path, Query

# Calls, promises and callbacks of a collection centre: nothing before 2000 or after 2099.  Wide
# enough for any real filter, narrow enough that "day + 30 days" never leaves `datetime`'s range.
MIN_DAY = dt.date(2000, 1, 1)
MAX_DAY = dt.date(2099, 12, 31)
MAX_ID = 2**31 - 1  # INTEGER primary keys (PostgreSQL int4)
MAX_PAGE = 10_000  # 10k pages x 500 rows: past any real history; offsets stay small
MAX_PER_PAGE = 500
MAX_CALL_ID = 64  # product call ids are 32-36 characters

Id = Annotated[int, Path(ge=1, le=MAX_ID, description=f"record id, 1..{MAX_ID}")]
CallId = Annotated[str, Path(min_length=1, max_length=MAX_CALL_ID, description="call id")]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page number, 1..{MAX_PAGE}")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]
Day = Annotated[dt.date | None, Query(ge=MIN_DAY, le=MAX_DAY, description=f"a day {MIN_DAY}..{MAX_DAY}")]


def parse_day(value: str | None, field: str) -> dt.date | None:
    """A page's `YYYY-MM-DD` filter (empty → None); anything else is a 422 naming the field."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{field}: expected a date YYYY-MM-DD, got {value[:40]!r}") from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise HTTPException(422, f"{field}: expected a day from {MIN_DAY} to {MAX_DAY}, got {value!r}")
    return day
