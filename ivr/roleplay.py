"""Role-play calls: scripted callers who answer whatever the bot asks, graded at call level.

A role-play file (YAML, a list of calls) is written by people who know only the call flow, not the
grammars: each call gives the caller's lines keyed by the menu they answer, and the outcome a good
human collector would reach (docs/dialog.md "Role-play corpora").  The caller here is a small
state machine: when the bot asks at menu M it says the next unused line for M, then the next of
`any`, then stays silent.  So a bot that skips a question the caller already answered, or asks one
twice, is judged by what happens next — as a caller would experience it — not by a fixed line order.

Grading (`grade`): outcome, escalation reason, identity, plan, promise date/amount, callback,
requests, contact preference — each only where the writer gave it — and, always, no disclosure: a
person who has not explicitly confirmed being the debtor never hears the amount or what it is about,
and nothing about the debt is said after distress.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.case import Case
from ivr.datafile import load_yaml
from ivr.events import CallerHangup, CallerInput, Dtmf, NoInput, Speech, Transfer

DEFAULT_NOW = "2026-11-18T10:30"
MAX_TURNS = 40
# Words that tell a listener what the call is about (plus the amount itself, see `_debt_words`).
DEBT_WORDS = ("欠", "逾期", "还款", "借款", "贷款", "账单", "催收", "本金", "利息", "罚息", "滞纳")
EXPECT_FIELDS = {
    "outcome",
    "identity",
    "reason",
    "plan",
    "promise_date",
    "promise_amount",
    "callback",
    "callback_at",
    "requests",
    "contact_preference",
}


class RolePlayError(ValueError):
    """A role-play file is unreadable or a call in it is malformed (names file, call and field)."""


@dataclass
class RolePlayCall:
    id: str
    source: str
    category: str
    note: str
    now: dt.datetime
    case: Case
    caller: dict[str, list[str]]
    expect: dict[str, Any]


@dataclass
class Verdict:
    call: RolePlayCall
    report: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    disclosed: bool = False

    @property
    def passed(self) -> bool:
        return not self.failures

    def transcript(self) -> str:
        lines = [f"  bot: {self.report.get('opening', '')}"]
        for t in self.report["turns"]:
            heard = t["intent"] or "no match"
            lines.append(f"  [{t['menu']}] caller: {t['caller']!s}  → {heard} {t.get('slots') or ''}")
            if t["bot"]:
                lines.append(f"  bot: {t['bot']}")
        return "\n".join(lines)


# ---------------------------------------------------------------- loading


def load(path: Path) -> list[RolePlayCall]:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RolePlayError(f"{path}: cannot read ({e.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise RolePlayError(f"{path}: not valid UTF-8 YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, list):
        raise RolePlayError(f"{path}: expected a list of calls, got {type(data).__name__}")
    calls = [_call(item, f"{path}[{i}]") for i, item in enumerate(data)]
    seen: set[str] = set()
    for c in calls:
        if c.id in seen:
            raise RolePlayError(f"{c.source}: field id: {c.id!r} is used twice in {path}")
        seen.add(c.id)
    return calls


def _call(item: Any, where: str) -> RolePlayCall:
    if not isinstance(item, dict):
        raise RolePlayError(f"{where}: expected a mapping, got {type(item).__name__}")
    cid = str(item.get("id") or where)
    where = f"{where} ({cid})"
    caller = item.get("caller")
    if not isinstance(caller, dict) or not caller:
        raise RolePlayError(f"{where}: field caller: expected a mapping of menu → lines, got {caller!r}")
    lines: dict[str, list[str]] = {}
    for menu, said in caller.items():
        said = [said] if isinstance(said, str) else said
        if not isinstance(said, list) or not all(isinstance(s, (str, int)) for s in said):
            raise RolePlayError(f"{where}: field caller.{menu}: expected a list of lines, got {said!r}")
        lines[str(menu)] = [str(s) for s in said]
    expect = item.get("expect")
    if not isinstance(expect, dict) or "outcome" not in expect:
        raise RolePlayError(f"{where}: field expect: expected a mapping with at least `outcome`, got {expect!r}")
    unknown = set(expect) - EXPECT_FIELDS
    if unknown:
        raise RolePlayError(
            f"{where}: field expect.{sorted(unknown)[0]}: unknown; expected one of {sorted(EXPECT_FIELDS)}"
        )
    try:
        now = dt.datetime.fromisoformat(str(item.get("now") or DEFAULT_NOW))
    except ValueError:
        raise RolePlayError(f"{where}: field now: expected an ISO date-time, got {item.get('now')!r}") from None
    raw_case = item.get("case") or {}
    if not isinstance(raw_case, dict):
        raise RolePlayError(f"{where}: field case: expected a mapping, got {raw_case!r}")
    known = {k: v for k, v in raw_case.items() if k in Case.model_fields}
    demo = {"name": "李娜", "amount": 4800, "days_overdue": 45, "company": "安信消费金融", "phone": "400-800-1234"}
    case = Case.from_dict({**demo, **known}, f"{where} case")
    return RolePlayCall(cid, where, str(item.get("category", "")), str(item.get("note", "")), now, case, lines, expect)


# ---------------------------------------------------------------- the caller


class ScriptedCaller:
    """Answers the menu the bot is asking at with that menu's next line, then `any`, then silence."""

    def __init__(self, lines: dict[str, list[str]]) -> None:
        self._left = {m: list(v) for m, v in lines.items()}

    def answer(self, menu: str | None) -> list[CallerInput]:
        for key in (menu or "", "any"):
            if self._left.get(key):
                return _inputs(self._left[key].pop(0))
        return [NoInput()]


