"""Free answers to the information questions (income, expenses, a recent blow) and patience with them:
income said as a day rate or as "it depends", income sources in trade words, "nothing happened" said
loosely, and the rule that an optional fact not understood after one re-ask is noted as unknown and
the call goes on (the confusion hand-over stays for the plan and the date).  Whole calls through
CallSession with the real understander, grammars, flow and SQLite.  Sentences written for these tests."""

from __future__ import annotations

from ivr.events import Hangup, Say, Transfer
from ivr.summary import narrative

from .conftest import Call


def _ids(actions) -> list[str]:
    return [a.prompt_id for a in actions if isinstance(a, Say)]


def _menus(c: Call) -> list[str]:
    return [t.menu for t in c.session.dialog.turns]


def _to_income(c: Call) -> None:
    c.say("是我", "知道")
    assert c.session.dialog.menu == "income_source"


def test_a_day_rate_is_read_as_a_monthly_income(call):
    c = call()
    _to_income(c)
    c.say("在建筑队干活")
    out = c.say("干一天给两百五，每月能出二十二天工")
    d = c.session.dialog
    assert d.slots["income_amount"].value == 5500
    assert d.menu == "expenses" and "optional.unknown" not in _ids(out)


def test_a_week_rate_and_an_average_are_monthly_figures_too(call):
    c = call()
    _to_income(c)
    c.say("开网约车的")
    c.say("一个礼拜一千出头")
    assert c.session.dialog.slots["income_amount"].value == 4000  # about 4 weeks
    c2 = call()
    _to_income(c2)
    c2.say("自己开了个小面馆")
    c2.say("旺季能有一万，淡季两三千，平均算下来六千左右")
    assert c2.session.dialog.slots["income_amount"].value == 6000


def test_income_that_comes_per_batch_is_unknown_and_not_asked_again(call):
    c = call()
    _to_income(c)
    c.say("家里放了几十只羊")
    assert c.session.dialog.slots["income_source"].value == "unstable"
    out = c.say("那可说不上，出一批货才能结一回账")
    d = c.session.dialog
    assert d.menu == "expenses" and "income_amount" not in d.slots
    assert not any(p.startswith("income_amount.retry") for p in _ids(out))


def test_trade_words_are_income_sources(call):
    for line, want in (("跟着装修队刷墙，有活就干，没活就在家歇着", "unstable"), ("在老家喂了十几头猪", "unstable")):
        c = call()
        _to_income(c)
        c.say(line)
        assert c.session.dialog.slots["income_source"].value == want, line


def test_nothing_special_at_the_unusual_loss_question_goes_on_to_the_plan(call):
    c = call()
    c.say("是我", "知道", "上班", "五千", "房租", "就这些")
    assert c.session.dialog.menu == "unusual_expense"
    c.say("没啥情况")
    d = c.session.dialog
    assert d.menu == "plan" and d.slots["unusual_expense"].value == "none"


def test_an_answer_given_with_a_question_is_kept_at_an_optional_question(call):
    c = call()
    c.say("是我", "知道", "上班", "五千", "房租", "就这些")
    out = c.say("没有。不过我想知道，拖着不还会有什么后果？")
    d = c.session.dialog
    assert d.menu == "plan" and d.slots["unusual_expense"].value == "none", _ids(out)


def test_an_optional_fact_not_understood_after_a_re_ask_is_noted_unknown_and_the_call_completes(call):
    c = call()
    _to_income(c)
    assert _ids(c.say("这个嘛，一两句话也说不上来")) == ["income_source.retry1"]
    out = c.say("唉，怎么跟你说呢，挺复杂的")
    d = c.session.dialog
    assert _ids(out) == ["optional.unknown", "income_amount.ask"]
    assert d.slots["income_source"].value == "unknown" and not d.finished
    c.say("五千", "房租", "就这些", "没有", "一次还清")
    done = c.say("下周五", "#silence")
    assert done[-1] == Hangup("completed") and d.outcome == "completed"
    assert "主要收入：未能了解" in narrative(d)
    assert not any(isinstance(a, Transfer) for a in c.heard)


def test_each_optional_question_gives_up_once_and_goes_on(call):
    c = call()
    c.say("是我", "知道", "上班")
    c.say("嗯那个怎么说呢", "#silence")  # income_amount: spoke once, then silence
    assert c.session.dialog.menu == "expenses"
    c.say("乱七八糟说不上来那种", "哎呀这个嘛")
    assert c.session.dialog.menu in ("unusual_expense", "plan")


def test_silence_alone_at_an_optional_question_still_hands_over_as_confused(call):
    c = call()
    _to_income(c)
    first, second = c.say("#silence"), c.say("#silence")
    assert _ids(first) == ["income_source.retry1"] and _ids(second) == ["income_source.retry2"]
    third = c.say("#silence")
    assert [a.reason for a in third if isinstance(a, Transfer)] == ["confused"]


def test_a_caller_not_understood_at_the_plan_is_still_handed_over_as_confused(call):
    c = call()
    _to_income(c)
    c.say("讲不明白", "讲不明白")  # income source given up on
    c.say("讲不明白", "讲不明白")  # income amount
    c.say("讲不明白", "讲不明白")  # expenses
    c.say("讲不明白", "讲不明白")  # unusual loss
    assert c.session.dialog.menu == "plan"
    out = c.say("讲不明白", "讲不明白", "讲不明白")
    assert [a.reason for a in out if isinstance(a, Transfer)] == ["confused"]
    assert _menus(c).count("plan") == 3


def test_wu_day_words_name_the_promised_day(call):
    c = call()
    c.say("是我，侬讲", "晓得额，号头里事体太多忘脱了", "上班拿工资", "八千", "房租", "就这些", "没有", "一次还清")
    done = c.say("明朝上半天就付脱", "#silence")
    assert done[-1] == Hangup("completed")
    assert c.session.dialog.promise == {"date": "2026-11-19", "amount": 3500}


def test_owning_the_money_after_a_question_is_an_acknowledgement(call):
    c = call()
    c.say("是我", "这钱里面都包括些什么费用？")
    c.say("那行吧，明细你们回头再发我，这笔钱我是认的")
    assert c.session.dialog.menu == "income_source"


def test_the_first_payment_on_a_day_is_not_read_as_a_month(call):
    # 十号头一笔 = the first payment on the 10th (a regional-word mapping must not make it 十月)
    c = call()
    c.say("是我", "知道", "上班", "六千", "房租", "就这些", "没有", "分两期")
    done = c.say("下个月十号头一笔", "#silence")
    assert done[-1] == Hangup("completed") and c.session.dialog.promise["date"] == "2026-12-10"
