"""Whole calls through CallSession with the real understander, prompts, flow and a SQLite file."""

from __future__ import annotations

import sqlite3

import pytest

from ivr.case import Case
from ivr.dialog import Slot
from ivr.events import Hangup, Say, Speech, Transfer, Understanding

DEBT_WORDS = ("欠款", "逾期", "还款", "账户", "三千五百", "3500", "30天")


def _transfer(actions) -> Transfer:
    found = [a for a in actions if isinstance(a, Transfer)]
    assert len(found) == 1, actions
    return found[0]


def _db_row(store, sql: str, *args):
    """Read through a separate sqlite3 connection: only committed data is visible there."""
    path = store.url.split("///", 1)[1]
    with sqlite3.connect(path) as con:
        return con.execute(sql, args).fetchone()


def test_happy_path_promise_is_stored(call, store):
    c = call()
    c.say(
        "是我",
        "知道的",
        "我现在跑外卖，算兼职",
        "一个月大概三千块",
        "房租，还有看病吃药",
        "没有了",
        "上个月刚失业了",
        "分六期吧",
    )
    last = c.say("下周五", "#silence")
    assert isinstance(last[-1], Hangup) and last[-1].outcome == "completed"
    d = c.session.dialog
    assert d.finished and d.outcome == "completed" and d.identity == "confirmed"
    assert d.promise == {"date": "2026-11-27", "amount": 584}  # next Friday from Wed 2026-11-18; 3500/6
    closing = last[0].text
    assert "11月27日" in closing and "五百八十四元" in closing and "分6期" in closing and "录音" in closing
    # job loss + part-time income → the plan prompt leads with instalments
    assert any(a.prompt_id == "plan.ask_hardship" for a in c.heard if isinstance(a, Say))
    c.session.end()
    row = store.get_call(c.session.call_id)
    assert (row.outcome, row.identity, row.promise_date, row.promise_amount) == (
        "completed",
        "confirmed",
        "2026-11-27",
        584,
    )
    assert row.slots["income_source"]["value"] == "part_time" and row.slots["income_amount"]["value"] == 3000
    assert row.slots["expenses"]["value"] == ["rent", "medical"] and row.slots["plan"]["turn"] == 8
    turns = store.call_turns(c.session.call_id)
    assert [t.menu for t in turns] == [
        "opening",
        "purpose",
        "income_source",
        "income_amount",
        "expenses",
        "expenses",
        "unusual_expense",
        "plan",
        "promise",
        "closing",  # silence at "anything else?": a polite goodbye
    ]
    assert turns[3].slots == {"amount": 3000} and turns[0].bot_text.startswith(("感谢", "谢谢"))
    report = c.session.report()
    assert report["outcome"] == "completed" and report["escalation"] is None
    assert report["promise"] == {"date": "2026-11-27", "amount": 584}
    assert {"menu", "caller", "intent", "slots", "bot"} <= set(report["turns"][0])


def test_identity_is_confirmed_before_the_debt_is_mentioned(call):
    c = call()
    assert not any(w in c.bot_texts[0] for w in DEBT_WORDS)
    c.say("是我")
    assert "三千五百元" in c.bot_texts[-1] and "30天" in c.bot_texts[-1]


@pytest.mark.parametrize(
    ("lines", "identity", "result"),
    [
        (["你打错了，我不认识这个人"], "denied", "wrong_person"),
        (["#dtmf 2"], "denied", "wrong_person"),
        (["你是谁啊", "不是我"], "denied", "wrong_person"),
        (["我是他老婆，他不在家", "我让他给你们回电话"], "third_party", "third_party_callback"),
        (["#dtmf 3", "不知道", "说不准", "不知道"], "third_party", "third_party_callback"),
    ],
)
def test_wrong_person_and_third_party_hear_nothing_about_the_debt(call, lines, identity, result):
    c = call()
    c.say(*lines)
    d = c.session.dialog
    assert (d.identity, d.outcome, d.result) == (identity, "completed", result)
    for text in c.bot_texts:
        assert not any(w in text for w in DEBT_WORDS), text
    if identity == "third_party":  # callback offered with the company number
        assert "400-800-1234" in c.bot_texts[-1] and "张伟" in c.bot_texts[-1]