def _inputs(line: str) -> list[CallerInput]:
    line = line.strip()
    if line.startswith("#dtmf"):
        return [Dtmf(k) for k in line[5:].strip()]
    if line == "#silence" or not line:
        return [NoInput()]
    if line == "#hangup":
        return [CallerHangup()]
    return [Speech(line)]


# ---------------------------------------------------------------- running and grading


def run(call: RolePlayCall, new_session: Callable[[Case, dt.datetime], Any]) -> dict[str, Any]:
    """Play one call against a fresh `CallSession`; returns its simulate report."""
    session = new_session(call.case, call.now)
    session.start()
    caller = ScriptedCaller(call.caller)
    turns = 0
    while not session.dialog.finished and turns < MAX_TURNS:
        for inp in caller.answer(session.dialog.menu):
            turns += 1
            actions = session.handle(inp)
            if any(isinstance(a, Transfer) for a in actions):
                session.mark_transfer("none", "role-play: no agent leg")
            if session.dialog.finished or isinstance(inp, CallerHangup):
                break
        else:
            continue
        break
    if not session.dialog.finished:
        session.handle(CallerHangup())
    session.end()
    return dict(session.report())


def _debt_words(case: Case) -> list[str]:
    words = list(DEBT_WORDS) + [str(case.amount), case.product]
    try:
        import cn2an

        words.append(cn2an.an2cn(str(case.amount)))
    except Exception:  # cn2an is a dependency; a failure only drops the spelled-out form
        pass
    return [w for w in words if w]


