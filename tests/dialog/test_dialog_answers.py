"""Answers found in review that the dialog must route right: annoyed remarks, past dates,
"nothing more" at expenses, accepting a proposed date (through CallSession, real grammars)."""

from __future__ import annotations

from ivr.events import Hangup, Say


def _ids(actions) -> list[str]:
    return [a.prompt_id for a in actions if isinstance(a, Say)]


def test_an_annoyed_remark_is_soothed_and_the_question_asked_again(call):
    c = call()
    c.say("是我")
    out = c.say("有完没完")
    assert _ids(out)[0] == "soothe" and out[-1].menu == "purpose"
    d = c.session.dialog
    assert d.menu == "purpose" and d.turns[-1].intent is None and d._misses == {}
    c.say("知道")
    assert d.menu == "income_source"


def _to_promise(c) -> None:
    c.say("是我", "知道", "工资", "五千", "房租", "#dtmf #", "没有", "一次还清")
    assert c.session.dialog.menu == "promise"


def test_last_friday_is_past_and_asked_again(call):
    c = call()
    _to_promise(c)
    assert _ids(c.say("上周五"))[0] == "promise.past"
    assert _ids(c.say("那就这个月二十号吧")) == ["closing.summary"]
    assert c.session.dialog.promise["date"] == "2026-11-20"


def test_a_day_earlier_this_month_is_past_not_next_year(call):
    c = call()
    _to_promise(c)
    assert _ids(c.say("11月1号"))[0] == "promise.past"
    assert c.session.dialog.menu == "promise" and c.session.dialog.promise is None


def test_nothing_more_at_expenses_moves_on(call):
    c = call()
    c.say("是我", "知道", "工资", "五千", "房租")
    out = c.say("就这些，没别的了")
    d = c.session.dialog
    assert d.menu == "unusual_expense" and d.turns[-1].intent == "none"
    assert d.slots["expenses"].value == ["rent"] and out[-1].menu == "unusual_expense"


def test_accepting_the_proposed_date_uses_promise_accept(call):
    c = call()
    _to_promise(c)
    early = c.say("好的")  # nothing proposed yet: "ok" is not a date, so the bot proposes one
    assert _ids(early) == ["promise.propose"] and "11月25日" in early[0].text
    done = c.say("行 没问题", "#silence")
    d = c.session.dialog
    assert d.turns[-2].intent == "accept" and done[-1] == Hangup("completed")
    assert d.promise == {"date": "2026-11-25", "amount": 3500}