def test_ask_who_introduces_the_company_and_asks_again(call):
    c = call()
    out = c.say("你是谁啊")
    assert out[0].prompt_id == "opening.who_we_are" and out[0].menu == "opening"
    assert "安信消费金融" in out[0].text and not any(w in out[0].text for w in DEBT_WORDS)


def test_busy_gets_a_callback_and_a_polite_end(call):
    c = call()
    out = c.say("我在开车，不方便")  # no time said: the bot asks for one (SPEC v2 callback)
    assert out[0].prompt_id == "callback.ask" and not c.session.dialog.finished
    out = c.say("不好说")
    out = c.say("不好说")
    out = c.say("不好说")  # still none: tomorrow at this time
    assert out[-1] == Hangup("completed") and "明天" in out[0].text
    d = c.session.dialog
    assert d.result == "callback" and d.callback["at"] == "2026-11-19T10:30"


@pytest.mark.parametrize(("line", "ack"), [("这钱不是我借的", "dispute.ack"), ("我上周已经还过了", "already_paid.ack")])
def test_dispute_and_already_paid_escalate_as_dispute(call, store, line, ack):
    c = call()
    c.say("是我")
    out = c.say(line)
    assert [a.prompt_id for a in out if isinstance(a, Say)] == [ack, "transfer.notice"]
    t = _transfer(out)
    assert t.reason == "dispute" and t.escalation_id is not None


def test_wrong_person_after_the_debt_was_mentioned_is_a_dispute(call):
    c = call()
    c.say("是的")
    t = _transfer(c.say("我不是他本人，你们找错人了"))
    assert t.reason == "dispute" and c.session.dialog.identity == "denied"


def test_escalation_is_committed_before_the_transfer_is_returned(call, store):
    c = call()
    c.say("是我", "知道", "兼职")
    out = c.say("转人工")
    t = _transfer(out)
    assert t.reason == "requested"
    row = _db_row(
        store,
        "select reason, priority, trigger_turn, trigger_text, narrative, status from escalations where id=?",
        t.escalation_id,
    )
    assert row is not None, "escalation must be durable before the Transfer reaches the transport"
    reason, priority, turn, text, narrative, status = row
    assert (reason, priority, turn, text, status) == ("requested", 4, 4, "转人工", "waiting")
    assert (
        narrative.startswith("客户已确认本人；主要收入：兼职")
        and "第4轮客户要求人工服务（“转人工”），转人工。" in narrative
    )
    esc = store.list_escalations()[0]
    summary = esc.summary
    assert summary["identity"] == "confirmed" and summary["trigger"] == {
        "reason": "requested",
        "turn": 4,
        "text": "转人工",
    }
    assert summary["slots"]["income_source"] == {
        "value": "part_time",
        "confidence": pytest.approx(summary["slots"]["income_source"]["confidence"]),
        "turn": 3,
    }
    assert [e["turn"] for e in summary["emotion_timeline"]] == [1, 2, 3, 4]
    assert summary["transcript"][0]["speaker"] == "bot" and summary["transcript"][-2]["text"] == "转人工"
    assert summary["transcript"][-1]["text"] == out[-2].text  # the transfer notice the caller heard
    assert "recording" in summary and summary["recording"] is None
    assert out[-2].prompt_id == "transfer.notice"


def test_human_by_key_zero(call, store):
    c = call()
    t = _transfer(c.say("#dtmf 0"))
    assert t.reason == "requested"
    # in a digit-collecting menu, a lone 0 still means a human
    c2 = call()
    c2.say("#dtmf 1", "#dtmf 1", "#dtmf 1")
    assert c2.session.dialog.menu == "income_amount"
    assert c2.say("#dtmf 0") == []  # collecting until '#' or the inter-digit timeout
    t2 = _transfer(c2.say("#silence"))
    assert t2.reason == "requested"


