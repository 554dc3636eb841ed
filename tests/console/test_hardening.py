"""Issue 13 (console part): regression tests for findings 4-7, each against the real app over a
real SQLite file.  Every test names the finding it covers; each failed on main."""

from __future__ import annotations

import csv
import io

from .conftest import PASSWORD

# ---------------------------------------------------------------- finding 4: CSV formula injection

WIDE_FORMULAS = [
    "＝HYPERLINK(\"http://x\",\"点我\")",  # full-width =
    "＋86 138 1234 5678",
    "－1+1",
    "＠SUM(A1)",
    "  =1+1",  # leading spaces
    "\u3000=cmd|' /C calc'!A0",  # ideographic space
    "\n=1+1",
]


def test_csv_cell_neutralises_full_width_and_spaced_formula_prefixes():
    """Finding 4: full-width ＝＋－＠ and spaced prefixes were written raw on main."""
    from ivr.web.tasks import csv_cell

    for bad in WIDE_FORMULAS:
        assert csv_cell(bad) == "'" + bad, bad
    for fine in ("李娜", "利息＝多少", "13812345678", "2026-12-01", " 还款"):
        assert csv_cell(fine) == fine


def test_promises_csv_neutralises_full_width_formulas_in_every_text_column(client, store):
    """Finding 4, end to end: a caller number and a name typed with a Chinese IME."""
    for i, bad in enumerate(WIDE_FORMULAS):
        store.start_call(f"call-{i}", transport="text", caller_number=bad, debtor_name=bad, case_id=bad)
        store.update_call(f"call-{i}", promise_date="2026-12-01", promise_amount=500.0)
    r = client("supervisor").get("/api/promises.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == len(WIDE_FORMULAS)
    for row in rows:
        for column in ("客户姓名", "案件号", "来电号码"):
            assert row[column].startswith("'"), (column, row[column])
