"""The case book loader (ivr/casebook.py) under generated books.

A book the dialer exports loads to exactly the cases it was written from (CSV through the stdlib
csv writer, as Excel or a dialer would quote it, and JSON lines); a broken book — arbitrary bytes,
non-UTF-8, a wrong field in one row, deep or huge JSON — gives `CaseBookError` (a ValueError) whose
lines each name the file (and the row and field where there is one), never another exception; a
live book whose file turns bad keeps serving the previous cases.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ivr.case import Case
from ivr.casebook import CASE_ID, MAX_NAME, CaseBook, CaseBookError, LiveCaseBook, normalize_number

from .budget import fuzz

pytestmark = pytest.mark.timeout(120)

FIELDS = list(Case.model_fields)

# Text an operator may put in a cell: any printable or CJK text, line breaks and Excel's odd
# separators included; no surrounding blanks (cells are stripped) and no NUL (no file format keeps it).
cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=24
).filter(lambda s: s.strip() == s and s != "")
mobile = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
cases = st.builds(
    Case,
    case_id=st.from_regex(CASE_ID, fullmatch=True),
    name=cell_text.filter(lambda s: len(s) <= MAX_NAME),
    amount=st.integers(1, 10**9),
    days_overdue=st.integers(0, 10**5),
    company=cell_text,
    phone=st.one_of(st.just("400-800-1234"), cell_text),
    caller_number=st.one_of(st.none(), mobile, mobile.map(lambda m: "+86" + m)),
    product=cell_text,
    verify=st.booleans(),
    id_last4=st.one_of(st.none(), st.from_regex(r"[0-9]{3}[0-9Xx]", fullmatch=True)),
    principal=st.one_of(st.none(), st.integers(0, 10**9)),
    interest=st.one_of(st.none(), st.integers(0, 10**9)),
    fees=st.one_of(st.none(), st.integers(0, 10**9)),
    penalty=st.one_of(st.none(), st.integers(0, 10**9)),
)
books = st.lists(
    cases,
    min_size=1,
    max_size=6,
    unique_by=(lambda c: c.case_id, lambda c: normalize_number(c.caller_number) or c.case_id),
)


def csv_text(rows: list[Case], terminator: str = "\r\n") -> str:
    out = io.StringIO()
    # Excel writes CRLF and quotes cells holding CR or LF; a writer ending rows with LF alone must
    # quote every cell, else a CR in a cell is a row break to any CSV reader
    w = csv.writer(out, lineterminator=terminator, quoting=csv.QUOTE_MINIMAL if terminator == "\r\n" else csv.QUOTE_ALL)
    w.writerow(FIELDS)
    for c in rows:
        w.writerow(
            ["" if (v := getattr(c, f)) is None else str(v).lower() if isinstance(v, bool) else v for f in FIELDS]
        )
    return out.getvalue()


def jsonl_text(rows: list[Case]) -> str:
    return "".join(json.dumps(c.model_dump(exclude_none=True), ensure_ascii=False) + "\n" for c in rows)


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory(prefix="fuzz-cases-") as d:
        yield Path(d)


# Found by the round-trip properties on the first run (each failed on main):
LINE_BREAK_NAME = Case(case_id="C-1", name="李\n娜", amount=4800, days_overdue=45, company="安信", phone="400")
U2028_NAME = Case(case_id="C-2", name="王\u2028强", amount=1, days_overdue=0, company="安信", phone="400")
VERIFIED = Case(
    case_id="C-3", name="张伟", amount=1, days_overdue=0, company="安信", phone="400", verify=True, id_last4="123X"
)


@given(rows=books, crlf=st.booleans(), bom=st.booleans())
@example(rows=[LINE_BREAK_NAME], crlf=False, bom=False)  # splitlines() dropped the line break
@example(rows=[U2028_NAME], crlf=True, bom=True)  # ...and cut the row in two at U+2028
@example(rows=[VERIFIED], crlf=True, bom=False)  # a verify column could not be read at all
@fuzz(60)
def test_csv_book_round_trips(scratch, rows, crlf, bom):
    """What the csv writer (Excel, a dialer) makes of a case list loads back to the same cases: a
    cell with a line break (Excel's Alt+Enter) or a verify flag included."""
    path = scratch / "cases.csv"
    path.write_bytes(csv_text(rows, "\r\n" if crlf else "\n").encode("utf-8-sig" if bom else "utf-8"))
    book = CaseBook.load(path)
    assert book.cases == {c.case_id: c for c in rows}


@given(rows=books)
@example(rows=[U2028_NAME])  # json.dumps leaves U+2028 raw: splitlines() cut the JSON line in two
@fuzz(40)
def test_jsonl_book_and_folder_round_trip(scratch, rows):
    path = scratch / "cases.jsonl"
    path.write_text(jsonl_text(rows), encoding="utf-8")
    assert CaseBook.load(path).cases == {c.case_id: c for c in rows}
    folder = scratch / f"folder-{len(os.listdir(scratch))}"
    folder.mkdir()
    for i, c in enumerate(rows):
        (folder / f"{i}.json").write_text(
            json.dumps(c.model_dump(exclude_none=True), ensure_ascii=False), encoding="utf-8"
        )
    assert CaseBook.load(folder).cases == {c.case_id: c for c in rows}


def assert_clear(err: CaseBookError, path: Path) -> None:
    assert err.errors, "a refused book must say why"
    for line in err.errors:
        assert line.startswith(str(path)), f"error line does not name the file: {line!r}"
        assert "\n" not in line and len(line) < 600, f"not one short line: {line!r}"


@given(
    raw=st.binary(max_size=400),
    suffix=st.sampled_from([".csv", ".jsonl"]),
    head=st.sampled_from([b"", b"case_id,name,amount,days_overdue,company,phone\n"]),
)
@fuzz(200)
def test_arbitrary_bytes(scratch, raw, suffix, head):
    path = scratch / f"cases{suffix}"
    path.write_bytes(head + raw)
    try:
        book = CaseBook.load(path)
    except CaseBookError as e:
        assert_clear(e, path)
    else:
        assert book.cases and all(CASE_ID.fullmatch(k) for k in book.cases)


WRONG: dict[str, list[Any]] = {
    "case_id": ["", "../etc", "a b", "x" * 65, "-lead", "名字"],
    "name": ["", "x" * (MAX_NAME + 1)],
    "amount": [0, -5, "3,500", "abc", 1.5, "1" * 5000, None, [], {}],
    "days_overdue": [-1, "soon", 2.5, True],
    "company": ["", None],
    "phone": ["", None],
    "caller_number": ["12", "abc", "1.38E+10", "+999999999999999999"],
    "verify": ["maybe", 2, []],
    "id_last4": ["12", "abcd", "12345"],
    "principal": [-1, "x"],
    "unknown_column": ["1"],
}


@given(
    rows=books,
    which=st.integers(0, 5),
    field=st.sampled_from(sorted(WRONG)),
    pick=st.integers(0, 10),
    fmt=st.sampled_from(["csv", "jsonl"]),
)
@example(
    rows=[VERIFIED], which=0, field="amount", pick=5, fmt="csv"
)  # 5000 digits: whole book unreadable, no row named
@fuzz(80)
def test_one_wrong_field_names_row_and_field(scratch, rows, which, field, pick, fmt):
    """One bad cell in one row: the whole book is refused with a line naming that row and field."""
    which %= len(rows)
    value = WRONG[field][pick % len(WRONG[field])]
    data = [c.model_dump(exclude_none=True) for c in rows]
    data[which][field] = value
    path = scratch / f"cases.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in data), encoding="utf-8")
        line = which + 1
    else:
        header = [*FIELDS, *(["unknown_column"] if field == "unknown_column" else [])]
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(header)
        for i, d in enumerate(data):
            if i == which:  # the physical line the row starts on (a quoted cell may hold line breaks)
                line = len(io.StringIO(out.getvalue(), newline="").readlines()) + 1
            w.writerow(
                [
                    "" if d.get(h) is None else json.dumps(d[h]) if isinstance(d[h], list | dict | bool) else d[h]
                    for h in header
                ]
            )
        path.write_bytes(out.getvalue().encode())
    with pytest.raises(CaseBookError) as e:
        CaseBook.load(path)
    assert_clear(e.value, path)
    if field == "unknown_column" and fmt == "csv":
        assert e.value.errors == [
            f"{path}:1: header: unknown column(s) 'unknown_column'; expected columns {', '.join(FIELDS)}"
        ]
        return
    ours = [x for x in e.value.errors if x.startswith(f"{path}:{line}: ")]
    assert ours, f"no error for line {line}: {e.value.errors}"
    assert f"field {field}" in ours[0] or "not a readable" in ours[0], ours[0]


DEEP = [
    "[" * 100_000,
    '{"a":' * 50_000,
    "1" * 10_000,
    '{"case_id": "C-1", "amount": ' + "9" * 5000 + "}",
    "\ufeff{}",
    "NaN",
    '"' + "x" * 100_000,
]


@given(rows=books, bad=st.sampled_from(DEEP), at=st.integers(0, 6))
@fuzz(25)
def test_deep_or_huge_json_lines(scratch, rows, bad, at):
    lines = [json.dumps(c.model_dump(exclude_none=True), ensure_ascii=False) for c in rows]
    at %= len(lines) + 1
    lines.insert(at, bad)
    path = scratch / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CaseBookError) as e:
        CaseBook.load(path)
    assert_clear(e.value, path)
    assert any(x.startswith(f"{path}:{at + 1}: ") for x in e.value.errors), e.value.errors