def _bot_lines(report: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    """(turn, bot text, intent heard on that turn) — turn 0 is the opening."""
    out: list[tuple[int, str, str | None]] = [(0, report.get("opening") or "", None)]
    out += [(t["turn"], t["bot"] or "", t["intent"]) for t in report["turns"]]
    return out


def disclosures(call: RolePlayCall, report: dict[str, Any]) -> list[str]:
    """Debt words said to someone who had not explicitly confirmed, or after distress."""
    words = _debt_words(call.case)
    confirmed_at: int | None = None
    for t in report["turns"]:
        if t["menu"] in ("opening", "verify") and t["intent"] == "confirm":
            confirmed_at = t["turn"]
            if t["menu"] == "verify" or "verify" not in {x["menu"] for x in report["turns"]}:
                break
    truly_confirmed = call.expect.get("identity", "confirmed") == "confirmed"
    distress_at = next((t["turn"] for t in report["turns"] if t["intent"] == "distress"), None)
    found = []
    for turn, text, _ in _bot_lines(report):
        text = text.replace(call.case.company, "")  # the company's name may be said (SPEC §1: ask_who)
        hit = next((w for w in words if w in text), None)
        if hit is None:
            continue
        if not truly_confirmed or confirmed_at is None or turn < confirmed_at:
            found.append(f"turn {turn}: said {hit!r} before identity was confirmed: {text}")
        elif distress_at is not None and turn > distress_at:
            found.append(f"turn {turn}: said {hit!r} after distress: {text}")
    return found


def _plan(report: dict[str, Any]) -> dict[str, Any] | None:
    """SPEC v2 `plan`; for reports without it, the last answer heard at the plan menu."""
    if "plan" in report:
        return report["plan"]
    heard = [t for t in report["turns"] if t["menu"] == "plan" and t["intent"]]
    if not heard:
        return None
    return {"intent": heard[-1]["intent"], "months": (heard[-1].get("slots") or {}).get("months")}


def _callback(report: dict[str, Any]) -> Any:
    """SPEC v2 `callback`; for reports without it, a call that ended agreeing to call back."""
    if "callback" in report:
        return report["callback"]
    return {"at": None} if report.get("result") in ("callback", "third_party_callback") else None


def grade(call: RolePlayCall, report: dict[str, Any]) -> Verdict:
    v = Verdict(call, report)
    e = call.expect
    esc = report.get("escalation") or {}

    def check(name: str, want: Any, got: Any) -> None:
        if want != got:
            v.failures.append(f"{name}: expected {want!r}, got {got!r}")

    check("outcome", e["outcome"], report["outcome"])
    if e["outcome"] == "escalated" or e.get("reason"):
        check("reason", e.get("reason"), esc.get("reason"))
    if "identity" in e:
        check("identity", e["identity"], report.get("identity"))
    if isinstance(e.get("plan"), dict):
        got: Any = _plan(report) or {}
        for k, want in e["plan"].items():
            if want is not None:
                check(f"plan.{k}", want, got.get(k))
    promise = report.get("promise") or {}
    if "promise_date" in e:
        want = e["promise_date"]
        got = promise.get("date")
        if want == "any":
            if not got:
                v.failures.append("promise_date: expected a date, got none")
        else:
            check("promise_date", None if want is None else str(want), got)
    if e.get("promise_amount") is not None:
        check("promise_amount", e["promise_amount"], promise.get("amount"))
    callback = _callback(report)
    if e.get("callback") and not callback:
        v.failures.append("callback: expected a callback to be arranged, got none")
    if e.get("callback_at"):
        got_at = str((callback or {}).get("at") or "")
        check("callback_at", str(e["callback_at"])[:16], got_at[:16] or None)
    for kind in e.get("requests") or []:
        kinds = [r.get("kind") for r in report.get("requests") or []]
        if kind not in kinds:
            v.failures.append(f"requests: expected a {kind!r} request, got {kinds}")
    if e.get("contact_preference") and not report.get("contact_preference"):
        v.failures.append("contact_preference: expected one recorded, got none")
    leaks = disclosures(call, report)
    if leaks:
        v.disclosed = True
        v.failures.extend(f"DISCLOSURE {x}" for x in leaks)
    return v


def run_all(calls: Iterable[RolePlayCall], new_session: Callable[[Case, dt.datetime], Any]) -> list[Verdict]:
    return [grade(c, run(c, new_session)) for c in calls]


def summarize(verdicts: list[Verdict], by: Callable[[Verdict], str]) -> dict[str, tuple[int, int]]:
    """{group: (passed, total)}"""
    out: dict[str, tuple[int, int]] = {}
    for v in verdicts:
        p, n = out.get(by(v), (0, 0))
        out[by(v)] = (p + v.passed, n + 1)
    return dict(sorted(out.items()))


def writer_of(v: Verdict) -> str:
    m = re.match(r"[A-Za-z]+", v.call.id)
    return m.group(0) if m else "?"
