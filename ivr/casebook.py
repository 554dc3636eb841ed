"""The case book: every case a dialer may place a call about, and which one a given call is.

The operator loads the file the dialer exports (`ivr serve --cases PATH`): a CSV (UTF-8, header
row of `Case` fields; Excel's "CSV UTF-8" with its BOM works), a JSON-lines file, or a folder of
`*.json` case files.  It is not imported into the store: the dialer owns the list, we read it.

Every row is checked at start-up and *all* problems are reported, one line each (file, line,
field, expected vs got); any bad row stops the start, because a half-loaded book silently sends
callers down the unknown-case path.  The live book (`LiveCaseBook`) re-reads the file when its
mtime changes, checked at each call start; a bad edit keeps the previous book (logged).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import phonenumbers

from ivr.case import Case, CaseError
from ivr.datafile import file_size_problem, not_utf8

log = logging.getLogger("ivr.cases")

# A book row must say who and how much: the demo defaults of `Case` would put a stranger's name in
# a real call.  caller_number and product stay optional.
REQUIRED = ("case_id", "name", "amount", "days_overdue", "company", "phone")
CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+\-]{0,63}")  # travels in a SIP header / URI user
CASE_ID_RULE = "1-64 letters, digits or . _ : / + - (it travels in a SIP header)"
MAX_NAME = 64  # the call row's debtor_name column
REGION = "CN"  # numbers without a country code are Chinese (13800138000, 010-12345678)
_INT_FIELDS = {name for name, f in Case.model_fields.items() if f.annotation is int or f.annotation == (int | None)}
_BOOL_FIELDS = {name for name, f in Case.model_fields.items() if f.annotation is bool}
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}  # Excel: TRUE/FALSE
_EXCEL_FLOAT = re.compile(r"\d(\.\d+)?E\+\d+", re.IGNORECASE)
# A book is read whole into memory at start and on every change: 512 MB is millions of cases; a
# bigger file is a wrong export (or an attack) and is refused before it is read.
MAX_BOOK_BYTES = 512 * 1024 * 1024
MAX_CASE_FILE_BYTES = 1024 * 1024  # one *.json case of a folder book


class CaseBookError(ValueError):
    """One or more bad rows; `errors` holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def normalize_number(number: str | None) -> str | None:
    """E.164 form (+8613800138000) of a phone number as callers and books write it, or None."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(number, REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# ---------------------------------------------------------------- reading


def read_cases(path: Path | str) -> tuple[list[Case], list[str]]:
    """Every good case of the book at `path` and one error line per bad row (nothing raised)."""
    path = Path(path)
    errors: list[str] = []
    cases: list[tuple[str, Case]] = []
    try:
        for source, row in _rows(path, errors):
            case = _case(row, source, errors)
            if case is not None:
                cases.append((source, case))
    except CaseError as e:  # the whole file is unreadable
        return [], [str(e)]
    except (csv.Error, ValueError, RecursionError, MemoryError) as e:  # never a traceback (issue 13 #9)
        return [], [*errors, f"{path}: not a readable case book ({type(e).__name__}: {str(e)[:160]})"]
    good = _unique(cases, errors)
    if not cases and not errors:
        errors.append(f"{path}: no cases (expected at least one row)")
    return good, errors


def _rows(path: Path, errors: list[str]) -> Iterator[tuple[str, Any]]:
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise CaseError(f"{path}: no *.json case files in this folder")
        for f in files:
            if problem := file_size_problem(f, MAX_CASE_FILE_BYTES, "case file"):
                errors.append(problem)
                continue
            try:
                yield str(f), json.loads(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
                errors.append(f"{f}: not a readable JSON case file ({_why(e)})")
        return
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise CaseError(
            f"{path}: expected a .csv or .jsonl file or a folder of .json case files, got {suffix or 'no suffix'}"
            + (" (one case for every call: use --case)" if suffix == ".json" else "")
        )
    if problem := file_size_problem(path, MAX_BOOK_BYTES, "case book"):
        raise CaseError(problem)
    try:  # Excel's "CSV UTF-8" starts with a BOM; newline="": line breaks inside quoted cells stay as written
        with path.open(encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except OSError as e:
        raise CaseError(f"{path}: cannot read the case book ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise CaseError(f'{not_utf8(path, e)}; in Excel save as "CSV UTF-8 (逗号分隔)"') from None
    if suffix == ".csv":
        yield from _csv_rows(path, text, errors)
        return
    for n, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 may sit inside a JSON string
        if line.strip():
            try:
                yield f"{path}:{n}", json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{path}:{n}: not valid JSON (column {e.colno}: {e.msg})")
            except (ValueError, RecursionError) as e:  # a 5000-digit number, nesting thousands deep
                errors.append(f"{path}:{n}: not valid JSON ({type(e).__name__}: {str(e)[:120]})")


def _csv_rows(path: Path, text: str, errors: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    # the csv module splits rows itself: str.splitlines() also splits inside quoted cells (a line
    # break typed in an Excel cell, U+2028, \x1c...), which cut one row into two broken ones
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    unknown = [h for h in header if h not in Case.model_fields]
    missing = [f for f in REQUIRED if f not in header]
    doubled = sorted(h for h, n in Counter(header).items() if n > 1)
    if unknown or missing or doubled:
        problems = (
            ([f"unknown column(s) {', '.join(map(repr, unknown))}"] if unknown else [])
            + ([f"missing column(s) {', '.join(missing)}"] if missing else [])
            + ([f"repeated column(s) {', '.join(doubled)}"] if doubled else [])
        )
        raise CaseError(f"{path}:1: header: {'; '.join(problems)}; expected columns {', '.join(Case.model_fields)}")
    while True:
        line = reader.line_num + 1  # where the row starts (a quoted cell may hold line breaks)
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # a cell over the csv module's limit, an unclosed quote...
            errors.append(f"{path}:{reader.line_num}: not a readable CSV row ({e})")
            return  # the reader cannot resync after this: the rest of the book is not trusted
        if not any(c.strip() for c in cells):
            continue  # Excel leaves empty ",,,," rows at the end
        if len(cells) > len(header):
            errors.append(f"{path}:{line}: {len(cells)} cells but the header has {len(header)} columns")
            continue
        row = {h: _cell(h, c.strip()) for h, c in zip(header, cells) if c.strip()}
        yield f"{path}:{line}", row


def _cell(field_name: str, value: str) -> Any:
    """CSV cells are text: whole numbers become ints for int fields, true/false bools for bool fields
    (anything else stays text and is reported with its row and field)."""
    if field_name in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        try:
            return int(value)
        except ValueError:  # more digits than Python converts (4300): reported as this field's problem
            return value
    if field_name in _BOOL_FIELDS:
        return _BOOLS.get(value.lower(), value)
    return value


def _case(row: Any, source: str, errors: list[str]) -> Case | None:
    if isinstance(row, dict):
        missing = [f for f in REQUIRED if row.get(f) in (None, "")]
        if missing:
            errors.append(f"{source}: field {missing[0]}: required in a case book, missing or empty")
            return None
    try:
        case = Case.from_dict(row, source)
    except CaseError as e:
        errors.append(str(e))
        return None
    problem = None
    if not CASE_ID.fullmatch(case.case_id):
        problem = f"field case_id: expected {CASE_ID_RULE}, got {case.case_id!r}"
    elif len(case.name) > MAX_NAME:
        problem = f"field name: expected at most {MAX_NAME} characters, got {len(case.name)}"
    elif case.caller_number and normalize_number(case.caller_number) is None:
        hint = (
            " (Excel turned it into a number: format the column as text)"
            if _EXCEL_FLOAT.fullmatch(case.caller_number)
            else ""
        )
        problem = f"field caller_number: expected a phone number like 13800138000 or +8613800138000, got {case.caller_number!r}{hint}"
    if problem:
        errors.append(f"{source}: {problem}")
        return None
    return case


def _unique(cases: list[tuple[str, Case]], errors: list[str]) -> list[Case]:
    """The cases whose id and phone number no earlier row has; one error per later row."""
    ids: dict[str, str] = {}
    numbers: dict[str, tuple[str, str]] = {}
    good = []
    for source, case in cases:
        number = normalize_number(case.caller_number)
        if case.case_id in ids:
            errors.append(f"{source}: field case_id: duplicate case id {case.case_id!r} (first at {ids[case.case_id]})")
        elif number in numbers:
            other_id, other_src = numbers[number]
            errors.append(
                f"{source}: field caller_number: duplicate phone number {case.caller_number!r} (case {other_id} at "
                f"{other_src} has it too): a call from it could not be matched to one case"
            )
        else:
            ids[case.case_id] = source
            if number is not None:
                numbers[number] = (case.case_id, source)
            good.append(case)
    return good


def _why(e: Exception) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"line {e.lineno}, column {e.colno}: {e.msg}"
    if isinstance(e, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(e, (ValueError, RecursionError)):
        return f"{type(e).__name__}: {str(e)[:120]}"
    return getattr(e, "strerror", None) or str(e)


# ---------------------------------------------------------------- lookup


@dataclass(frozen=True)
class Match:
    case: Case | None  # None: no case matched; nothing about any debt may be said
    how: str  # reference | dialed | caller_number | single | none


class CaseSource(Protocol):
    def lookup(self, ref: str | None, dialed: str | None, caller: str | None) -> Match: ...
    def placeholder(self) -> Case: ...


@dataclass(frozen=True)
class OneCase:
    """`--case FILE` (or the demo case): every call is about this case, whatever the dialer says."""

    case: Case

    def lookup(self, ref: str | None, dialed: str | None, caller: str | None) -> Match:
        return Match(self.case, "single")

    def placeholder(self) -> Case:
        return self.case


@dataclass(frozen=True)
class CaseBook:
    source: str
    cases: dict[str, Case]
    by_number: dict[str, Case] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> CaseBook:
        cases, errors = read_cases(path)
        if errors:
            raise CaseBookError(errors)
        by_number = {n: c for c in cases if (n := normalize_number(c.caller_number))}
        return cls(str(path), {c.case_id: c for c in cases}, by_number)

    def lookup(self, ref: str | None, dialed: str | None, caller: str | None) -> Match:
        """The dialer's explicit reference decides alone (a wrong id must not turn into a guess);
        else the dialed SIP user if it is a case id; else the caller's number."""
        if ref:
            return Match(self.cases.get(ref.strip()), "reference")
        if dialed and dialed in self.cases:
            return Match(self.cases[dialed], "dialed")
        number = normalize_number(caller)
        if number and number in self.by_number:
            return Match(self.by_number[number], "caller_number")
        return Match(None, "none")

    def placeholder(self) -> Case:
        """What the unknown-case dialog renders with: the book's most common company and its
        callback number, and no person or debt."""
        company, phone = Counter((c.company, c.phone) for c in self.cases.values()).most_common(1)[0][0]
        return Case(case_id="unknown", name="客户", amount=1, days_overdue=0, company=company, phone=phone)


