"""Held-out whole calls for round-8 kinds of identity, third parties and contact preferences
(sentences written for these tests, not taken from any corpus):

- a caller who first asks back whom we want ("找谁？X？") and then names themself (是我 / 我就是 /
  我是X) confirms: the self-identification after the question wins, while a bare question or a
  backchannel never confirms and "不是我" after it still denies;
- someone who says the debtor works for them ("她是我店里的工人") is a third party: nothing disclosed.
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case

from .conftest import no_debt

CASE = Case(name="韦志强", amount=3500, days_overdue=33)


# ---------------------------------------------------------------- a question back, then "that's me"
@pytest.mark.parametrize(
    "said",
    [
        "不是送快递的？那你找哪个？韦志强？我就是嘛",
        "哦不是修车的啊，你找谁来着，韦志强？是我，我就是韦志强",
        "啥？找韦志强？我是韦志强，有事说",
        "不是我儿子打来的啊……韦志强？对，是我本人",
        "你要找哪位，韦志强是吧？我就是，讲",
    ],
)
def test_a_self_identification_after_asking_back_confirms(call, said: str) -> None:
    c = call(CASE)
    c.say(said)
    assert c.session.dialog.identity == "confirmed", said
    assert c.session.dialog.outcome is None, said


@pytest.mark.parametrize(
    "said",
    [
        "找谁？韦志强？",
        "韦志强？不是我，你打错了",
        "是我？不是，我不认识这个人",
        "嗯？",
        "你找韦志强？他不在",
    ],
)
def test_a_bare_question_or_a_denial_after_it_never_confirms(call, said: str) -> None:
    c = call(CASE)
    c.say(said)
    assert c.session.dialog.identity != "confirmed", said
    no_debt_words(c)


def no_debt_words(c) -> None:
    for text in c.bot_texts:
        assert "欠" not in text and "逾期" not in text and "三千五" not in text, text


# ---------------------------------------------------------------- the debtor works for the speaker
@pytest.mark.parametrize(
    "said",
    [
        "韦志强？他是我厂里的工人，今天请假了，他欠你们钱啊？我从他工资里扣",
        "找韦志强啊，他是我们工地上的小工，有啥事跟我说，我是他老板",
        "韦志强是我店里的伙计，在送货呢，你有啥事",
        "他是我雇的司机，人不在，欠多少我先给他垫上",
        "韦志强？他是我车队的司机，这会儿正忙着，欠你们多少我从他工钱里扣",
        "志强啊，他是我们饭店的厨师，在后厨忙，你有事跟我讲",
    ],
)
def test_an_employer_is_a_third_party_and_hears_nothing(call, said: str) -> None:
    c = call(Case(name="韦志强"))
    c.say(said)
    assert c.session.dialog.identity != "confirmed", said
    assert c.session.dialog.identity == "third_party", said
    no_debt(c)


# ---------------------------------------------------------------- a preference whose last clause is a bare "别打"
ANSWERS = ("在超市上班", "四千多", "房租", "没了", "没有")


def _goes_on_to_the_plan(c, said: str) -> None:
    d = c.session.dialog
    assert d.contact_preference is not None, said
    assert d.outcome is None and d.callback is None, (said, d.outcome, d.callback)
    for line in ANSWERS:
        if d.menu == "plan" or d.outcome is not None:
            break
        c.say(line)
    assert d.menu == "plan", (said, d.menu)


@pytest.mark.parametrize(
    "said",
    [
        "晓得。跟你说个事，上班时间老板不准看手机，你们以后下午六点后打，上班时间莫打",
        "清楚的。我白天在工地上，你们晚上八点前后打过来，白天别打了",
        "知道嘞。我在流水线上接不了电话，以后吃完晚饭再打，中午不要打",
        "知道。麻烦以后周末再联系，工作日别打",
        "嗯知道的，我说一下，我在学校上课，以后放学后打，上课时间别打",
    ],
)
def test_an_answer_and_a_preference_ending_with_a_bare_dont_call_goes_on(call, said: str) -> None:
    c = call(CASE)
    c.say("是我", said)
    _goes_on_to_the_plan(c, said)


@pytest.mark.parametrize(
    "said",
    [
        "我就是韦志强。跟你说下，这个是公司前台的座机，以后别打这个，打我手机",
        "是我本人。你们以后别打这个号了，这是我们店的固定电话，伙计接到不好",
        "我是韦志强，这个号码是厂里办公室的，以后别往这打了，直接打我自己手机",
        "对，我就是。这是门市部的电话，别再打这个了，有事打我的手机",
    ],
)
def test_the_debtor_asking_for_the_mobile_not_the_shop_line_is_confirmed_and_goes_on(call, said: str) -> None:
    c = call(CASE)
    c.say(said)
    assert c.session.dialog.identity == "confirmed", said
    c.say("知道")
    _goes_on_to_the_plan(c, said)


# ---------------------------------------------------------------- "call me at …" after identity, at a later menu
@pytest.mark.parametrize(
    ("said", "at"),
    [
        ("知道，我在开叉车，太吵了，等我五点半收工后再说", "2026-11-18T17:30"),
        ("晓得，在灶台边上听不清，忙完后再说吧，晚上八点我有空", "2026-11-18T20:00"),
        ("知道的，我现在在开会，下午四点你打我吧", "2026-11-18T16:00"),
        ("清楚，这会儿在医院排队，明天上午九点您打我", "2026-11-19T09:00"),
    ],
)
def test_a_time_to_be_called_at_the_debt_question_is_a_callback(call, said: str, at: str) -> None:
    c = call(CASE)
    c.say("是我", said)
    d = c.session.dialog
    assert d.identity == "confirmed", said
    assert d.callback is not None and d.callback["at"] == at, (said, d.callback)


@pytest.mark.parametrize(
    "said",
    [
        "哪天还我现在定不了，要等厂里发工资表，下周二上午十点你打我，我再告诉你",
        "具体日子得看老板哪天结账，礼拜五下午三点你打我吧",
    ],
)
def test_a_day_that_depends_on_something_with_a_time_to_call_is_a_callback_not_a_promise(call, said: str) -> None:
    c = call(CASE)
    c.say("是我", "知道", *ANSWERS[:4], "分三期吧")
    if c.session.dialog.menu != "promise":
        c.say("没有")
    assert c.session.dialog.menu == "promise", c.bot_texts[-1]
    c.say(said)
    d = c.session.dialog
    assert d.callback is not None, (said, d.callback)
    assert "promise_date" not in d.slots, (said, d.slots.get("promise_date"))