def test_angry_caller_is_soothed_first_then_escalated(call, store):
    c = call()
    c.say("是我")
    first = c.say("你们好烦啊")
    assert first[0].prompt_id == "soothe" and not any(isinstance(a, Transfer) for a in first)
    assert first[-1].menu == "purpose"  # and the question is asked again
    second = c.say("怎么又打来了")
    assert second[0].prompt_id == "soothe" and second[0].text != first[0].text
    assert _transfer(second).reason == "emotional"
    esc = store.list_escalations()[0]
    assert "第3轮情绪激动（“怎么又打来了”）" in esc.narrative
    assert [e["turn"] for e in esc.summary["emotion_timeline"] if e["score"] >= 0.4] == [2, 3]


def test_raised_voice_counts_with_the_words(new_dialog):
    d = new_dialog()
    d.start()
    d.handle(Speech("是我"))
    out = d.handle(Speech("知道", acoustic_emotion=0.6))  # calm words, loud voice: soothe, go on
    assert out[0].prompt_id == "soothe" and out[-1].menu == "income_source"
    assert d.emotion_timeline[-1]["acoustic"] == 0.6 and d.emotion_timeline[-1]["score"] >= 0.6


@pytest.mark.parametrize("line", ["别再打了，烦死了", "滚"])
def test_stop_calling_and_abuse_escalate_at_once(call, line):
    c = call()
    c.say("是我")
    assert _transfer(c.say(line)).reason == "emotional"


def test_distress_is_immediate_and_highest_priority(call, store):
    c = call()
    c.say("是我")
    out = c.say("我真的活不下去了")
    assert out[0].prompt_id == "distress.care" and "12356" in out[0].text
    t = _transfer(out)
    assert t.reason == "distress"
    row = _db_row(store, "select priority from escalations where id=?", t.escalation_id)
    assert row == (0,)


def test_complaint_escalates_as_complaint(call):
    c = call()
    assert _transfer(c.say("我要投诉你们")).reason == "complaint"


def _retry_ids(actions):
    return [a.prompt_id for a in actions if isinstance(a, Say)]


def test_three_no_inputs_escalate_confused(call, store):
    c = call()
    c.say("是我")
    first, second = c.say("#silence"), c.say("#silence")
    assert _retry_ids(first) == ["purpose.retry1"] and first[0].rate == 1.0
    assert _retry_ids(second) == ["purpose.retry2"] and second[0].rate < 1.0 and "按0" in second[0].text
    third = c.say("#silence")
    assert _transfer(third).reason == "confused"
    assert store.list_escalations()[0].trigger_turn == 4


def test_three_no_matches_escalate_confused(call):
    # at a question the call needs (the plan); optional facts are given up on instead (test_dialog_free_answers)
    c = call()
    c.say("是我", "知道", "上班", "五千", "房租", "没有了", "没有")
    assert c.session.dialog.menu == "plan"
    assert _retry_ids(c.say("今天天气不错")) == ["plan.retry1"]
    assert _retry_ids(c.say("#dtmf 7")) == ["plan.retry2"]
    assert _transfer(c.say("蓝色的")).reason == "confused"


def test_confused_gets_an_explanation_and_repeat_replays_and_counts(call):
    # issue 12: a request to repeat replays the question and counts toward the confusion limit
    c = call()
    c.say("是我", "知道")
    asked = c.heard[-1]
    assert _retry_ids(c.say("什么意思")) == ["income_source.explain"]
    again = c.say("#dtmf *")
    assert again == [c.heard[-1]] and again[0].menu == "income_source"
    assert c.session.dialog._misses == {"income_source": 2}
    assert asked.menu == "income_source"
    c.say("兼职")
    assert c.session.dialog.menu == "income_amount"