@given(
    text=st.text(max_size=200),
    encoding=st.sampled_from(["gbk", "utf-16", "latin-1"]),
)
@fuzz(60)
def test_not_utf8_is_one_clear_line(scratch, text, encoding):
    raw = ("case_id,name,amount,days_overdue,company,phone\nC-1,李娜,1,1,安信," + text).encode(encoding, "replace")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return  # this text happens to be UTF-8 in that encoding too: nothing to check here
    path = scratch / "cases.csv"
    path.write_bytes(raw)
    with pytest.raises(CaseBookError) as e:
        CaseBook.load(path)
    assert_clear(e.value, path)
    assert e.value.errors[0].startswith(f"{path}: not UTF-8 (byte 0x")


@given(first=books, garbage=st.binary(min_size=1, max_size=200))
@fuzz(20)
def test_live_book_keeps_serving_after_a_bad_edit(scratch, first, garbage):
    path = scratch / "live.csv"
    path.write_text(csv_text(first), encoding="utf-8")
    live = LiveCaseBook(path)
    path.write_bytes(b"case_id,name\n" + garbage)  # a broken export (missing columns at least)
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 1_000_000))
    assert live.current().cases == {c.case_id: c for c in first}
    c = first[0]
    assert live.lookup(c.case_id, None, None).case == c
