"""The case book (ivr/casebook.py): loading what a dialer exports, one error line per bad row,
per-call lookup, reload on change, the unknown-case dialog, and `ivr cases check`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.case import CaseError
from ivr.casebook import CaseBook, CaseBookError, LiveCaseBook, OneCase, case_source, read_cases
from ivr.dialog import Dialog
from ivr.events import Hangup
from ivr.flow import load_flow
from ivr.session import CallSession
from ivr.wiring import unknown_case_flow

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "cases.csv"
HEADER = "case_id,name,amount,days_overdue,company,phone,caller_number,product"
ROW_LI = "C-1,李娜,4800,45,安信消费金融,400-800-1234,13800138000,消费贷"
ROW_WANG = "C-2,王强,12600,20,安信消费金融,400-800-1234,13900139001,现金贷"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(CaseBookError) as e:
        CaseBook.load(path)
    return e.value.errors


def test_example_book_matches_the_example_case():
    book = CaseBook.load(EXAMPLE)
    single = json.loads((REPO / "examples" / "case.json").read_text(encoding="utf-8"))
    assert len(book.cases) == 3
    assert book.cases[single["case_id"]].as_dict() == single


def test_excel_csv_with_bom_crlf_and_blank_trailing_rows(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_bytes(("\r\n".join([HEADER, ROW_LI, ROW_WANG, ",,,,,,,", ""])).encode("utf-8-sig"))
    book = CaseBook.load(path)
    assert sorted(book.cases) == ["C-1", "C-2"]
    assert book.cases["C-1"].name == "李娜" and book.cases["C-1"].amount == 4800  # BOM not glued to case_id


def test_json_lines_and_folder(tmp_path):
    rows = [dict(zip(HEADER.split(","), r.split(","))) for r in (ROW_LI, ROW_WANG)]
    for r in rows:
        r["amount"], r["days_overdue"] = int(r["amount"]), int(r["days_overdue"])
    jsonl = write(tmp_path / "cases.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n")
    folder = tmp_path / "book"
    folder.mkdir()
    for r in rows:
        write(folder / f"{r['case_id']}.json", json.dumps(r, ensure_ascii=False))
    write(folder / "notes.txt", "not a case")
    assert CaseBook.load(jsonl).cases == CaseBook.load(folder).cases
    assert CaseBook.load(folder).cases["C-2"].amount == 12600


def test_every_bad_row_is_reported_with_file_line_field_and_value(tmp_path):
    path = write(
        tmp_path / "cases.csv",
        "\n".join(
            [
                HEADER,
                ROW_LI,
                "C-3,陈静,abc,10,安信消费金融,400-800-1234,,消费贷",  # line 3: amount not a number
                "C-4,,100,10,安信消费金融,400-800-1234,,消费贷",  # line 4: no name
                "C-5,周敏,100,-1,安信消费金融,400-800-1234,,消费贷",  # line 5: negative days
                "C-6,吴磊,100,1,安信消费金融,400-800-1234,1.38001E+10,消费贷",  # line 6: Excel ate the number
                "C 7,赵六,100,1,安信消费金融,400-800-1234,,消费贷",  # line 7: space in the id
                "C-8,钱七,100,1,安信消费金融,400-800-1234,,消费贷,extra",  # line 8: one cell too many
            ]
        )
        + "\n",
    )
    errs = errors_of(path)
    assert len(errs) == 6, errs
    assert errs[0].startswith(f"{path}:3: field amount:") and "'abc'" in errs[0]
    assert errs[1] == f"{path}:4: field name: required in a case book, missing or empty"
    assert (
        errs[2].startswith(f"{path}:5: field days_overdue:")
        and "greater than or equal to 0" in errs[2]
        and "-1" in errs[2]
    )
    assert (
        errs[3].startswith(f"{path}:6: field caller_number: expected a phone number")
        and "format the column as text" in errs[3]
    )
    assert errs[4].startswith(f"{path}:7: field case_id: expected 1-64 letters") and "'C 7'" in errs[4]
    assert errs[5] == f"{path}:8: 9 cells but the header has 8 columns"
    cases, listed = read_cases(path)
    assert [c.case_id for c in cases] == ["C-1"] and listed == errs  # `cases check` sees the same


def test_duplicate_ids_and_numbers_name_both_rows(tmp_path):
    path = write(
        tmp_path / "cases.csv",
        "\n".join(
            [
                HEADER,
                ROW_LI,
                ROW_WANG,
                "C-1,李娜,100,1,安信消费金融,400-800-1234,,消费贷",
                "C-9,孙八,100,1,安信消费金融,400-800-1234,+86 138 0013 8000,消费贷",  # same number as C-1, other spelling
            ]
        ),
    )
    errs = errors_of(path)
    assert errs == [
        f"{path}:4: field case_id: duplicate case id 'C-1' (first at {path}:2)",
        f"{path}:5: field caller_number: duplicate phone number '+86 138 0013 8000' (case C-1 at {path}:2 has it too): "
        "a call from it could not be matched to one case",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("case_id,name,amount\nC-1,李娜,1\n", "header: missing column(s) days_overdue, company, phone"),
        (HEADER + ",balance\n", "header: unknown column(s) 'balance'"),
        (HEADER + "\n", "no cases (expected at least one row)"),
    ],
)
def test_header_problems_and_empty_books(tmp_path, text, expected):
    path = write(tmp_path / "cases.csv", text)
    (err,) = errors_of(path)
    assert err.startswith(f"{path}") and expected in err, err


def test_unreadable_inputs_get_one_line(tmp_path):
    gbk = write(tmp_path / "gbk.csv", f"{HEADER}\n{ROW_LI}\n", encoding="gbk")
    assert "not UTF-8" in errors_of(gbk)[0] and "CSV UTF-8" in errors_of(gbk)[0]
    jsonl = write(tmp_path / "cases.jsonl", '{"case_id": "C-1"\n')
    assert errors_of(jsonl) == [f"{jsonl}:1: not valid JSON (column 18: Expecting ',' delimiter)"]
    single = write(tmp_path / "case.json", "{}")
    assert "use --case" in errors_of(single)[0]
    assert "cannot read" in errors_of(tmp_path / "missing.csv")[0]
    (tmp_path / "empty").mkdir()
    assert "no *.json case files" in errors_of(tmp_path / "empty")[0]
    with pytest.raises(CaseError, match="exclude each other"):
        case_source(REPO / "examples" / "case.json", EXAMPLE)


def test_lookup_order_reference_then_dialed_then_caller_number():
    book = CaseBook.load(EXAMPLE)
    assert book.lookup("C-2026-0043", "C-2026-0044", "13800138000").case.name == "王强"
    # an explicit reference that is not in the book never falls back to a guess
    assert book.lookup("C-9999", "C-2026-0044", "13800138000").case is None
    assert book.lookup(None, "C-2026-0044", "13800138000").how == "dialed"
    found = book.lookup(None, "bot", "+8613800138000")
    assert (found.case.case_id, found.how) == ("C-2026-0042", "caller_number")
    assert book.lookup(None, "bot", "0086 139 0013 9001").case.name == "王强"
    assert book.lookup(None, "bot", "13700000000").case is None
    assert book.lookup(None, None, "alice").case is None
    one = OneCase(book.cases["C-2026-0044"])  # --case: every call, whatever the dialer says
    assert one.lookup("C-2026-0042", None, None).case.name == "陈静"


def test_live_book_reloads_on_change_and_keeps_serving_through_a_bad_edit(tmp_path, caplog):
    path = write(tmp_path / "cases.csv", f"{HEADER}\n{ROW_LI}\n")
    live = LiveCaseBook(path)
    assert live.lookup("C-2", None, None).case is None
    write(path, f"{HEADER}\n{ROW_LI}\n{ROW_WANG}\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert live.lookup("C-2", None, None).case.name == "王强"
    write(path, f"{HEADER}\n{ROW_LI}\nC-3,陈静,oops,1,安信消费金融,400,,\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 2 * 10**9))
    assert live.lookup("C-2", None, None).case.name == "王强"  # previous book still served
    assert "still serving the previous 2 cases" in caplog.text and ":3: field amount" in caplog.text


def test_unknown_case_dialog_names_no_person_and_hangs_up(grammars, book, understander, store, tmp_path):
    """What the engine factory runs for a call no case matches: nothing about any debt, then hang up,
    and the call row records the dialer's reference but no case."""
    cases = CaseBook.load(EXAMPLE)
    flow = unknown_case_flow(load_flow(REPO / "grammars" / "flow.yaml", book))
    dialog = Dialog(
        cases.placeholder(), grammars, book, now=dt.datetime(2026, 11, 18, 10, 30), understander=understander, flow=flow
    )
    session = CallSession(store, dialog, call_id="u1", transport="sip", case_ref="C-9999", case_known=False)
    actions = session.start()
    said = "".join(getattr(a, "text", "") for a in actions)
    assert isinstance(actions[-1], Hangup) and said
    for c in cases.cases.values():
        assert c.name not in said and str(c.amount) not in said
    assert "元" not in said and "逾期" not in said
    call = store.get_call("u1")
    assert (call.case_ref, call.case_id, call.debtor_name, call.case) == ("C-9999", None, None, {})