def test_misses_are_counted_per_menu(call):
    c = call()
    c.say("#silence", "#silence", "是我", "#silence", "#silence")
    assert c.session.dialog.finished is False and c.session.dialog.menu == "purpose"


def test_no_date_gets_a_proposal_that_the_caller_accepts(call):
    c = call()
    c.say("是我", "知道", "打零工", "不知道", "房租", "没有了", "没有", "先延期吧")
    proposal = c.say("说不准")
    assert proposal[0].prompt_id == "promise.propose" and "11月25日" in proposal[0].text  # +7 days
    done = c.say("可以", "#silence")
    assert done[-1] == Hangup("completed")
    assert c.session.dialog.promise == {"date": "2026-11-25", "amount": 3500}


def test_cannot_pay_gets_a_gentler_offer_then_a_hardship_callback(call):
    c = call()
    c.say("是我", "知道", "没有收入", "房租", "#dtmf #", "没有")
    second = c.say("我真的还不起")
    assert "plan.second_offer" in _retry_ids(second) and c.session.dialog.menu == "plan"
    end = c.say("还是还不起")
    assert end[-1] == Hangup("completed") and c.session.dialog.result == "hardship"


def test_empathy_and_soothing_lines_never_repeat_in_one_call(new_dialog):
    for seed in range(8):
        d = new_dialog(seed=seed)
        said = [a for a in d.start() if isinstance(a, Say)]
        for line in [
            "是我",
            "你们好烦啊",
            "知道",
            "没有收入",
            "房租",
            "就这些",
            "上个月失业了",
            "还不起",
            "分三期",
            "下周五",
        ]:
            said += [a for a in d.handle(Speech(line)) if isinstance(a, Say)]
        feelings = [a.text for a in said if a.prompt_id in ("empathy", "soothe")]
        assert len(feelings) >= 4 and len(feelings) == len(set(feelings)), feelings


def test_exhausted_empathy_is_skipped_not_repeated(new_dialog):
    d = new_dialog()
    n = len(d.prompts.spec("empathy").variants)
    texts = [a.text for _ in range(n + 2) for a in d._say("empathy")]
    assert len(texts) == n == len(set(texts))


def test_caller_hangup_mid_call_is_recorded(call, store):
    c = call()
    c.say("是我", "#hangup")
    c.session.end()
    row = store.get_call(c.session.call_id)
    assert (row.outcome, row.status, row.last_menu) == ("hangup", "ended", "purpose")
    assert row.ended_at is not None and row.duration_s >= 0


def test_failed_transfer_apologises_offers_a_callback_and_hangs_up(call, store):
    c = call()
    t = _transfer(c.say("人工客服"))
    out = c.session.transfer_result(False, "486 Busy Here")
    assert out[0].prompt_id == "transfer.failed" and "400-800-1234" in out[0].text and out[-1] == Hangup("escalated")
    esc = store.list_escalations()[0]
    assert (esc.id, esc.transfer_status, esc.transfer_detail) == (t.escalation_id, "failed", "486 Busy Here")
    c.session.transfer_result(True)
    assert store.list_escalations()[0].transfer_status == "accepted"


def test_bad_input_in_one_call_does_not_disturb_another(call, store):
    a, b = call(), call(case=Case(name="王芳", amount=1200))
    a.say("#dtmf 7", "???")
    b.say("是我")
    assert "一千二百元" in b.bot_texts[-1] and "王芳" in b.bot_texts[-1]
    assert store.get_call(a.session.call_id).turn_count == 2 and a.session.dialog.menu == "opening"


def test_timing_is_stored_per_turn(call, store):
    c = call()
    c.session.handle(Speech("是我"), timing={"latency_ms": 420.0})
    c.session.handle(Speech("知道"), timing={"latency_ms": 380.0})
    assert store.call_turns(c.session.call_id)[0].timing == {"latency_ms": 420.0}
    assert store.get_call(c.session.call_id).avg_turn_latency_ms == pytest.approx(400.0)
    assert c.session.report()["turns"][1]["timing"] == {"latency_ms": 380.0}


