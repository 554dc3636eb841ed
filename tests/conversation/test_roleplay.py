"""Role-play corpora at call level (ivr/roleplay.py, docs/dialog.md "Role-play corpora").

Round 1 (240 calls, writers A–D) was written blind before the conversation fixes and used to find
what fails; round 2 (130 calls, writers F–H) was written blind while the first fixes were made and
then also read for kinds of misses; round 3 (130 calls, writers J–L) was written blind after the
fixes and then read for kinds of misses; round 4 (140 calls, writers M, N, P — P on the issue-12
capabilities) was written blind after the round-3 fixes (first time 71.4 %) and then read; round 5
(140 calls, writers S, T, U) was written blind after the round-4 fixes and first measured at
81.4 % (docs/dialog.md).  The floors below are the measured rates (docs/dialog.md) less a small margin, so a
change that makes real callers' calls worse fails here; zero disclosures is absolute.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from ivr import roleplay
from ivr.case import Case
from ivr.events import Dtmf, NoInput, Speech

REPO = Path(__file__).resolve().parents[2]
CALLS = REPO / "tests" / "conversation" / "calls"
sys.path.insert(0, str(REPO / "bench"))


@pytest.fixture(scope="module")
def new_session(tmp_path_factory: pytest.TempPathFactory):
    from roleplay import session_factory  # bench/roleplay.py: the calls `ivr simulate --text` builds

    return session_factory(tmp_path_factory.mktemp("roleplay") / "rp.sqlite3")


def _verdicts(new_session, pattern: str) -> list[roleplay.Verdict]:
    calls = [c for f in sorted(CALLS.glob(pattern)) for c in roleplay.load(f)]
    assert calls, pattern
    return roleplay.run_all(calls, new_session)


@pytest.mark.parametrize(
    ("pattern", "floor"),
    [("round1/writer_*.yaml", 0.92), ("round2/writer_*.yaml", 0.91), ("round3/writer_*.yaml", 0.92)]
    + [("round4/writer_*.yaml", 0.91), ("round5/writer_*.yaml", 0.89)]
    # round 6 (V, W, X, Y; 190 calls) blind first time 78.9 % with 1 disclosure; after the r6 fixes 87.4 %,
    # after the r7 fixes 94.2 %
    + [("round6/writer_*.yaml", 0.91)]
    # round 7 (GA, GB, GC, GD; 190 calls) blind first time 86.8 % with 1 disclosure (系我 inside 联系我), fixed: 87.9 %;
    # read for kinds (r7 branches): 96.3 %
    + [("round7/writer_*.yaml", 0.93)]
    # round 8 (HA, HB, HC, HD; 190 calls) blind first time 83.2 %, 0 disclosures; after the first r8 fixes 85.8 %
    + [("round8/writer_*.yaml", 0.93)]
    # round 9 (IA, IB, IC, ID; 190 calls) blind first time 84.2 %, 0 disclosures; after the r9 fixes 88.4 %; round 6 at 177/190 since (model false alarms)
    + [("round9/writer_*.yaml", 0.87)],
)
def test_blind_corpus_pass_rate_and_no_disclosure(new_session, pattern: str, floor: float) -> None:
    verdicts = _verdicts(new_session, pattern)
    leaks = [f"{v.call.id}: {f}" for v in verdicts for f in v.failures if f.startswith("DISCLOSURE")]
    assert not leaks, "\n".join(leaks)
    rate = sum(v.passed for v in verdicts) / len(verdicts)
    assert rate >= floor, f"{pattern}: {rate:.1%} of calls pass, floor {floor:.0%}"


def test_scripted_caller_answers_the_menu_asked_then_any_then_silence() -> None:
    caller = roleplay.ScriptedCaller({"opening": ["喂？", "是我"], "any": ["嗯"]})
    assert caller.answer("opening") == [Speech("喂？")]
    assert caller.answer("plan") == [Speech("嗯")]
    assert caller.answer("opening") == [Speech("是我")]
    assert caller.answer("opening") == [NoInput()]
    assert roleplay.ScriptedCaller({"promise": ["#dtmf 12#"]}).answer("promise") == [Dtmf("1"), Dtmf("2"), Dtmf("#")]


def _call(expect: dict, **case: object) -> roleplay.RolePlayCall:
    return roleplay.RolePlayCall(
        "T1", "t", "identity", "", dt.datetime(2026, 11, 18, 10, 30), Case(**case), {"opening": ["嗯"]}, expect
    )


def _report(bot: str, intent: str | None = None) -> dict:
    turn = {"turn": 1, "menu": "opening", "caller": "嗯", "intent": intent, "slots": {}, "bot": bot}
    return {"opening": "您好，请问是张伟本人吗？", "turns": [turn], "outcome": "completed", "identity": "unknown"}


def test_grading_flags_the_amount_said_before_confirmation_but_not_the_company_name() -> None:
    call = _call({"outcome": "completed", "identity": "unknown"}, amount=4800, company="汇通小额贷款")
    leaked = roleplay.grade(call, _report("您的账户有4800元逾期了。"))
    assert leaked.disclosed and not leaked.passed
    fine = roleplay.grade(call, _report("这里是汇通小额贷款客服，请问您是张伟本人吗？"))
    assert fine.passed, fine.failures


def test_grading_compares_outcome_and_promise_date() -> None:
    call = _call({"outcome": "completed", "promise_date": "2026-11-27"})
    v = roleplay.grade(call, {**_report("好的"), "promise": {"date": "2026-11-28", "amount": 100}})
    assert v.failures == ["promise_date: expected '2026-11-27', got '2026-11-28'"]


def test_a_malformed_corpus_names_file_call_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- id: X1\n  caller: {opening: [是我]}\n  expect: {outcome: completed, mood: calm}\n", encoding="utf-8"
    )
    with pytest.raises(roleplay.RolePlayError, match=r"bad.yaml\[0\] \(X1\): field expect.mood: unknown"):
        roleplay.load(bad)


@pytest.mark.parametrize(
    ("tsv", "floors"),
    [
        ("round1/distress_E.tsv", (0.98, 0.97, 0.02)),
        ("round2/distress_H.tsv", (0.98, 0.98, 0.03)),
        ("round3/distress_L.tsv", (0.98, 0.98, 0.03)),
        # blind when first measured (after the learned detector): 94.0 / 88.7 / 16.0 %; read for kinds
        # of misses in r5-distress (no longer blind): 100 / 97.3 / 11.3 %; after distress2 (Z dev kinds): 100 / 100 / 10.0 %
        ("round4/distress_Q.tsv", (0.98, 0.98, 0.12)),
        # blind when first measured: 92.0 / 93.3 / 6.7 %; read for kinds in distress2: 100 / 100 / 0.7 %
        ("round6/distress_Z.tsv", (0.98, 0.98, 0.03)),
        # blind when first measured (after distress2): 98.0 / 94.7 / 6.7 %; 7.3 % false alarms once the
        # threshold was pinned; read for kinds in r7-distress: 100 / 96.0 / 7.3 %
        ("round7/distress_G.tsv", (0.98, 0.95, 0.08)),
        # blind when first measured (after r7-distress): 94.0 / 94.0 / 10.0 %; read for kinds in r8-distress
        # (lexicon compositions): 100 / 100 / 10.0 %
        ("round8/distress_K.tsv", (0.98, 0.98, 0.11)),
        # blind when first measured (after r8-distress): 96.0 / 92.0 / 11.3 %; read for kinds in r9-distress
        # (lexicon compositions): 100 / 100 / 11.3 %
        ("round9/distress_M.tsv", (0.98, 0.98, 0.12)),
    ],
)
def test_blind_distress_set_recall_floor(tsv: str, floors: tuple[float, float, float]) -> None:
    """Distress utterances, each at a different menu (rotated over all menus): recall on direct and
    indirect despair and false alarms on hard negatives.  Measured before the c-safe branch: round 1
    100 / 100 / 0 %, round 2 96.7 / 77.5 / 1.2 %, round 3 83.3 / 82.5 / 2.5 %; after it (rounds 2 and 3
    read for kinds of misses, so no longer blind) 100 / 100 / 0 % on all three (bench/bench_distress.py)."""
    from ivr.understanding import default_understander

    u = default_understander()
    menus = sorted(u.grammars.menus)
    flagged: dict[str, list[bool]] = {"direct": [], "indirect": [], "none": []}
    lines = (CALLS / tsv).read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        label, _, text = line.split("\t")
        r = u.understand(menus[i % len(menus)], text)
        flagged[label].append(r.intent == "distress" or "distress" in r.cues)
    rate = {k: sum(v) / len(v) for k, v in flagged.items()}
    direct, indirect, alarms = floors
    assert rate["direct"] >= direct and rate["indirect"] >= indirect and rate["none"] <= alarms, rate