def ivr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", *args], capture_output=True, text=True, timeout=60
    )


def test_cases_check_and_serve_refuse_a_bad_book(tmp_path, data_dir):
    ok = ivr("cases", "check", str(EXAMPLE))
    assert ok.returncode == 0 and ok.stdout.strip() == f"{EXAMPLE}: 3 cases, 0 errors", ok
    bad = write(tmp_path / "cases.csv", f"{HEADER}\n{ROW_LI}\n{ROW_LI}\nC-3,x,0,1,c,p,,\n")
    r = ivr("cases", "check", str(bad))
    assert r.returncode == 1 and r.stdout.strip() == f"{bad}: 1 cases, 2 errors", r
    assert len(r.stderr.strip().splitlines()) == 2 and f"{bad}:4: field amount" in r.stderr
    served = ivr("serve", "--no-sip", "--http", "127.0.0.1:1", "--cases", str(bad))  # stops before listening
    lines = served.stderr.strip().splitlines()
    assert served.returncode == 2 and len(lines) == 3 and "nothing started" in lines[-1], served.stderr
    both = ivr("serve", "--no-sip", "--case", str(REPO / "examples" / "case.json"), "--cases", str(EXAMPLE))
    assert both.returncode == 2 and "exclude each other" in both.stderr


# ---------------------------------------------------------------- issue 13 #9: hostile or broken books

