"""Realistic console records (calls, turns, escalations) for the console's benchmark, its tests and
demos: calls that walk the SPEC.md §1 flow, stop or escalate part-way, some with promises.

`populate(store, n_calls)` bulk-inserts through SQLAlchemy Core (10,000 calls take a few seconds);
`make_call(store, ...)` writes one call the way a session does, through `Store`.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from sqlalchemy import insert

from ivr.flow import bundled_flow
from ivr.store import Call, Escalation, Store, Turn, utcnow

# Sample answers per menu of the bundled flow.yaml, in the order a call walks them.
ANSWERS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "opening": [("是我，什么事？", "confirm", {})],
    "purpose": [("知道，最近手头紧。", "ack", {})],
    "income_source": [
        ("在工厂上班，每月发工资。", "salary", {}),
        ("做点兼职。", "part_time", {}),
        ("现在没工作。", "none", {}),
    ],
    "income_amount": [("大概三千块。", "amount", {"amount": 3000}), ("五千左右。", "amount", {"amount": 5000})],
    "expenses": [
        ("房租和孩子上学。", "expenses", {"categories": ["rent", "education"]}),
        ("看病花了不少。", "expenses", {"categories": ["medical", "food"]}),
    ],
    "unusual_expense": [("没有。", "none", {}), ("前阵子住院了。", "medical_emergency", {})],
    "plan": [("分三期吧。", "installment", {"months": 3}), ("能不能延期一个月。", "extension", {})],
    "promise": [("下周五还。", "date", {}), ("月底前还两千。", "date", {"amount": 2000})],
    "closing": [("好的，谢谢。", "ack", {})],
}
FLOW = list(ANSWERS)
BOT = {
    "opening": "您好，这里是信用卡中心，本通话将被录音。请问是{name}本人吗？",
    "purpose": "您的账单已逾期{days}天，欠款{amount}元，请问您知道吗？",
    "income_source": "您目前主要的收入来源是？",
    "income_amount": "您每月收入大概多少？",
    "expenses": "您每月主要支出有哪些？",
    "unusual_expense": "最近有没有遇到意外支出或损失？",
    "plan": "我们可以为您安排全额、分期或延期还款，您倾向哪一种？",
    "promise": "您看哪天能还？",
    "closing": "好的，已为您登记，感谢您的配合，再见。",
}
TRIGGERS = {
    "distress": ("我真的活不下去了。", 0.95),
    "emotional": ("别再打了！烦死了！", 0.88),
    "complaint": ("我要投诉你们。", 0.7),
    "dispute": ("这笔钱我早就还了。", 0.4),
    "requested": ("转人工。", 0.2),
    "confused": ("听不懂你在说什么。", 0.3),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "建华",
    "志强",
]


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def synth_call(
    rng: random.Random, started: dt.datetime, force_reason: str | None = None
) -> tuple[dict, list[dict], dict | None]:
    """One call's rows: (call, turns, escalation or None)."""
    call_id = uuid.uuid4().hex
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    # where the call stops: ~55% completed, ~25% escalated, ~20% hang up
    roll = rng.random()
    reason = force_reason or (rng.choices(list(TRIGGERS), weights=[3, 10, 4, 6, 8, 6])[0] if roll < 0.25 else None)
    last = len(FLOW) - 1 if (reason is None and roll < 0.80) else rng.randrange(1, len(FLOW) - 1)
    outcome = "escalated" if reason else ("completed" if last == len(FLOW) - 1 else "hangup")
    turns: list[dict[str, Any]]
    turns, emotion, t = [], [], started
    slots: dict[str, Any] = {}
    for i, menu in enumerate(FLOW[: last + 1], start=1):
        text, intent, tslots = rng.choice(ANSWERS[menu])
        score = round(rng.uniform(0.05, 0.35), 2)
        if reason and i == last + 1:
            text, score = TRIGGERS[reason]
            intent = {
                "distress": "distress",
                "emotional": "stop_calling",
                "complaint": "complaint",
                "dispute": "already_paid",
                "requested": "human",
                "confused": "confused",
            }[reason]
            tslots = {}
        t += dt.timedelta(seconds=rng.uniform(6, 15))
        latency = round(rng.uniform(350, 900), 1)
        turns.append(
            {
                "call_id": call_id,
                "idx": i,
                "at": t,
                "menu": menu,
                "input_kind": "speech",
                "caller_text": text,
                "intent": intent,
                "slots": tslots,
                "confidence": round(rng.uniform(0.7, 0.98), 2),
                "asr_confidence": round(rng.uniform(0.75, 0.99), 2),
                "emotion": score,
                # the bot's answer to this turn: the next menu's question
                "bot_text": BOT[FLOW[min(i, len(FLOW) - 1)]].format(
                    name=name, days=rng.randrange(5, 90), amount=rng.randrange(2, 30) * 500
                ),
                "timing": {"latency_ms": latency},
            }
        )
        emotion.append({"turn": i, "lexical": score, "acoustic": round(score * 0.8, 2), "score": score})
        for k, v in tslots.items():
            slots[k] = {"value": v, "confidence": turns[-1]["confidence"], "turn": i}
    promise_date = None
    if outcome == "completed":
        promise_date = (started.date() + dt.timedelta(days=rng.randrange(3, 20))).isoformat()
    call = {
        "id": call_id,
        "started_at": started,
        "ended_at": t,
        "transport": rng.choice(["sip", "sip", "sip", "audiosocket"]),
        "worker": "sip-1",
        "caller_number": _phone(rng),
        "case_id": f"C{rng.randrange(10**7):07d}",
        "debtor_name": name,
        "case": {"name": name, "amount": rng.randrange(2, 30) * 500},
        "status": "ended",
        "outcome": outcome,
        "last_menu": FLOW[last],
        "identity": "confirmed",
        "slots": slots,
        "emotion_timeline": emotion,
        "promise_date": promise_date,
        "promise_amount": rng.choice([None, 1000, 2000, 3000]) if promise_date else None,
        "recording_path": None,
        "duration_s": round((t - started).total_seconds(), 1),
        "turn_count": len(turns),
        "avg_turn_latency_ms": round(sum(x["timing"]["latency_ms"] for x in turns) / len(turns), 1),
    }
    esc = None
    if reason:
        trig = turns[-1]
        esc = {
            "call_id": call_id,
            "created_at": t,
            "reason": reason,
            "priority": bundled_flow().priority(reason),
            "trigger_turn": trig["idx"],
            "trigger_text": trig["caller_text"],
            "summary": {"identity": "confirmed", "trigger": {"reason": reason, "turn": trig["idx"]}},
            "narrative": f"客户已确认本人；第{trig['idx']}轮（“{trig['caller_text']}”），转人工。",
            "status": "waiting",
            "transfer_status": "accepted",
        }
    return call, turns, esc


