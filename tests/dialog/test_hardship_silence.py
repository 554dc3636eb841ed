"""Round-5 distress flow: the bot must not skip the place where a struggling caller would say it.

- no income / lost the job: a gentle "how do you get by" (income_amount.ask_manage), not a skip;
- a caller in hardship who falls silent: a check-in on the person (hardship.check_in), not the plan
  menu read again; silent again: a human (reason distress) with a note saying why
  (flow.yaml `hardship_silence`).
Sentences written for these tests."""

from __future__ import annotations

from ivr.case import Case
from ivr.events import Say, Transfer
from ivr.prompts import PromptBook

CASE = Case(name="陈静", amount=6100, days_overdue=52)
MONEY_WORDS = ("欠", "逾期", "还款", "还钱", "6100", "六千一", "金额", "分期", "延期", "按")
NO_INCOME = ["是我", "知道", "厂子倒了，现在一分钱进账都没有"]


def _said(c, out) -> list[str]:
    return [a.text for a in out if isinstance(a, Say)]


def _is_prompt(text: str, book: PromptBook, pid: str) -> bool:
    return any(v in text for v in book.spec(pid).variants)


def test_no_income_is_asked_how_the_caller_gets_by_not_skipped(call, book) -> None:
    c = call(CASE)
    out = c.say(*NO_INCOME)
    assert c.session.dialog.menu == "income_amount"
    assert _is_prompt(_said(c, out)[-1], book, "income_amount.ask_manage"), _said(c, out)


def test_despair_said_at_the_how_do_you_get_by_question_hands_over(call) -> None:
    c = call(CASE)
    c.say(*NO_INCOME)
    out = c.say("靠东借西借呗，借到今天亲戚都躲着我，我也不想再拖下去了，一了百了算了")
    assert [a.reason for a in out if isinstance(a, Transfer)] == ["distress"]


def test_an_ordinary_answer_to_how_do_you_get_by_moves_on_without_a_retry(call) -> None:
    c = call(CASE)
    c.say(*NO_INCOME)
    out = c.say("我爱人在超市上班，家里靠她那点工资撑着")
    d = c.session.dialog
    assert d.menu == "expenses" and not d.finished, _said(c, out)
    assert "income_amount" not in d._misses


def test_cannot_pay_then_silence_checks_in_on_the_person_then_hands_over_with_a_note(call, book) -> None:
    c = call(CASE)
    c.say(*NO_INCOME, "就这么熬着", "吃饭，交房租", "没有了", "工作没了")
    assert c.session.dialog.menu == "plan"
    c.say("拿不出来，真的拿不出来")  # cannot: the gentler second offer
    out = c.say("#silence")
    said = _said(c, out)
    assert len(said) == 1 and _is_prompt(said[0], book, "hardship.check_in"), said
    assert not any(w in said[0] for w in MONEY_WORDS), said  # about the person, not the plan
    out = c.say("……")  # no words again
    assert [a.reason for a in out if isinstance(a, Transfer)] == ["distress"]
    esc = c.session.report()["escalation"]
    assert esc["summary"]["trigger"]["note"] and "沉默" in esc["narrative"]
    assert "轻生" not in esc["narrative"]  # silence is not reported as a death wish


def test_a_caller_who_answers_the_check_in_goes_on_with_the_call(call) -> None:
    c = call(CASE)
    c.say(*NO_INCOME, "就这么熬着", "吃饭，交房租", "没有了", "工作没了", "拿不出来，真的拿不出来", "#silence")
    out = c.say("我没事，刚才走神了，那就分六个月吧")
    d = c.session.dialog
    assert not any(isinstance(a, Transfer) for a in out)
    assert d.menu == "promise" and d.slots["plan"].value == "installment"


def test_silence_without_hardship_gets_the_menu_again_not_the_check_in(call, book) -> None:
    c = call(CASE)
    c.say("是我", "知道", "在物流公司上班，拿工资", "五千多", "房租", "没有了", "没有")
    assert c.session.dialog.menu == "plan"
    said = _said(c, c.say("#silence"))
    assert said and not _is_prompt(said[-1], book, "hardship.check_in"), said
    assert c.session.dialog._quiet == 0


def test_silence_after_a_plan_was_agreed_is_not_a_check_in(call, book) -> None:
    c = call(CASE)
    c.say(*NO_INCOME, "就这么熬着", "吃饭，交房租", "没有了", "工作没了", "分五个月吧")
    assert c.session.dialog.menu == "promise"
    said = _said(c, c.say("#silence"))
    assert said and not _is_prompt(said[-1], book, "hardship.check_in"), said
    assert c.session.dialog._quiet == 0