HUGE_CELL = f"{HEADER}\nC-1,{'x' * 200_000},4800,45,安信消费金融,400-800-1234,13800138000,消费贷\n"
HUGE_NUMBER = '{"case_id": "C-1", "name": "a", "amount": ' + "9" * 5000 + "}\n"
DEEP_JSON = "[" * 100_000 + "\n"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("cases.csv", HUGE_CELL, ":2: not a readable CSV row (field larger than field limit"),
        ("cases.jsonl", HUGE_NUMBER, ":1: not valid JSON (ValueError: Exceeds the limit"),
        ("cases.jsonl", DEEP_JSON, ":1: not valid JSON (RecursionError"),
    ],
)
def test_oversized_rows_give_one_line_not_a_traceback(tmp_path, name, text, expected):
    """Issue 13 finding 9: a 200 kB cell, a 5000-digit amount or JSON nested 100 000 deep raised
    csv.Error / ValueError / RecursionError out of the loader (a traceback from `ivr cases check`)."""
    path = write(tmp_path / name, text)
    errors = errors_of(path)
    assert len(errors) == 1 and errors[0].startswith(f"{path}{expected}"), errors
    r = ivr("cases", "check", str(path))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [errors[0]]


def test_oversized_book_file_is_refused_before_reading(tmp_path, monkeypatch):
    """Issue 13 finding 9: a book bigger than the limit is refused with its size, never read whole."""
    import ivr.casebook as casebook

    path = write(tmp_path / "cases.csv", f"{HEADER}\n{ROW_LI}\n" + ",,,,,,,\n" * 2000)
    monkeypatch.setattr(casebook, "MAX_BOOK_BYTES", 1024)
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("an oversized book was read"))
    assert errors_of(path) == [f"{path}: case book too large (expected at most 0 MB, got 0 MB)"]


def test_non_utf8_single_case_file_gives_one_line(tmp_path, data_dir):
    """Issue 13 finding 9: `--case` with a UTF-16 / GBK file was a UnicodeDecodeError traceback."""
    case = tmp_path / "case.json"
    case.write_bytes('{"name": "李娜"}'.encode("utf-16"))
    r = ivr("simulate", "--text", str(REPO / "examples" / "happy_path.txt"), "--case", str(case))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == f"ivr: error: {case}: not UTF-8 (byte 0xff at offset 0)"


@pytest.mark.parametrize(("name", "bad"), [("cases.csv", HUGE_CELL), ("cases.jsonl", HUGE_NUMBER)])
def test_a_bad_live_edit_keeps_the_previous_book_for_the_next_call(tmp_path, caplog, name, bad):
    """Issue 13 finding 9: a live edit the loader choked on (csv.Error...) escaped `lookup`, so the
    next call failed instead of being served from the previous book."""
    good = {"case_id": "C-1", "name": "李娜", "amount": 4800, "days_overdue": 45, "company": "安信消费金融"}
    good |= {"phone": "400-800-1234", "caller_number": "13800138000"}
    first = f"{HEADER}\n{ROW_LI}\n" if name.endswith(".csv") else json.dumps(good, ensure_ascii=False) + "\n"
    path = write(tmp_path / name, first)
    live = LiveCaseBook(path)
    write(path, bad)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert live.lookup(None, None, "13800138000").case.name == "李娜"
    assert "still serving the previous 1 cases" in caplog.text
    assert live.lookup("C-1", None, None).case.name == "李娜"  # and the call after that too
