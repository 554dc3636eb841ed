"""Whole calls for the round-5 flow kinds: cooperative answers in regional wording (粤/湘/京/东北),
questions that are answered or noted and then the pending question again (never a transfer), amounts
said next to a weekday, a part payment whose rest is left vague, a callback "in N hours" at exactly
that moment, an explicit self-identification followed by abuse, and keyed verification with a slow,
cooperative caller.  Caller lines are written for these tests (not taken from any role-play file)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ivr.case import Case
from ivr.events import Hangup, Transfer
from ivr.numbers import parse_amount, parse_months
from ivr.plan_rule import decide_plan

from .conftest import simulate_json, to_plan


def _transferred(out: list) -> bool:
    return any(isinstance(a, Transfer) for a in out)


# ---------------------------------------------------------------- regional cooperative answers


def test_a_cantonese_flavoured_cooperative_caller_completes_the_call(call):
    c = call()
    c.say("系我啊，咩事")
    assert c.session.dialog.menu == "purpose"
    c.say("知啦知啦，呢排档口生意麻麻哋")  # I know, business has been so-so lately
    assert c.session.dialog.menu == "income_source"
    c.say("自己开个小铺卖烧腊", "一个月七八千啦", "铺租四千，仲有个细路读书", "冇啦", "冇乜事")
    assert c.session.dialog.menu == "plan"
    c.say("分五个月啦")
    out = c.say("下礼拜三先还第一期", "#silence")
    report = c.session.report()
    assert out[-1] == Hangup("completed")
    assert report["plan"]["intent"] == "installment" and report["plan"]["months"] == 5
    assert report["promise"]["date"] == "2026-11-25"


def test_hunan_and_beijing_words_are_ordinary_answers(call):
    c = call()
    c.say("我是张伟", "得嘞，这事我门儿清")
    assert c.session.dialog.menu == "income_source"
    c.say("跑网约车", "五千来块")
    c.say("房租一千二，伢子读幼儿园")
    assert set(c.session.dialog.slots["expenses"].value) >= {"rent", "education"}
    c.say("冇得了")  # nothing more
    assert c.session.dialog.menu == "unusual_expense"
    c.say("冇得么子事")
    assert c.session.dialog.menu == "plan"


def test_ten_months_to_pay_less_each_month_is_an_instalment_plan_not_a_reduction(call):
    c = call()
    to_plan(c, "在超市当收银员", "四千出头")
    out = c.say("分十个月行不行嘛，每个月就少还一点")
    report = c.session.report()
    assert not _transferred(out) and report["requests"] == []
    assert c.session.dialog.menu == "promise"
    assert report["plan"]["intent"] == "installment" and report["plan"]["months"] == 10


def test_labour_costs_and_staff_named_in_passing_are_not_a_request_for_a_person(call):
    c = call()
    c.say("是我", "知道")
    out = c.say("我跟你说了你们工作人员能看到吧？那好，我在物流公司上班")
    assert not _transferred(out) and c.session.dialog.menu == "income_amount"
    c.say("五千")
    out = c.say("店面租金，还有请帮工的人工钱")
    assert not _transferred(out) and c.session.dialog.menu in ("expenses", "unusual_expense")


def test_a_plan_and_day_said_early_go_straight_to_the_closing(call):
    c = call(Case(amount=6000))
    c.say("是我", "知道", "在仓库当保管员", "四千")
    out = c.say("房租八百，其他没啥，我下周二先还一千五行吧，剩下的以后再说", "#silence")
    report = c.session.report()
    assert out[-1] == Hangup("completed")
    assert "还有别的" not in "".join(c.bot_texts[-3:])  # the spending follow-up is not asked at the plan
    assert report["plan"]["intent"] == "partial" and report["promise"]["date"] == "2026-11-24"
    assert report["promise"]["amount"] == 1500


# ---------------------------------------------------------------- amounts


def test_a_weekday_numeral_is_never_part_of_the_amount():
    assert parse_amount("下周一五千六一分不少") == 5600
    assert parse_amount("周三两千") == 2000
    assert parse_amount("星期天一千") == 1000
    assert parse_amount("每周三百") == 300  # a unit follows: still money


def test_a_month_of_the_year_is_not_a_count_of_months():
    assert parse_months("我记得九月份那次") is None
    assert parse_months("十二月五号") is None
    assert parse_months("分九个月") == 9


def test_the_rest_left_vague_keeps_a_part_payment():
    assert decide_plan("先还一半剩下的往后慢慢还") == "partial"
    assert decide_plan("先还两千剩下的分四个月还") == "installment"
    assert decide_plan("慢慢还吧先还一千") == "installment"


def test_the_amount_said_after_a_weekday_is_the_callers_number(call):
    c = call()
    to_plan(c, "在超市当收银员", "四千出头")
    c.say("一把还清")
    out = c.say("下礼拜一，三千五一分不差给你转过去", "#silence")
    report = c.session.report()
    assert out[-1] == Hangup("completed")
    assert report["promise"]["date"] == "2026-11-23" and report["promise"]["amount"] == 3500


# ---------------------------------------------------------------- questions


def test_a_doubt_about_the_amount_asked_as_a_question_is_answered_not_transferred(call):
    c = call()
    c.say("是我")
    out = c.say("这不对吧，我当时才借了三千，咋就成三千五了？多的那些是啥钱？")
    report = c.session.report()
    assert not _transferred(out)
    assert c.session.dialog.menu in ("purpose", "income_source")
    assert report["requests"] and report["requests"][0]["kind"] == "question"


def test_a_denial_asked_with_a_fee_question_is_still_a_dispute(call):
    c = call()
    c.say("是我")
    out = c.say("这笔钱根本不是我借的，多出来的又是什么钱？")
    assert _transferred(out) and c.session.report()["escalation"]["reason"] == "dispute"


def test_an_earlier_over_payment_to_check_is_noted_and_the_full_plan_kept(call):
    c = call()
    to_plan(c, "在超市当收银员", "四千出头")
    out = c.say("我全部一次还掉。还有，我十月份好像多转过两百块，能不能帮我核一下抵掉")
    report = c.session.report()
    assert not _transferred(out) and c.session.dialog.menu == "promise"
    assert [r["kind"] for r in report["requests"]] == ["question"]
    assert report["plan"]["intent"] == "full" and report["plan"].get("months") is None
    c.say("后天")
    assert c.session.report()["promise"]["amount"] == 3500


def test_wanting_to_settle_soon_is_no_payment_made_and_the_plan_is_still_asked(call):
    c = call()
    c.say("是我")
    out = c.say("知道，我就盼着早点还清了事")
    assert not _transferred(out) and c.session.dialog.menu == "income_source"


# ---------------------------------------------------------------- callbacks


def test_in_two_hours_is_exactly_two_hours_later(call):
    c = call(now=dt.datetime(2026, 11, 18, 13, 40))
    out = c.say("是我，我在排队办事呢，你两个小时以后再打吧")
    assert out[-1] == Hangup("completed")
    assert c.session.report()["callback"]["at"] == "2026-11-18T15:40"


def test_simulate_json_stores_a_relative_callback_to_the_minute(tmp_path: Path):
    report = simulate_json(tmp_path, "是我，正忙着呢，四十分钟以后再打给我")
    assert report["callback"]["at"] == "2026-11-18T11:10"
    assert report["identity"] == "confirmed"


# ---------------------------------------------------------------- angry after confirming


def test_a_defiant_self_identification_then_abuse_keeps_identity_confirmed(call):
    c = call()
    c.say("是我又咋了？")
    assert c.session.dialog.identity == "confirmed"
    out = c.say("你们烦不烦，滚！")
    report = c.session.report()
    assert _transferred(out) and report["escalation"]["reason"] == "emotional" and report["identity"] == "confirmed"


def test_self_identification_and_abuse_in_one_breath_confirm_but_a_denial_does_not(call):
    c = call()
    out = c.say("是我，滚！")
    assert _transferred(out) and c.session.report()["identity"] == "confirmed"
    d = call()
    d.say("不是我，滚！")
    assert d.session.report()["identity"] != "confirmed"


# ---------------------------------------------------------------- keyed verify, slow and cooperative


def test_keyed_last_four_then_a_slow_caller_who_answers_after_asking_completes(call):
    c = call(Case(name="王秀英", amount=2400, verify=True, id_last4="2718"))
    c.say("哎，我就是王秀英")
    assert c.session.dialog.menu == "verify"
    c.say("身份证？我去拿一下")
    c.say("#dtmf 2718#")
    assert c.session.dialog.identity == "confirmed"
    c.say("晓得", "在家带孙子，闺女每月给点", "八百", "吃饭买药", "没了", "没有", "分三回还")
    assert c.session.dialog.menu == "promise"
    out = c.say("你讲慢点……几号啊？那就这个月二十八号", "#silence")
    report = c.session.report()
    assert out[-1] == Hangup("completed") and c.session.dialog.slow
    assert report["promise"]["date"] == "2026-11-28"


def test_a_far_date_then_a_nearer_one_in_the_next_turn_is_accepted(call):
    c = call()
    to_plan(c, "在超市当收银员", "四千出头")
    c.say("缓俩月呗")
    out = c.say("等开春三月份吧")
    assert not _transferred(out) and c.session.dialog.menu == "promise"
    out = c.say("那行，就一月二十号", "#silence")
    assert out[-1] == Hangup("completed")
    assert c.session.report()["promise"]["date"] == "2027-01-20"