def populate(store: Store, n_calls: int, days: int = 30, open_escalations: int = 12, seed: int = 7) -> dict[str, int]:
    """Bulk-insert `n_calls` calls spread over the last `days` days; all but the newest
    `open_escalations` escalations are resolved, as in a working centre."""
    rng = random.Random(seed)
    now = utcnow()
    calls, turns, escs = [], [], []
    for _ in range(n_calls):
        started = now - dt.timedelta(seconds=rng.uniform(120, days * 86400))
        c, t, e = synth_call(rng, started)
        calls.append(c)
        turns.extend(t)
        if e:
            escs.append(e)
    escs.sort(key=lambda e: e["created_at"])
    for e in escs[: max(0, len(escs) - open_escalations)]:
        e.update(
            status="resolved",
            claimed_by="agent1",
            claimed_at=e["created_at"] + dt.timedelta(minutes=1),
            resolved_at=e["created_at"] + dt.timedelta(minutes=rng.randrange(3, 30)),
            disposition=rng.choice(["promise_taken", "hardship_plan", "dispute_logged", "callback", "no_action"]),
        )
    with store.session() as s:
        for table, rows in ((Call, calls), (Turn, turns), (Escalation, escs)):
            for i in range(0, len(rows), 5000):
                s.execute(insert(table), rows[i : i + 5000])
    return {"calls": len(calls), "turns": len(turns), "escalations": len(escs)}


def make_call(
    store: Store,
    reason: str | None = "distress",
    recording: str | None = None,
    caller_number: str | None = None,
    seed: int = 1,
) -> tuple[str, int | None]:
    """One call written through `Store` as a session would: returns (call id, escalation id)."""
    c, turns, e = synth_call(random.Random(seed), utcnow() - dt.timedelta(minutes=2), force_reason=reason)
    c.update(recording_path=recording, caller_number=caller_number or c["caller_number"])
    store.start_call(c["id"], **{k: v for k, v in c.items() if k != "id"})
    for t in turns:
        store.add_turn(c["id"], **{k: v for k, v in t.items() if k != "call_id"})
    if e is None:
        return c["id"], None
    e.pop("created_at")
    esc = store.add_escalation(
        c["id"], e.pop("reason"), e.pop("priority"), **{k: v for k, v in e.items() if k != "call_id"}
    )
    return c["id"], esc.id
