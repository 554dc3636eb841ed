"""`ivr simulate --text`, `ivr calls`, `ivr escalations` as a user runs them (subprocess, real SQLite)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

IVR = REPO / ".venv" / "bin" / "ivr"
NOW = "2026-11-18T10:30"


@pytest.fixture
def run(data_dir: Path):
    env = {**os.environ, "IVR_DATA_DIR": str(data_dir), "IVR_DB_URL": f"sqlite:///{data_dir / 'ivr.sqlite3'}"}

    def _run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(IVR), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=180
        )  # a fresh data dir trains the NLU models (cold start)

    return _run


def _script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "call.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_happy_path_json_matches_the_spec_and_is_stored(run, data_dir: Path):
    p = run("simulate", "--text", str(REPO / "examples" / "happy_path.txt"), "--now", NOW, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"turns", "outcome", "escalation", "promise"} <= set(out)
    assert out["outcome"] == "completed" and out["escalation"] is None
    assert out["promise"] == {"date": "2026-11-27", "amount": 584}
    assert [t["intent"] for t in out["turns"]] == [
        "confirm",
        "ack",
        "part_time",
        "amount",
        "expenses",
        "none",
        "job_loss",
        "installment",
        "date",
        None,  # the script ends at the closing's "anything else?": the caller hangs up, the agreement stands
    ]
    assert all({"menu", "caller", "intent", "slots", "bot"} <= set(t) for t in out["turns"])
    with sqlite3.connect(data_dir / "ivr.sqlite3") as con:
        row = con.execute(
            "select outcome, promise_date, transport, turn_count from calls where id=?", (out["call_id"],)
        ).fetchone()
    assert row == ("completed", "2026-11-27", "text", 10)


def test_keys_only_call(run):
    p = run("simulate", "--text", str(REPO / "examples" / "happy_path_dtmf.txt"), "--now", NOW, "--json")
    out = json.loads(p.stdout)
    assert out["promise"] == {"date": "2026-12-01", "amount": 3500}
    assert out["turns"][3]["caller"] == "5000#" and out["turns"][3]["slots"] == {"amount": 5000}


def test_wrong_person_discloses_nothing(run):
    p = run("simulate", "--text", str(REPO / "examples" / "wrong_person.txt"), "--now", NOW, "--json")
    out = json.loads(p.stdout)
    spoken = out["opening"] + "".join(t["bot"] for t in out["turns"])
    assert out["outcome"] == "completed" and out["result"] == "wrong_person"
    assert not any(w in spoken for w in ("欠款", "逾期", "三千五百", "30天", "还款"))


def test_human_by_key_and_escalations_listing(run, tmp_path: Path):
    p = run("simulate", "--text", str(_script(tmp_path, "是我\n#dtmf 0\n")), "--now", NOW, "--json")
    out = json.loads(p.stdout)
    assert out["outcome"] == "escalated"
    esc = out["escalation"]
    assert esc["reason"] == "requested" and esc["narrative"].startswith("客户已确认本人")
    assert esc["summary"]["trigger"]["turn"] == 2
    listed = json.loads(run("escalations", "--status", "waiting", "--json").stdout)
    assert [(e["id"], e["reason"], e["transfer_status"]) for e in listed] == [(esc["id"], "requested", "none")]
    calls = json.loads(run("calls", "--json").stdout)
    assert calls[0]["id"] == out["call_id"] and calls[0]["outcome"] == "escalated" and calls[0]["ended_reason"] is None
    table = run("escalations")
    assert table.returncode == 0 and "requested" in table.stdout


def test_readable_transcript(run):
    p = run("simulate", "--text", str(REPO / "examples" / "angry.txt"), "--now", NOW)
    assert p.returncode == 0, p.stderr
    assert "你们好烦啊" in p.stdout and "outcome: escalated" in p.stdout and "escalation: emotional" in p.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "missing.txt"], "missing.txt: cannot read script (No such file"),
        (["--text", "{script}", "--now", "next tuesday"], "--now: expected an ISO date-time"),
        (["--text", "{script}", "--case", "{badcase}"], "case.json: field amount: Input should be a valid integer"),
        (["--text", "{badscript}"], "bad.txt:3: unknown directive '#dtfm 1'"),
    ],
)
def test_bad_input_exits_2_with_one_line(run, tmp_path: Path, args: list[str], message: str):
    script = _script(tmp_path, "是我\n")
    (tmp_path / "case.json").write_text('{"amount": "lots"}', encoding="utf-8")
    (tmp_path / "bad.txt").write_text("是我\n# comment\n#dtfm 1\n", encoding="utf-8")
    subst = {
        "{script}": str(script),
        "{badcase}": str(tmp_path / "case.json"),
        "{badscript}": str(tmp_path / "bad.txt"),
    }
    p = run("simulate", *[subst.get(a, a) for a in args], "--json")
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivr: error: ") and message in lines[0], p.stderr


def test_speech_that_was_not_recognised_is_named_in_the_transcript(run, tmp_path: Path):
    script = _script(tmp_path, "[unk]\n是我\n")  # "[unk]": Vosk heard speech but no word
    p = run("simulate", "--text", str(script), "--now", NOW)
    assert p.returncode == 0, p.stderr
    first = next(line for line in p.stdout.splitlines() if "caller" in line)
    assert "(语音，未识别)" in first and "opening → no match" in first
    j = json.loads(run("simulate", "--text", str(script), "--now", NOW, "--json").stdout)
    assert j["turns"][0]["caller"] == "[unk]" and j["turns"][0]["input"] == "speech"  # JSON: what the ASR returned


def test_json_carries_the_spec_v2_fields_filled(run, tmp_path: Path):
    """SPEC §3 v2 top-level fields through the real CLI, each with a value, not just present:
    `plan`, `requests`, `contact_preference` from one call, `callback` from a busy debtor."""
    script = _script(tmp_path, "是我，以后上班时间别给我打电话\n知道\n打零工\n三千\n房租\n没有\n分六期吧\n下周五\n")
    p = run("simulate", "--text", str(script), "--now", NOW, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"plan", "requests", "callback", "contact_preference"} <= set(out)
    assert out["plan"] == {"intent": "installment", "months": 6, "amount": 584}
    assert out["promise"] == {"date": "2026-11-27", "amount": 584} and out["result"] == "promise"
    assert out["requests"] == [] and out["callback"] is None
    pref = out["contact_preference"]
    assert pref["kinds"] and pref["said"] == "是我，以后上班时间别给我打电话" and pref["turn"] == 1
    busy = _script(tmp_path, "是我，在开车，你下午四点半以后再打吧\n")
    out = json.loads(run("simulate", "--text", str(busy), "--now", NOW, "--json").stdout)
    assert (
        out["callback"]["at"] == "2026-11-18T16:30"
        and out["callback"]["said"] == "是我，在开车，你下午四点半以后再打吧"
    )
    assert out["plan"] is None and out["requests"] == [] and out["contact_preference"] is None
    assert not any(w in out["opening"] + "".join(t["bot"] for t in out["turns"]) for w in ("欠款", "逾期", "三千五百"))
