"""What a human agent needs at a hand-off (docs/dialog.md "Records and hand-off summary"): facts with confidences, the trigger, the
emotion timeline, the transcript and a one-line Chinese narrative they can read in two seconds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivr.dialog import Dialog


def transcript(dialog: Dialog) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"turn": 0, "speaker": "bot", "menu": s.menu, "text": s.text} for s in dialog.opening]
    for t in dialog.turns:
        out.append({"turn": t.idx, "speaker": "caller", "menu": t.menu, "input": t.input_kind, "text": t.caller_text})
        if t.bot_text:
            out.append({"turn": t.idx, "speaker": "bot", "menu": t.menu, "text": t.bot_text})
    return out


def todo(dialog: Dialog) -> list[str]:
    """What the agent must act on, most actionable first: requests (reductions, exceptions), questions
    not answered, the callback time, the contact preference."""
    flow = dialog.flow
    out: list[str] = []
    for r in dialog.requests:
        kind = r.get("kind", "")
        if kind == "question":
            continue
        what = flow.label("request", kind)
        out.append(f"{what}（第{r.get('turn')}轮：“{r.get('detail')}”），待专员决定并回电")
    questions = [r for r in dialog.requests if r.get("kind") == "question"]
    if questions:
        asked = "；".join(f"{flow.label('topic', r.get('topic', 'other'))}：“{r.get('detail')}”" for r in questions)
        out.append(f"{flow.label('request', 'question')}（未能当场回答）：{asked}")
    cb = dialog.callback
    if cb and cb.get("at"):
        who = "（代接人告知）" if cb.get("for") == "third_party" else ""
        out.append(f"约定回电：{str(cb['at']).replace('T', ' ')}{who}")
    pref = dialog.contact_preference
    if pref:
        kinds = "、".join(flow.label("contact", k) for k in pref.get("kinds", []))
        out.append(f"联系偏好：{kinds}（“{pref.get('said')}”）")
    return out


def narrative(dialog: Dialog) -> str:
    """e.g. 客户已确认本人；主要收入：兼职，约3000元/月；主要支出：房租、医疗；第4轮情绪激动（“别再打了”），转人工。
    Anything the agent must act on comes first: 待办：减免申请（…）；待答问题（…）；约定回电：…；联系偏好：…｜facts."""
    facts = _facts(dialog)
    actions = todo(dialog)
    return ("待办：" + "；".join(actions) + "。" + facts) if actions else facts


def _facts(dialog: Dialog) -> str:
    flow, slots = dialog.flow, dialog.slots
    parts = [flow.identity[dialog.identity].narrative]
    if "income_source" in slots:
        income = flow.label("income_source", slots["income_source"].value)
        if "income_amount" in slots:
            income += f"，约{slots['income_amount'].value}元/月"
        parts.append(f"主要收入：{income}")
    if "expenses" in slots:
        cats = slots["expenses"].value
        cats = cats if isinstance(cats, list) else [cats]
        parts.append("主要支出：" + "、".join(flow.label("expenses", c) for c in cats))
    unusual = slots.get("unusual_expense")
    if unusual is not None and unusual.value != "none":
        parts.append(f"近期变故：{flow.label('unusual_expense', unusual.value)}")
    if "plan" in slots:
        parts.append(f"意向方案：{dialog.plan_label()}")
    promise = dialog.promise
    if promise:
        parts.append(f"承诺{promise['date']}前还款{promise['amount']}元")
    if dialog.trigger is not None:
        t = dialog.trigger
        said = f"（“{t.text}”）" if t.text else ""
        why = flow.label("cause", t.cause) if t.cause else flow.reasons[t.reason].narrative
        if t.reason == "confused" and getattr(t, "note", None):  # what the caller struggled with
            said = f"（{t.note}；“{t.text}”）" if t.text else f"（{t.note}）"
        if t.reason == "distress" and t.note and not t.detail:  # no sign said: the why (flow.yaml
            why, said = t.note, ""  # hardship_silence: silent in hardship, not a death wish)
        if t.reason == "distress" and t.detail:
            said = (
                f"（{_distress_label(dialog, t.detail)}：“{t.text}”）"
                if t.text
                else f"（{_distress_label(dialog, t.detail)}）"
            )
        parts.append(f"第{t.turn}轮{why}{said}，转人工")
    elif dialog.result:
        parts.append(flow.label("result", dialog.result))
    elif dialog.outcome == "hangup":
        parts.append(f"客户在第{len(dialog.turns)}轮挂断")
    return "；".join(parts) + "。"


def _distress_label(dialog: Dialog, category: str) -> str:
    """The Chinese label of a distress category (grammars/distress.yaml), or the category id."""
    from ivr.distress import cached_distress
    from ivr.grammar import GrammarError

    path = Path(dialog.grammars.directory) / "distress.yaml"
    try:
        return cached_distress(str(path)).labels.get(category, category) if path.exists() else category
    except GrammarError:
        return category


def _trigger(trigger: Any) -> dict[str, Any]:
    out = {"reason": trigger.reason, "turn": trigger.turn, "text": trigger.text}
    if trigger.cause:  # why the bot handed over when it was not the caller (internal_error)
        out["cause"] = trigger.cause
    if getattr(trigger, "detail", None):  # the distress category that fired (grammars/distress.yaml)
        out["category"] = trigger.detail
    if getattr(trigger, "note", None):  # confused: what the caller struggled with, at which menu
        out["note"] = trigger.note
    return out


def build(dialog: Dialog, recording: str | None = None) -> dict[str, Any]:
    trigger = dialog.trigger
    return {
        # what the agent must act on first (issue 12), then the facts collected
        "todo": todo(dialog),
        "requests": list(dialog.requests),
        "questions_unanswered": [r for r in dialog.requests if r.get("kind") == "question"],
        "callback": dialog.callback,
        "contact_preference": dialog.contact_preference,
        "case": dialog.case.as_dict(),
        "identity": dialog.identity,
        "slots": {name: slot.as_json() for name, slot in dialog.slots.items()},
        "trigger": None if trigger is None else _trigger(trigger),
        "emotion_timeline": list(dialog.emotion_timeline),
        "transcript": transcript(dialog),
        "recording": recording,
        "outcome": dialog.outcome,
        "result": dialog.result,
        "promise": dialog.promise,
        "last_menu": dialog.turns[-1].menu if dialog.turns else dialog.menu,
        "narrative": narrative(dialog),
    }