class LiveCaseBook:
    """A `CaseBook` re-read when its file (or folder) changes; checked at each call start."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp = _stamp(self.path)
        self.book = CaseBook.load(self.path)  # CaseBookError: one line per bad row

    def current(self) -> CaseBook:
        stamp = _stamp(self.path)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._stamp = stamp  # a bad edit is reported once, not at every call
                    try:
                        self.book = CaseBook.load(self.path)
                        log.info("case book %s reloaded: %d cases", self.path, len(self.book.cases))
                    except Exception as e:  # whatever is wrong with the new file, calls go on (issue 13 #9)
                        log.error(
                            "case book %s changed but is not valid; still serving the previous %d cases:\n%s",
                            self.path,
                            len(self.book.cases),
                            e,
                        )
        return self.book

    def lookup(self, ref: str | None, dialed: str | None, caller: str | None) -> Match:
        return self.current().lookup(ref, dialed, caller)

    def placeholder(self) -> Case:
        return self.current().placeholder()


def _stamp(path: Path) -> tuple[Any, ...]:
    """Changes whenever the book's content may have: mtime and size of the file or of every *.json."""
    try:
        if path.is_dir():
            with os.scandir(path) as it:
                files = sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in it if e.name.endswith(".json"))
            return (path.stat().st_mtime_ns, *files)
        st = path.stat()
        return (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        return ("missing",)


def case_source(case_file: str | Path | None, cases_path: str | Path | None) -> CaseSource:
    """What the engine factory looks calls up in: a live case book, one case file, or the demo case."""
    if case_file and cases_path:
        raise CaseError("--case and --cases exclude each other: one case for every call, or a book to look calls up in")
    if cases_path:
        return LiveCaseBook(cases_path)
    return OneCase(Case.load(case_file) if case_file else Case())