def test_late_timing_is_merged_into_the_stored_turn_and_the_report(call, store):
    """The call engine learns first_audio_s / latency_ms only once the reply went out."""
    c = call()
    c.session.handle(Speech("是我"), timing={"turn": 1, "end_of_speech_s": 1.5})
    assert c.session.turn_count == 1 and c.session.menu == c.session.dialog.menu
    c.session.update_timing(1, {"turn": 1, "first_audio_s": 2.1, "latency_ms": 600})
    c.session.update_timing(7, {"turn": 7, "latency_ms": 1})  # no such stored turn: the report only
    want = {"turn": 1, "end_of_speech_s": 1.5, "first_audio_s": 2.1, "latency_ms": 600}
    assert store.call_turns(c.session.call_id)[0].timing == want
    assert c.session.report()["turns"][0]["timing"] == want


def test_a_promise_date_too_far_ahead_is_asked_again(call):
    c = call()
    c.say("是我", "知道", "工资", "五千", "房租", "#dtmf 5", "没有", "一次还清")
    out = c.say("#dtmf 0401#")  # MMDD 04-01: next April is nearer than last April, and > 90 days
    assert out[0].prompt_id == "promise.too_far" and c.session.dialog.menu == "promise"
    assert c.session.dialog._misses == {}
    c.say("#dtmf 12*")  # '*' repeats and restarts the digits
    assert c.heard[-1].menu == "promise"
    c.say("#dtmf 1205#")
    assert c.session.dialog.promise == {"date": "2026-12-05", "amount": 3500}


def test_expenses_are_asked_step_by_step_and_add_up(call):
    c = call()
    c.say("是我", "知道", "工资", "五千")
    more = c.say("房租")
    assert more[0].prompt_id == "expenses.more" and c.session.dialog.menu == "expenses"
    c.say("还有孩子上学")
    assert c.session.dialog.slots["expenses"].value == ["rent", "education"]
    assert c.session.dialog.menu == "unusual_expense"
    c2 = call()
    c2.say("是我", "知道", "工资", "五千", "#dtmf 9", "#silence")  # silence after "还有别的吗": nothing more
    assert c2.session.dialog.menu == "unusual_expense" and c2.session.dialog._misses == {}
    assert c2.session.dialog.slots["expenses"].value == ["other_debt"]


def test_a_shaky_recognition_is_asked_again_not_believed(new_dialog):
    d = new_dialog()
    d.start()
    out = d.handle(Speech("是我", asr_confidence=0.2))
    assert d.identity == "unknown" and out[0].prompt_id == "opening.retry1"
    assert not any(w in out[0].text for w in DEBT_WORDS)
    d.handle(Speech("是我", asr_confidence=0.9))
    assert d.identity == "confirmed"
    d.handle(Speech("知道"))
    d.handle(Speech("兼职", asr_confidence=0.8))
    assert d.slots["income_source"].confidence == pytest.approx(0.8 * d.turns[-1].confidence, rel=0.01)
    # distress is never dropped for low ASR confidence
    assert any(
        isinstance(a, Transfer) and a.reason == "distress" for a in d.handle(Speech("不想活了", asr_confidence=0.1))
    )


def test_an_unreadable_date_slot_is_a_miss_not_a_crash(new_dialog):
    class Garbled:
        """Stands in for a faulty understander: a date slot that is not an ISO date."""

        def understand(self, menu, text, now=None):
            return Understanding(menu=menu, intent="date", slots={"date": "下周五"}, confidence=0.9)

    d = new_dialog()
    d.understander = Garbled()
    d.menu = "promise"
    d.slots["plan"] = Slot("full", 1.0, 1)
    out = d.handle(Speech("下周五"))
    assert d.menu == "promise" and not d.finished and out[0].menu == "promise"
