"""Whole calls (round 8 plan area, second pass): words said before the plan question that only look
like a plan; each kind in several wordings written for these tests.

A. How long the money stopped ("三个月没发工资") is a duration, not a count of instalments: the plan
   question is still asked and the caller's own count is the plan.
B. A payment someone else reported made ("我儿子说他给还了") is no plan of the debtor's: the plan
   question is asked and the part payment said there (with its figure) is the plan.
C. A breakdown of the amount asked for at the debt question ("本金利息给我分分") is a question, not a
   part payment: the question is registered, the plan question is asked and "分N期" is the plan.

Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case
from ivr.events import Hangup

CASE = Case(name="钱立伟", amount=9000, days_overdue=44)


@pytest.mark.parametrize(
    "hardship",
    [
        "厂里停工了，仨月没发工资",
        "农闲期一到，两个月都没进项",
        "停工期拖得长，三个月没开张",
        "前阵子四个月没进账，刚缓过来点",
        "去年冬天开始，五个月没活干",
    ],
)
def test_a_months_without_income_are_no_instalment_count(call, hardship: str) -> None:
    c = call(CASE)
    c.say("是我", "知道", "打零工", "三千", "房租", "没了", hardship)
    d = c.session.dialog
    assert d.plan is None, d.plan  # the plan question is asked, not answered from the hardship
    done = c.say("分九期吧", "下个月十二号", "#silence")
    assert done and done[-1] == Hangup("completed"), c.bot_texts[-3:]
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 9, d.plan
    assert d.promise is not None and d.promise["date"] == "2026-12-12", d.promise


@pytest.mark.parametrize(
    "purpose",
    [
        "知道，我儿子说他给还了，谁知道他没还",
        "晓得，我媳妇跟我讲她给还了，原来根本没还",
        "知道啊，家里人说早还了，结果没有",
        "清楚，我老公前几天说他还了",
        "知道，孩子他爸说他还了，结果也没还",
    ],
)
def test_b_a_payment_reported_by_someone_else_is_no_plan(call, purpose: str) -> None:
    c = call(CASE)
    c.say("是我", purpose, "上班的", "四千", "房贷", "没了", "没有")
    d = c.session.dialog
    assert d.plan is None, d.plan
    done = c.say("一下拿不出来，先还两千，剩下的下个月再说", "这周五", "#silence")
    assert done and done[-1] == Hangup("completed"), c.bot_texts[-3:]
    assert d.plan is not None and d.plan["intent"] == "partial", d.plan
    assert d.promise is not None and d.promise["amount"] == 2000 and d.promise["date"] == "2026-11-20", d.promise


@pytest.mark.parametrize(
    "purpose",
    [
        "怎么这么多？本金利息罚息各是多少，你给我分分",
        "九千？这里头本金多少利息多少，给我分一下",
        "这钱里利息和罚息分别是多少啊",
        "你把本金和利息给我分开说说，怎么算出来这么多",
    ],
)
def test_c_a_breakdown_asked_for_is_no_part_payment(call, purpose: str) -> None:
    c = call(CASE)
    c.say("是我", purpose, "行吧，知道了", "开货车", "七千", "房租，车贷", "没了", "没有")
    d = c.session.dialog
    assert d.plan is None, d.plan
    done = c.say("分四期", "这个月三十号", "#silence")
    assert done and done[-1] == Hangup("completed"), c.bot_texts[-3:]
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 4, d.plan
    assert d.promise is not None and d.promise["date"] == "2026-11-30", d.promise
