"""Issue 12 as whole calls (CallSession, script lines as `ivr simulate --text` reads them): caller
questions answered from company data, honesty about being a bot, reduction requests, patience that
adapts (repeat / slower / confused with a note), family members taking over, summaries that lead
with what the agent must act on.  The caller lines are written for these tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ivr.case import Case
from ivr.casebook import read_cases
from ivr.content import TOPICS, ContentBook, ContentError
from ivr.dialog import Dialog
from ivr.events import Say, Transfer
from ivr.session import CallSession
from ivr.summary import build, narrative

from .conftest import NOW, REPO, Call, simulate_json

DEBT_WORDS = ("欠", "逾期", "还款", "三千五", "3500", "贷", "利息", "罚息", "本金")
BREAKDOWN = {"principal": 3000, "interest": 300, "fees": 100, "penalty": 100}


@pytest.fixture
def call12(store, grammars, book, understander):
    def make(case: Case | None = None, content: ContentBook | None = None) -> Call:
        d = Dialog(case or Case(), grammars, book, NOW, understander=understander, seed=0, content=content)
        return Call(CallSession(store, d, transport="text"))

    return make


def _confirmed(c: Call) -> None:
    c.say("是我，张伟")
    assert c.session.dialog.menu == "purpose"


def _no_debt(texts: list[str]) -> None:
    for text in texts:
        assert not any(w in text for w in DEBT_WORDS), text


# ---------------------------------------------------------------- questions (SPEC §1 `question`)


def test_are_you_a_robot_is_answered_truthfully_before_identity(call12):
    c = call12()
    out = c.say("喂，你是机器人吧？")
    text = "".join(a.text for a in out if isinstance(a, Say))
    assert "智能语音助手" in text and "按0" in text  # the truth, and the way to a person
    d = c.session.dialog
    assert d.menu == "opening" and d.identity == "unknown" and "张伟" in out[-1].text  # asked again
    _no_debt(c.bot_texts)
    assert c.session.report()["turns"][0]["slots"] == {"topic": "robot"}
    c.say("哦，是我")
    assert d.identity == "confirmed"


def test_number_source_and_who_before_identity_without_debt_detail(call12):
    c = call12()
    c.say("你们怎么知道我电话的？", "你们官方电话多少，别是假的")
    texts = c.bot_texts
    assert any("留下" in t or "填写" in t for t in texts) and any("400-800-1234" in t for t in texts)
    _no_debt(texts)
    assert c.session.dialog.requests == []


def test_other_topics_wait_for_identity(call12):
    c = call12()
    c.say("会不会上征信？")
    assert any("本人" in t for t in c.bot_texts[-1:])
    _no_debt(c.bot_texts)
    assert c.session.dialog.requests == [] and c.session.dialog.identity == "unknown"


def test_fees_from_the_case_breakdown(call12):
    c = call12(Case(amount=3500, **BREAKDOWN))
    _confirmed(c)
    out = c.say("怎么多出来这么多，都是什么费用？")
    text = "".join(a.text for a in out if isinstance(a, Say))
    assert "三千元" in text and "三百元" in text and "一百元" in text
    # asking what the debt is made of says the caller knows of it: the call goes on (flow questions.implies)
    assert c.session.dialog.requests == [] and c.session.dialog.menu == "income_source"


def test_a_question_without_an_answer_is_noted_for_a_specialist(call12):
    c = call12()  # no fee breakdown in this case
    _confirmed(c)
    c.say("利息是怎么算的，怎么变这么多了？")
    d = c.session.dialog
    assert d.requests and d.requests[0]["kind"] == "question" and "利息" in d.requests[0]["detail"]
    assert d.requests[0]["turn"] == 2 and d.requests[0]["topic"] == "fees"
    assert any("记下来" in t and "专员" in t for t in c.bot_texts)
    assert d.menu == "income_source"  # a fees question says the caller knows of the debt: the call goes on
    assert d.callback is not None and d.callback["about"] == "question"  # the specialist calls back
    report = c.session.report()
    assert report["requests"][0]["kind"] == "question"


def test_a_question_with_an_answer_goes_on(call12):
    c = call12()
    _confirmed(c)
    c.say("知道的，会上征信吗？")
    d = c.session.dialog
    assert d.menu == "income_source"
    assert any("征信" in t for t in c.bot_texts)


def test_how_to_pay_at_the_plan_then_the_plan_by_key(call12):
    c = call12()
    _confirmed(c)
    c.say("知道", "#dtmf 1", "#dtmf 5000#", "#dtmf 1", "#dtmf #", "#dtmf 5")
    assert c.session.dialog.menu == "plan"
    c.say("我要还的话在哪里还？")
    assert any("APP" in t for t in c.bot_texts[-3:]) and c.session.dialog.menu == "plan"
    c.say("#dtmf 1", "#dtmf 1125#")
    assert c.session.dialog.promise == {"date": "2026-11-25", "amount": 3500}


def test_company_content_and_policy_validation(tmp_path: Path):
    (tmp_path / "company.yaml").write_text("default:\n  answers:\n    weather: ['晴', '雨']\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"company.yaml: field default.answers.weather: unknown topic"):
        ContentBook.load(tmp_path)
    (tmp_path / "company.yaml").write_text("default:\n  answers:\n    robot: ['只有一句']\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"field default.answers.robot: expected at least 2 variants"):
        ContentBook.load(tmp_path)
    (tmp_path / "company.yaml").write_text("default:\n  policy:\n    max_installments: zero\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"field default.policy.max_installments"):
        ContentBook.load(tmp_path)


def test_company_answers_are_linted_and_varied():
    forbidden = [
        w.strip()
        for w in (REPO / "audio_prompts" / "forbidden.txt").read_text(encoding="utf-8").splitlines()
        if w.strip() and not w.startswith("#")
    ]
    content = ContentBook.load(REPO / "audio_prompts")
    texts = content.texts()
    assert texts and [(w, t) for w, _, t in texts for f in forbidden if f in t] == []
    per_field = Counter(w for w, _, _ in texts)
    assert min(per_field.values()) >= 2
    assert set(TOPICS) - {"other"} <= {w.rsplit(".", 1)[1] for w in per_field if ".answers." in w}


def test_new_prompts_have_two_variants_and_the_opening_claims_no_human(book):
    new = [p for p in book.prompts if p.startswith(("question.", "reduction.", "slower.")) or p.endswith(".slow")]
    assert len(new) > 10 and all(len(book.spec(p).variants) >= 2 for p in new)
    for pid in ("opening.ask_identity", "opening.who_we_are", "opening.explain"):
        for text in book.spec(pid).variants:
            assert "专员" not in text and "工作人员" not in text, text


# ---------------------------------------------------------------- reductions


def _to_plan(c: Call) -> None:
    _confirmed(c)
    c.say("知道", "上班拿工资", "五千", "房租", "没有了", "没有")
    assert c.session.dialog.menu == "plan"


def test_reduction_is_registered_for_a_person_and_the_call_goes_on(call12):
    c = call12()
    _to_plan(c)
    c.say("利息能不能给我免掉一些？")
    d = c.session.dialog
    assert [r["kind"] for r in d.requests] == ["reduction"] and d.requests[0]["decision"] == "human"
    assert d.callback is not None and d.callback["for"] == "debtor" and d.menu == "plan"
    assert any("专员" in t for t in c.bot_texts) and any("12期" in t for t in c.bot_texts)
    c.say("那先分六期", "下周五", "#silence")
    assert d.finished and d.outcome == "completed" and d.plan["months"] == 6
    report = c.session.report()
    assert report["requests"][0]["kind"] == "reduction" and report["callback"] is not None
    assert report["narrative"].startswith("待办：减免申请")


def test_reduction_with_a_plan_in_the_same_answer(call12):
    c = call12()
    _to_plan(c)
    c.say("罚息能不能抹掉？我分三期还")
    d = c.session.dialog
    assert d.requests[0]["kind"] == "reduction" and d.menu == "promise" and d.plan["months"] == 3


def test_waiting_for_the_specialist_promises_nothing(call12):
    c = call12()
    _to_plan(c)
    c.say("能不能停息挂账？", "今天定不了，等你们回话")
    d = c.session.dialog
    assert d.finished and d.outcome == "completed" and d.result == "reduction_pending"
    assert d.promise is None and d.requests[0]["kind"] == "reduction"


def test_reduction_before_identity_discloses_nothing(call12):
    c = call12()
    c.say("能不能少还点利息")
    assert c.session.dialog.requests == [] and c.session.dialog.menu == "opening"
    _no_debt(c.bot_texts)


def test_policy_can_let_the_bot_offer(call12, tmp_path: Path):
    text = (REPO / "audio_prompts" / "company.yaml").read_text(encoding="utf-8")
    text = text.replace("reduction_without_person: false", "reduction_without_person: true")
    text = text.replace("max_installments: 12", "max_installments: 6")
    (tmp_path / "company.yaml").write_text(text, encoding="utf-8")
    c = call12(content=ContentBook.load(tmp_path))
    _to_plan(c)
    c.say("能不能减免一点罚息")
    d = c.session.dialog
    assert d.requests[0]["decision"] == "offered" and any("减免部分罚息" in t for t in c.bot_texts)
    assert any("6期" in t for t in c.bot_texts)
    c.say("分十期")  # beyond the company's policy: the most it allows is named
    assert any("最多可以分6期" in t or "最长是6期" in t for t in c.bot_texts[-1:])


# ---------------------------------------------------------------- patience


def test_slower_switches_the_rest_of_the_call(call12):
    c = call12()
    out = c.say("你说慢点，我耳朵背")
    d = c.session.dialog
    assert d.slow and out[-1].rate <= 0.8 and d.menu == "opening"
    out = c.say("是我")
    assert out[-1].prompt_id == "purpose.ask.slow" and out[-1].rate <= 0.8
    out = c.say("#dtmf 1")  # keys still work, at the slow pace
    assert out[-1].prompt_id == "income_source.ask.slow"


def test_repeat_replays_then_the_second_repeat_slows_down(call12):
    c = call12()
    _confirmed(c)
    asked = c.heard[-1]
    out = c.say("再说一遍")
    assert out[-1].text == asked.text and not c.session.dialog.slow
    out = c.say("#dtmf *")
    assert c.session.dialog.slow and out[-1].prompt_id == "purpose.ask.slow"


def test_three_failures_hand_over_confused_with_a_note(call12):
    c = call12()
    _confirmed(c)
    out = c.say("再说一遍", "#silence", "说慢点")
    assert isinstance(out[-1], Transfer) and out[-1].reason == "confused"
    trig = c.session.dialog.trigger
    assert trig is not None and "告知欠款" in trig.note and "客户请求重复1次" in trig.note
    assert "没有听到回答1次" in trig.note and "客户请求说慢些1次" in trig.note
    summary = build(c.session.dialog)
    assert summary["trigger"]["note"] == trig.note and trig.note in narrative(c.session.dialog)


def test_nomatch_is_the_bots_failure_not_the_callers(call12):
    c = call12()
    _confirmed(c)
    c.say("嗯嗯嗯那个那个", "呃这个", "呃那个")
    note = c.session.dialog.trigger.note
    assert "系统未能识别回答" in note and "客户" not in note.split("：", 1)[1]


def test_no_sentence_said_more_than_twice_verbatim(call12):
    c = call12()
    _confirmed(c)
    c.say("知道", "#silence", "#silence")  # income_source: two misses
    c.say("#dtmf 1", "#dtmf *", "#dtmf *", "#dtmf 3000#")  # repeats at the amount
    said = Counter(t for t in c.bot_texts)
    assert max(said.values()) <= 2, said.most_common(3)


def test_family_member_taking_over_is_a_third_party(call12):
    c = call12()
    c.say("他不在，你跟我说就行")
    d = c.session.dialog
    assert d.identity == "third_party" and not d.finished
    _no_debt(c.bot_texts)
    c.say("晚上七点以后吧")
    assert d.callback is not None and d.callback["for"] == "third_party"
    _no_debt(c.bot_texts)


# ---------------------------------------------------------------- summary and data


def test_summary_leads_with_what_the_agent_must_act_on(call12):
    c = call12()
    _to_plan(c)
    c.say("利息怎么算的？", "能不能少还点", "转人工")
    d = c.session.dialog
    s = build(d)
    assert list(s)[:5] == ["todo", "requests", "questions_unanswered", "callback", "contact_preference"]
    assert s["todo"][0].startswith("减免申请") and s["todo"][1].startswith("待答问题")
    text = narrative(d)
    assert text.startswith("待办：减免申请") and text.index("待答问题") < text.index("客户已确认本人")


def test_case_book_reads_the_fee_breakdown(tmp_path: Path):
    book = tmp_path / "cases.csv"
    book.write_text(
        "case_id,name,amount,days_overdue,company,phone,principal,interest,fees,penalty\n"
        "c1,王芳,4800,45,安信消费金融,400-800-1234,4000,500,100,200\n",
        encoding="utf-8",
    )
    cases, errors = read_cases(book)
    assert errors == [] and cases[0].breakdown() == {"principal": 4000, "interest": 500, "fees": 100, "penalty": 200}
    assert Case().breakdown() is None and "principal" not in Case().as_dict()


def test_simulate_json_carries_requests(tmp_path: Path):
    out = simulate_json(tmp_path, "你是机器人吗", "是我", "知道，利息怎么算的？", "#hangup")
    assert out["turns"][0]["intent"] == "question" and out["turns"][0]["slots"] == {"topic": "robot"}
    assert [r["kind"] for r in out["requests"]] == ["question"] and out["requests"][0]["turn"] == 3
