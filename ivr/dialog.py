"""The call flow as a pure state machine: caller input in, actions (Say/Transfer/Hangup) out.

Everything a caller hears comes from `audio_prompts/prompts.yaml`, every transition from
`grammars/flow.yaml`; this module only applies the rules that are the same for every menu:
VoiceXML-style miss counting, emotion handling, escalation priority, date proposals and the
state the summary needs.  No I/O: the session persists, the transports play.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from ivr import identity as ident
from ivr.callback_time import bare_clock, clamp, names_no_day
from ivr.case import Case
from ivr.content import BEFORE_IDENTITY, CompanyContent, ContentBook, cached_content
from ivr.events import (
    Action,
    CallerHangup,
    CallerInput,
    Dtmf,
    Hangup,
    NoInput,
    Say,
    Transfer,
    Understanding,
)
from ivr.flow import GAVE_UP, Condition, Flow, Handler, load_flow
from ivr.grammar import Grammars
from ivr.locale import MANDARIN, Locale
from ivr.prompts import PromptBook, PromptError
from ivr.textnorm import cached_synonyms, to_simplified


@dataclass
class Slot:
    value: Any
    confidence: float
    turn: int

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "confidence": round(self.confidence, 3), "turn": self.turn}


@dataclass
class TurnRecord:
    """One caller turn and the bot's answer (what the session stores and the report shows)."""

    idx: int
    menu: str
    input_kind: str  # speech|dtmf|noinput|hangup
    caller_text: str | None
    intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    asr_confidence: float | None = None
    emotion: float | None = None
    actions: list[Action] = field(default_factory=list)

    @property
    def bot_text(self) -> str:
        return "".join(a.text for a in self.actions if isinstance(a, Say))


@dataclass
class Pending:
    """A question the bot asked before acting on an answer: which end of an amount range
    (`amount`), or whether the most months policy allows will do (`months`)."""

    kind: str  # amount | figure (an amount with no range said) | months
    handler: Handler
    intent: str | None
    offer: Any = None  # months: the most allowed; amount: [low, high]
    tries: int = 0


@dataclass
class Trigger:
    reason: str
    turn: int
    text: str | None
    cause: str | None = None  # not from the caller: e.g. "internal_error" (see CallSession.handle)
    detail: str | None = None  # e.g. the distress category that fired ("burden"; grammars/distress.yaml)
    note: str | None = None  # confused: what the caller struggled with ("在告知欠款：客户请求重复2次…")


def _combine(lexical: float, acoustic: float) -> float:
    try:
        from ivr.emotion import combine
    except ImportError:  # the NLU module is optional for pure-logic use
        return max(lexical, acoustic)
    return float(combine(lexical, acoustic))


class Dialog:
    def __init__(
        self,
        case: Case,
        grammars: Grammars,
        prompts: PromptBook,
        now: dt.datetime,
        understander: Any = None,
        seed: int | None = None,
        flow: Flow | None = None,
        locale: Locale = MANDARIN,
        content: ContentBook | None = None,
    ) -> None:
        self.case = case
        self.locale = locale  # amounts, months, callback times read; money, dates, times said (ivr/locale.py)
        self.grammars = grammars
        self.prompts = prompts
        self.now = now
        self.flow = flow or load_flow(Path(grammars.directory) / "flow.yaml", prompts)
        if understander is None:
            from ivr.understanding import Understander

            understander = Understander(grammars, locale=locale)
        self.understander = understander
        self.rng = random.Random(seed)
        # per-company answers and policy (audio_prompts/company.yaml, ivr/content.py)
        book = content or cached_content(str(Path(prompts.path).parent))
        self.content: CompanyContent = book.for_company(case.company)

        self.menu: str | None = None
        self.finished = False
        self.outcome: str | None = None
        self.result: str | None = None  # flow label: promise, wrong_person, hardship...
        self.identity = "unknown"
        self.slots: dict[str, Slot] = {}
        self.turns: list[TurnRecord] = []
        self.emotion_timeline: list[dict[str, Any]] = []
        self.trigger: Trigger | None = None
        self.opening: list[Say] = []
        self.said: set[str] = set()  # "<prompt_id>.<variant>" said this call
        self._misses: dict[str, int] = {}
        self._heard: dict[tuple[str, str], int] = {}
        self._annoyed = 0
        self._digits = ""
        self._auto_flushed = False
        self._last_ask: Say | None = None
        self._ask_override: str | None = None
        self._pending: Pending | None = None
        # SPEC v2 top-level facts
        self.callback: dict[str, Any] | None = None  # {"at": ISO | None, "said", "turn", "for"}
        self.contact_preference: dict[str, Any] | None = None  # {"kinds", "said", "turn"}
        self.requests: list[dict[str, Any]] = []  # filled by the request/question features
        self._verified = False
        self._cb: dict[str, Any] | None = None  # a callback being arranged (asks, proposal, result)
        self._cb_at: dt.datetime | None = None  # for {callback}
        self._ahead: dict[str, tuple[Understanding, int]] = {}  # later menus answered early
        self._anger = 0.0  # this turn's anger (a calm request to call less scores 0)
        # issue 12: patience that adapts
        self.slow = False  # rest of the call slower, shorter, step by step (`slower`, second repeat)
        self._repeats = 0  # requests to repeat in this call
        self._struggle: dict[str, list[str]] = {}  # menu → kinds of misses (noinput, nomatch, repeat...)
        self._verbatim: dict[str, int] = {}  # bot sentence → times said word for word
        self._told_can_do = False
        self._quiet = 0  # silences of a caller in hardship (flow.yaml hardship_silence)
        self._early_reduction: TurnRecord | None = None  # a wish said before identity: registered after it

    # ---------------------------------------------------------------- public API
    def start(self) -> list[Action]:
        actions = self._enter(self.flow.start)
        self.opening = [a for a in actions if isinstance(a, Say)]
        return actions

    @property
    def unanswered(self) -> list[dict[str, Any]]:
        """Questions the bot could not answer (noted for a specialist)."""
        return [r for r in self.requests if r.get("kind") == "question"]

    def handle(self, inp: CallerInput) -> list[Action]:
        if self.finished or self.menu is None:
            return []
        if isinstance(inp, CallerHangup):
            turn = self._new_turn("hangup", None)
            self._finish(self.flow.menus[self.menu].hangup or "hangup")  # at the closing: all was agreed
            return turn.actions
        if isinstance(inp, Dtmf):
            return self._on_key(inp.digit)
        if isinstance(inp, NoInput):
            if self._digits:  # the engine flushes a digit string on the inter-digit timeout
                return self._flush_digits()
            return self._respond(self._new_turn("noinput", None), None)
        text = inp.text.strip()
        if not text:
            return self._respond(self._new_turn("noinput", None), None)
        turn = self._new_turn("speech", text, asr_confidence=inp.asr_confidence)
        u = self.understander.understand(self.menu, text, self.now)
        return self._respond(turn, u, acoustic=inp.acoustic_emotion)

    def hand_over(self, reason: str, cause: str, since: int, kind: str, text: str | None) -> list[Action]:
        """Escalate after an unexpected error while handling one caller input: `turns[since:]` is
        what that input had recorded before it failed (kept as its turn, or a new one is made)."""
        if self.finished or self.menu is None:
            return []
        del self.turns[since + 1 :]
        turn = self.turns[since] if len(self.turns) > since else self._new_turn(kind, text)
        try:
            actions = self._apply(turn, Handler(escalate=reason), None, [])
        except Exception:  # not even the notice could be rendered: transfer without it
            self.trigger = Trigger(reason, turn.idx, turn.caller_text)
            self._finish("escalated")
            actions = self._finish_turn(turn, [Transfer(reason)])
        assert self.trigger is not None
        self.trigger.cause = cause
        return actions

    def say(self, prompt_id: str) -> list[Action]:
        """A prompt outside the flow (e.g. `transfer.failed` reported by the transport)."""
        return self._say(prompt_id)

    def plan_label(self) -> str | None:
        plan = self.slots.get("plan")
        return None if plan is None else self.flow.label("plan", plan.value).format(months=self._months())

    @property
    def plan(self) -> dict[str, Any] | None:
        """SPEC v2 `plan`: what the caller chose (intent, months for instalments/extensions, amount due)."""
        plan = self.slots.get("plan")
        if plan is None:
            return None
        months = self.slots.get("months")
        return {
            "intent": plan.value,
            "months": months.value if months is not None else (self._months() if plan.value == "installment" else None),
            "amount": self._payment_amount() if plan.value != "cannot" else None,
        }

    @property
    def promise(self) -> dict[str, Any] | None:
        date = self.slots.get("promise_date")
        if date is None or self.result != "promise":
            return None
        amount = self._payment_amount() if "plan" in self.slots else None
        return {"date": date.value, "amount": amount}

    # ---------------------------------------------------------------- input plumbing
    def _new_turn(self, kind: str, text: str | None, asr_confidence: float | None = None) -> TurnRecord:
        assert self.menu is not None
        turn = TurnRecord(len(self.turns) + 1, self.menu, kind, text, asr_confidence=asr_confidence)
        self._auto_flushed = False
        self.turns.append(turn)
        return turn

    def _on_key(self, key: str) -> list[Action]:
        assert self.menu is not None
        if self._auto_flushed:
            self._auto_flushed = False
            if key == "#":
                return []
        if self.grammars.menu(self.menu).dtmf_mode == "digits":
            if key == "#":
                return self._flush_digits()
            if key == "*":  # repeat, and start the digits over
                self._digits = ""
                turn = self._new_turn("dtmf", "*")
                return self._respond(turn, self._global_key("*"))
            self._digits += key
            if self._digits.isdigit() and len(self._digits) == self.grammars.menu(self.menu).dtmf_length:
                out = self._flush_digits()
                self._auto_flushed = True  # a '#' pressed out of habit right after is not an answer
                return out
            return []
        turn = self._new_turn("dtmf", key)
        u = self.understander.understand_dtmf(self.menu, key, self.now)
        if u.intent is None:
            u = self._global_key(key) or u
        return self._respond(turn, u)

    def _flush_digits(self) -> list[Action]:
        assert self.menu is not None
        keys, self._digits = self._digits, ""
        turn = self._new_turn("dtmf", keys + "#")
        if not keys:  # '#' alone: the menu's grammar decides (income_amount: unknown)
            return self._respond(turn, self.understander.understand_dtmf(self.menu, "#", self.now))
        # a lone 0 is the human key even where digits are collected (amounts, dates never are "0")
        u = self._global_key(keys) or self.understander.understand_dtmf(self.menu, keys, self.now)
        return self._respond(turn, u)

    def _global_key(self, key: str) -> Understanding | None:
        intent = self.grammars.global_intents.dtmf_map().get(key)
        if intent is None or self.menu is None:
            return None
        return Understanding(menu=self.menu, intent=intent, confidence=1.0, is_global=True, text=key)

    # ---------------------------------------------------------------- the rules
    def _respond(self, turn: TurnRecord, u: Understanding | None, acoustic: float = 0.0) -> list[Action]:
        menu = self.menu
        assert menu is not None
        u = self._borrow(u, turn) if u is not None else None
        if u is not None and turn.input_kind == "speech":
            u = self._identity_rule(turn, u)
        intent = u.intent if u else None
        if u is not None:
            turn.intent, turn.slots, turn.confidence = intent, dict(u.slots), u.confidence
            turn.emotion = self._emotion(turn, u, acoustic)
        cues = set(u.cues) if u else set()
        text0 = turn.caller_text if turn.input_kind == "speech" else None
        actions: list[Action] = []
        policy = self.flow.emotion
        # a calm request about our calls is not anger (SPEC §2): only its other cues or the voice count
        score = turn.emotion or 0.0
        if cues and cues <= {"stop_calling"} and acoustic < policy.annoyed:
            score = _combine(0.0, acoustic)
        elif (
            cues <= {"stop_calling", "annoyance"} and acoustic < policy.annoyed and text0 and self._contact_kinds(text0)
        ):
            # "你们又打了好几个，能不能别打了" is the request itself: only the words around it count
            rest = self._outside_contact(text0)
            score = _combine(self.understander.understand(menu, rest, self.now).emotion if rest else 0.0, acoustic)
        if intent == "question" and "abuse" not in cues and acoustic < policy.annoyed:
            score = _combine(0.0, acoustic)  # "你们不是骗子吧？" asks to be reassured: answered, not soothed
        self._anger = score

        # priority: distress, then escalating globals, then anger, then the menu itself
        if intent == "distress" or "distress" in cues:
            actions = self._apply(turn, self.flow.global_handlers("distress")[0], "distress", actions)
            if self.trigger is not None:  # which sign was heard: cue "distress:<category>" (ivr/understanding.py)
                self.trigger.detail = next(
                    (c.split(":", 1)[1] for c in sorted(cues) if c.startswith("distress:")), None
                )
            return actions
        text = turn.caller_text if turn.input_kind == "speech" else None
        if intent in self.flow.globals:
            handler = self._pick(self.flow.global_handlers(intent), menu)
            if handler is not None and handler.resume:
                return self._resume(turn, handler, intent, actions)
            if handler is not None:
                return self._apply(turn, handler, intent, actions)
        if score >= policy.strong or cues & set(policy.strong_cues):
            return self._apply(turn, Handler(say=["soothe"], escalate="emotional"), intent, actions)
        if score >= policy.annoyed:
            self._annoyed += 1
            if self._annoyed >= policy.escalate_after:
                return self._apply(turn, Handler(say=["soothe"], escalate="emotional"), intent, actions)
            actions += self._say("soothe")
        if (
            text and self._cb is None and intent != "reduction" and self._later(text)
        ):  # confirmed, "你明天晚上七点再打给我"
            turn.intent = "busy"
            # at the closing the agreement stands: the call ends with the callback as well, not instead
            result = None if "promise_date" in self.slots else "callback"
            return self._apply(turn, Handler(callback=True, result=result), "busy", actions)
        if intent in ("repeat", "slower"):
            return self._repeat(turn, intent, actions)
        if "slower" in cues and not self.slow:  # asked to slow down while answering: the rest goes slower
            self.slow = True
        early = self._early_reduction
        if early is not None and self.identity == "confirmed" and menu not in (self.flow.start, "verify"):
            self._early_reduction = None  # "是我，这个能减免吗？": registered now that identity is confirmed
            if intent != "reduction" and self._cb is None:
                actions += self._register_reduction(early)
                if not self._told_can_do:
                    self._told_can_do = True
                    actions += self._say("reduction.can_do")
        if u is not None and self._cb is None:
            topic = self._question_topic(turn, u)
            if topic is not None:
                return self._question(turn, topic, actions)
            if intent == "reduction":
                return self._reduction(turn, actions)
            if text and self._waits_for_reduction(turn, text):
                return self._finish_turn(turn, actions + self._end_waiting(turn))
        if text and self._contact(turn, text):  # "以后别在上班时间打" said along with an answer
            actions += self._say("contact.ack")
            rest = self._outside_contact(text)  # the answer is in the other clauses ("知道，少打几个行不")
            if rest and rest != text and u is not None:
                r = self._identity_rule(turn, self._understand_rest(rest))
                if r.intent is not None and not r.is_global and r.confidence >= CONTINUE_MIN:
                    u = r
                    turn.intent, turn.slots, turn.confidence = r.intent, dict(r.slots), r.confidence
        if text and self._cb is None and menu == self.flow.start and u is not None and u.intent == "confirm":
            later = self._confirmed_but_later(turn, text, actions)  # "是我，在车间呢，你下班后打"
            if later is not None:
                return later
        if self._cb is not None:
            return self._callback_turn(turn, u, actions)
        return self._answer(turn, u, actions)

    def _answer(self, turn: TurnRecord, u: Understanding | None, actions: list[Action]) -> list[Action]:
        """The menu's own answer (after globals and emotion), with what was said for later menus."""
        menu = self.menu
        assert menu is not None
        spec = self.flow.menus[menu]
        if self._pending is not None:  # a range or too many months was asked back (see _hold)
            answered = self._answer_pending(turn, u, actions)
            if answered is not None:
                return answered
        intent = u.intent if u else None
        if menu == "verify" and turn.input_kind in ("speech", "dtmf"):
            intent = self._verify_intent(turn, intent)
            turn.intent = intent
            if u is not None and intent in ("confirm", "mismatch", "digits"):
                u = replace(u, intent=intent, confidence=1.0)  # read by the dialog, not guessed
        if u is not None and u.slots.get("date") and turn.input_kind == "speech":
            u = self._after_extension(u, turn.caller_text or "")
        problem = self._date_problem(u.slots.get("date")) if u is not None else None
        if problem == "too_far" and f"{menu}.propose" in self.prompts:
            # offer the latest allowed day instead of a flat refusal; "可以" takes it (accept_proposal)
            latest = self.now.date() + dt.timedelta(days=self.flow.promise.max_days_ahead)
            self.slots["proposed_date"] = Slot(latest.isoformat(), 1.0, turn.idx)
        if problem and f"{menu}.{problem}" in self.prompts:  # not a miss: the caller did answer
            return self._finish_turn(turn, actions + self._ask(menu, prompt=f"{menu}.{problem}"))
        if (
            u is not None
            and not problem
            and u.slots.get("date_hint") == "approx"
            and f"{menu}.confirm_date" in self.prompts
        ):
            # a loose period (年后, 国庆以后) resolved to one day: read it back and ask, never set it silently
            self.slots["proposed_date"] = Slot(u.slots["date"], u.confidence, turn.idx)
            rest = {k: v for k, v in u.slots.items() if k not in ("date", "date_hint")}
            self._store_slots(turn, replace(u, slots=rest), None, spec.slots)
            return self._finish_turn(turn, actions + self._ask(menu, prompt=f"{menu}.confirm_date"))
        if problem:
            intent = None
        if u is not None and turn.asr_confidence is not None:
            u = replace(u, confidence=u.confidence * turn.asr_confidence)  # what the slots are worth
            if u.confidence < self.flow.min_confidence:
                intent = None  # a shaky guess must not confirm identity or set a promise: ask again
        confirming = menu == self.flow.start and intent == "confirm"
        if turn.input_kind == "speech" and (self.identity == "confirmed" or confirming):
            heard_ahead = self._listen_ahead(turn, menu)
            if intent is None and heard_ahead and spec.handlers("skipped"):
                intent = "skipped"  # answered later questions instead of this one: not a miss
        if (
            intent == "already_paid"
            and "ack" in spec.answers
            and _STILL_TO_COME.search(said := self.locale.normalize(turn.caller_text or "").text)
            and not _ALREADY.search(said)
        ):  # 明天就全还了 / 我说了下周一还 / 这就去还: a payment still to come, not one made (the plan is heard ahead)
            intent = turn.intent = "ack"
            u = replace(u, intent=intent) if u is not None else u
        if (
            u is not None
            and intent == "partial"
            and isinstance(u.slots.get("months"), int)
            and re.search(r"分.{0,3}(?:期|个月|月)", self.locale.normalize(turn.caller_text or "").text)
            and "installment" in spec.answers
        ):  # 本金先分四个月还: instalments of what is owed, not a one-off part payment
            intent = "installment"
            u = replace(u, intent=intent, slots={k: v for k, v in u.slots.items() if k not in ("amount", "share")})
        if (
            u is not None
            and intent == "full"
            and intent == u.intent
            and isinstance(u.slots.get("amount"), int)
            and 0 < u.slots["amount"] < self.case.amount
            and (
                any(r.get("kind") == "reduction" for r in self.requests)
                or u.slots["amount"] <= 0.6 * self.case.amount  # (三千多 of 3200 is the debt said roughly)
            )
            and "partial" in spec.answers
        ):  # 一次性给三千 of 4800 (the rest waived if they can): what is paid today is a part payment
            if self._settles_all(menu, turn):  # "一次还清，零头免掉，四千整行吗": the figure is the price asked
                u = replace(u, slots={k: v for k, v in u.slots.items() if k not in ("amount", "share")})
            else:
                intent = turn.intent = "partial"
                u = replace(u, intent=intent)
        if (
            u is not None
            and intent == "partial"
            and intent == u.intent
            and self._principal_whole(turn, u, turn.caller_text or "")
            and "full" in spec.answers
        ):  # "本金一把结清，违约金罚息能不能免": the whole debt settled at once, the fees asked off
            intent = turn.intent = "full"
            u = replace(u, intent=intent, slots={k: v for k, v in u.slots.items() if k not in ("amount", "share")})
        if u is not None and intent in ("installment", "extension") and intent == u.intent:
            u = replace(u, slots=self._not_the_total(u.slots))
        if (
            u is not None
            and intent == "partial"
            and intent == u.intent
            and "amount" not in u.slots
            and _PRINCIPAL.search(self.locale.normalize(turn.caller_text or "").text)
        ):  # the principal alone: the case's figure, else asked (never the default share of the total)
            if self.case.principal:
                u = replace(u, slots={**u.slots, "amount": self.case.principal})
            elif "amount.principal" in self.prompts and (handler := self._pick(spec.handlers(intent), menu)):
                self._store_slots(turn, u, spec.record, spec.slots)
                self._pending = Pending("figure", handler, intent)
                return self._finish_turn(turn, actions + self._ask(menu, prompt="amount.principal"))
        handler = self._pick(spec.handlers(intent), menu) if intent and intent != "confused" else None
        if handler is None:
            if actions and intent is None and turn.input_kind == "speech":
                # an annoyed remark without an answer: soothe and ask again, not counted as a miss
                return self._finish_turn(turn, actions + self._ask(menu, prompt=spec.reask))
            return self._miss(turn, actions, confused=intent == "confused")
        if u is not None and intent == u.intent:
            held = self._hold(turn, u, handler, intent, spec.record, spec.slots)
            if held is not None:
                return self._finish_turn(turn, actions + held)
            self._store_slots(turn, u, spec.record, spec.slots)
            if intent == "partial" or menu == "promise":
                actions = actions + self._first_payment_check(turn)
        return self._apply(turn, handler, intent, actions)

    # ---------------------------------------------------------------- loose amounts and months
    def _hold(
        self,
        turn: TurnRecord,
        u: Understanding,
        handler: Handler,
        intent: str | None,
        record: str | None,
        rename: dict[str, str],
    ) -> list[Action] | None:
        """Ask back before acting when the caller said an amount as a range (一两千: which one?) or more
        months than policy allows (分两年: name the most allowed and offer it).  None: act now."""
        assert self.menu is not None
        most = self._max_months(intent or "")
        months = u.slots.get("months")
        if most and isinstance(months, int) and months > most and f"{self.menu}.max_{intent}" in self.prompts:
            self._store_slots(
                turn, replace(u, slots={k: v for k, v in u.slots.items() if k != "months"}), record, rename
            )
            self._pending = Pending("months", handler, intent, most)
            return self._ask(self.menu, prompt=f"{self.menu}.max_{intent}", extra={"months": most})
        rng = u.slots.get("amount_range")
        if rng and "amount.which" in self.prompts:
            self._store_slots(
                turn, replace(u, slots={k: v for k, v in u.slots.items() if k != "amount_range"}), record, rename
            )
            self._pending = Pending("amount", handler, intent, list(rng))
            return self._ask_range()
        return None

    def _ask_range(self) -> list[Action]:
        assert self.menu is not None and self._pending is not None
        low, high = self._pending.offer
        return self._ask(
            self.menu, prompt="amount.which", extra={"low": self.locale.money(low), "high": self.locale.money(high)}
        )

    def _answer_pending(self, turn: TurnRecord, u: Understanding | None, actions: list[Action]) -> list[Action] | None:
        """The answer to a pending question; None lets the turn be understood as usual."""
        p = self._pending
        assert p is not None and self.menu is not None
        spec = self.flow.menus[self.menu]
        text = self.locale.normalize(turn.caller_text or "").text if turn.input_kind == "speech" else ""
        if p.kind in ("amount", "figure"):
            amount = self.locale.parse_amount(text) if text else None
            if amount is None and turn.input_kind == "dtmf" and (turn.caller_text or "").rstrip("#").isdigit():
                amount = int((turn.caller_text or "").rstrip("#"))
            if amount:
                self._pending = None
                turn.slots = {**turn.slots, "amount": amount}
                self.slots[spec.slots.get("amount", "amount")] = Slot(amount, 1.0, turn.idx)
                return self._apply(turn, p.handler, p.intent, actions)
            p.tries += 1
            if p.tries < 2:
                again = self._ask_range() if p.kind == "amount" else self._ask(self.menu, prompt="amount.principal")
                return self._finish_turn(turn, actions + again)
            self._pending = None  # still no figure: go on with the plan's own amount, no number is guessed
            return self._apply(turn, p.handler, p.intent, actions)
        # months: "可以" takes the most allowed; another count or another plan is understood as usual
        months = u.slots.get("months") if u is not None and u.slots.get("months") else self.locale.parse_months(text)
        if isinstance(months, int) and months > p.offer and p.tries < 1:
            p.tries += 1
            return self._finish_turn(
                turn, actions + self._ask(self.menu, prompt=f"{self.menu}.max_{p.intent}", extra={"months": p.offer})
            )
        if isinstance(months, int) and months <= p.offer and (u is None or u.intent in (None, p.intent)):
            # 那就十二个月吧: a count within policy for the plan on offer
            self._pending = None
            turn.intent, turn.slots = p.intent, {**turn.slots, "months": months}  # what this answer meant here
            self.slots["months"] = Slot(months, u.confidence if u else 1.0, turn.idx)
            if spec.record and p.intent:
                self.slots[spec.record] = Slot(p.intent, 1.0, turn.idx)
            return self._apply(turn, p.handler, p.intent, actions)
        if (u is None or u.intent is None) and text and "promise" in self.grammars.menus:
            if self.understander.understand("promise", text, self.now).intent == "accept":
                self._pending = None
                turn.intent, turn.slots = p.intent, {**turn.slots, "months": p.offer}
                self.slots["months"] = Slot(p.offer, 1.0, turn.idx)
                if spec.record and p.intent:
                    self.slots[spec.record] = Slot(p.intent, 1.0, turn.idx)
                return self._apply(turn, p.handler, p.intent, actions)
        self._pending = None
        return None

    # ---------------------------------------------------------------- identity (SPEC §1)
    def _affirms(self, text: str, strict: bool = False) -> bool:
        pol = self.flow.identity_rule
        return any(ident.affirms(t, self.case.name, pol.words, pol.alone, strict=strict) for t in self._forms(text))

    def _forms(self, text: str) -> list[str]:
        """The answer as said and with regional words mapped (我就系 / 额是 / 係我 → 我就是 / 我是 / 是我)."""
        mapped = cached_synonyms(str(self.grammars.directory / "synonyms.yaml")).apply(to_simplified(text))
        return [text] if mapped == text else [text, mapped]

    def _identity_rule(self, turn: TurnRecord, u: Understanding) -> Understanding:
        """At the opening only an explicit affirmation is `confirm` (else `unconfirmed`); an explicit
        one said with "call me at four" is `busy` (identity confirmed, nothing disclosed)."""
        if self.menu != self.flow.start or self.identity == "confirmed" or self._cb is not None:
            return u
        text = turn.caller_text or ""
        shaky = turn.asr_confidence is not None and turn.asr_confidence < self.flow.identity_rule.min_asr_confidence
        affirmed = not shaky and self._affirms(text)
        pol = self.flow.identity_rule
        if not affirmed:
            if u.intent == "distress" and any(
                ident.speaks_for(t, self.case.name, pol.relations) for t in self._forms(text)
            ):
                self.identity = "third_party"  # a parent telling of the debtor's crisis: nothing disclosed
            if u.intent in (None, "confirm", "busy", "ask_who", "unconfirmed") and any(
                ident.speaks_about(t, self.case.name, pol.relations) for t in self._forms(text)
            ):
                # "李娜是我女儿，她上班去了" / "这是他的手机，他开会去了": someone speaking for the debtor
                return replace(u, intent="third_party", is_global=False, confidence=max(u.confidence, 0.9))
            return replace(u, intent="unconfirmed") if u.intent == "confirm" else u
        if u.intent == "distress":
            self.identity = "confirmed"  # "是我。…不想活了": the debt is never mentioned after distress anyway
            return u
        if u.intent == "third_party" and (
            any(ident.first_person(t, self.case.name, pol.words) for t in self._forms(text))
            or not any(w in text for w in ("他", "她", "TA"))
        ):
            # 是我嘛，罗刚 (我嘛 only sounds like 我妈); "是我，你跟我说就行": the debtor affirmed, and only
            # someone speaking for another (他/她) is a third party
            u = replace(u, intent="confirm")
        if u.intent == "deny" and any(
            ident.affirms_after_asking(t, self.case.name, pol.words, pol.alone) for t in self._forms(text)
        ):
            u = replace(u, intent="confirm")  # "找谁？郑国栋？我就是": the 不是 was about something else
        if u.intent in ("human", "complaint", "abuse") and not self._needs_verification():
            self.identity = "confirmed"  # "是我，滚！": the debtor said so, then lost their temper (handed over)
        if u.intent in ("deny", "third_party", "human", "complaint", "abuse"):
            return u
        rest = self._not_paying(ident.unaffirmed_rest(text, self.case.name, pol.words, pol.alone))
        mine = self._not_ours(text)
        if u.intent == "busy" and mine != text and not self._asks_callback(mine):
            u = replace(u, intent="confirm")  # "我回头自己打过去查一下。是我": the caller will call us
        rest = self._not_ours(rest)
        # "以后晚上再打" is a contact preference (recorded, the call goes on), not "call me back later"
        if u.intent == "busy" or (rest and self._asks_callback(rest) and not self._contact_kinds(rest)):
            self.identity = "confirmed"
            return replace(u, intent="busy", is_global=False)
        if u.intent in (None, "confirm", "ask_who", "repeat", "confused", "stop_calling"):
            if u.intent == "stop_calling":
                return u  # the contact preference is recorded, then the rest ("是我") confirms
            return replace(u, intent="confirm", is_global=False, confidence=max(u.confidence, 0.9))
        return u

    def _not_ours(self, text: str) -> str:
        """The clauses that are not about the caller calling us to check who we are (我自己打过去核实)."""
        words = self.flow.callback.checks_us
        return "，".join(c for c in ident.clauses(text) if not any(w in c for w in words))

    def _not_paying(self, text: str) -> str:
        """The clauses of an answer that do not propose a payment: "是我，我打算分六个月还，下个月一号先还
        一期" names a plan and its day — the caller is not asking to be called back on that day."""
        keep = []
        cb = self.flow.callback
        for c in ident.clauses(text):
            bare = c
            for w in cb.not_call:
                bare = bare.replace(w, "")
            if any(w in bare for w in cb.later_words):
                keep.append(c)  # "等我五点半收工后再说": a time to talk again, not a day to pay
                continue
            plan = self.understander.understand("plan", c, self.now) if "plan" in self.flow.menus else None
            if plan is not None and plan.intent in _PLANS and plan.confidence >= CONTINUE_MIN:
                continue
            if self.locale.read_date(self.locale.normalize(c).text, self.now).for_payment:
                continue
            keep.append(c)
        return "，".join(keep)

    def _asks_callback(self, text: str) -> bool:
        if self.understander.understand(self.flow.start, text, self.now).intent == "busy":
            return True
        # "打" as in call us (再打 / 打给我), not 打算 (我打算这个月底就还上 is a promise, not a callback)
        lo = self.locale
        return lo.parse_callback_time(text, self.now) is not None and (
            any(w in text.replace("打算", "") for w in lo.callback_words)
        )

    def _later(self, text: str) -> bool:
        """After identity, at a later menu: a time to call back said with a call word, outside any
        payment date or plan and not a standing contact preference (以后别在饭点打)."""
        if self.identity != "confirmed" or self.menu == self.flow.start or self.menu == "verify":
            return False
        pol = self.flow.callback
        rest = self._not_paying(text)
        for w in pol.not_call:
            rest = rest.replace(w, "")
        if not any(w in rest for w in pol.later_words) or self._contact_kinds(rest):
            return False
        if self.locale.parse_callback_time(rest, self.now) is not None:
            return True
        # no hour, but "等我下了班再打": a wish to be called later (asked when), not 发了工资后再说
        calls = [w for w in pol.later_words if w != "后再说"]
        vague = ("下了班", "下了工", "收了工", *(v for v in pol.later_vague if not v.startswith("再")))
        return any(any(w in c for w in calls) and any(v in c for v in vague) for c in ident.clauses(rest))

    def _confirmed_but_later(self, turn: TurnRecord, text: str, actions: list[Action]) -> list[Action] | None:
        """ "是我，在车间呢，你下班后打": an explicit yes that asks to be called later (a time, a day, or
        only "later": then asked when); a standing hour that excludes now ("以后晚上六点以后联系我，白天
        接不了") is today's callback too.  None: the call goes on."""
        if self._needs_verification() or self._anger >= self.flow.emotion.annoyed:
            return None  # "你们还有脸打过来？" is no request to be called
        pol, cb = self.flow.identity_rule, self.flow.callback
        rest = ident.unaffirmed_rest(text, self.case.name, pol.words, pol.alone)
        if not rest:
            return None
        kinds = self._contact_kinds(rest)
        said = self._outside_contact(rest) if kinds else rest
        asked = re.findall(r"[^，。！？,.!?]*[？?]", text)  # "你们还有脸打过来？": asked, not wished
        said = "，".join(c for c in ident.clauses(said) if not any(c in q for q in asked))
        said = self._not_ours(said)  # 回头我自己打过去核实: the caller will call us, no callback
        asks = self._not_paying(said)  # 我下周五全还: a promise, not a call
        for w in cb.not_call:
            asks = asks.replace(w, "")
        # a call word needs a time with it (你们又打来了 / 我晓得你们为么事打来 speak of this call)
        timed = any(w in asks for w in cb.later_words + cb.call_back_words) and (
            self.locale.parse_callback_time(asks, self.now) is not None
        )
        wants = timed or any(w in said for w in cb.later_vague)
        if not wants and kinds and any(w in rest for w in cb.not_now_words):
            when = self.locale.parse_callback_time(rest, self.now)
            wants = when is not None and when.at.date() == self.now.date() and when.at > self.now
        if not wants:
            return None
        self.identity, turn.intent = "confirmed", "busy"
        if kinds and self._contact(turn, text, kinds):
            actions += self._say("contact.ack")
        return self._start_callback(turn, Handler(callback=True, result="callback"), actions)

    def _needs_verification(self) -> bool:
        return not self._verified and (
            self.case.needs_verification
            or (self.case.company in self.flow.verify.companies and self.case.id_last4 is not None)
        )

    def _verify_intent(self, turn: TurnRecord, intent: str | None) -> str | None:
        digits = _id_digits(turn.caller_text or "")
        want = (self.case.id_last4 or "").upper()
        if len(digits) >= 4:
            return "confirm" if digits[-4:] == want else "mismatch"
        if intent == "unknown":
            return intent
        return "digits" if digits else None

    # ---------------------------------------------------------------- callbacks (SPEC v2 `callback`)
    def _start_callback(self, turn: TurnRecord, h: Handler, actions: list[Action]) -> list[Action]:
        self._cb = {"third_party": self.identity == "third_party", "asks": 0, "proposal": None, "result": h.result}
        if turn.input_kind == "speech" and turn.caller_text:
            done = self._callback_time(turn, actions)
            if done is not None:
                return done
        return self._finish_turn(turn, actions + self._cb_ask(first=True))

    def _cb_ask(self, first: bool = False) -> list[Action]:
        assert self._cb is not None and self.menu is not None
        tp = self._cb["third_party"]
        if first:
            pid = "callback.ask_third_party" if tp else "callback.ask"
        else:
            pid = "callback.third_party_again" if tp else "callback.ask_again"
        return self._ask(self.menu, prompt=pid)

    def _callback_time(self, turn: TurnRecord, actions: list[Action]) -> list[Action] | None:
        """A time in the answer: clamp into the calling window (ask once when it had to move), settle."""
        assert self._cb is not None
        said = self.locale.parse_callback_time(turn.caller_text or "", self.now)
        if said is None:
            return None
        start, end = self.flow.callback.bounds()
        prop = self._cb["proposal"]
        if (
            prop is not None
            and bare_clock(turn.caller_text or "")
            and said.at.time().replace(hour=said.at.hour % 12) == prop.time().replace(hour=prop.hour % 12)
        ):
            return self._settle_callback(turn, actions, prop)  # "行，八点就八点": the time we proposed
        if prop is not None and prop.date() != said.at.date() and names_no_day(turn.caller_text or ""):
            # we proposed tomorrow 8:00, "那中午十二点吧": noon of the day we proposed, not today
            said = replace(said, at=dt.datetime.combine(prop.date(), said.at.time()))
        at = clamp(said.at, start, end)
        if at <= self.now:
            at = clamp(said.at + dt.timedelta(days=1), start, end)
        if at != said.at and self._cb["proposal"] is None:
            self._cb["proposal"] = at
            self._cb_at = at
            return self._finish_turn(turn, actions + self._ask(self.menu or "", prompt="callback.outside_window"))
        return self._settle_callback(turn, actions, at)

    def _callback_turn(self, turn: TurnRecord, u: Understanding | None, actions: list[Action]) -> list[Action]:
        cb = self._cb
        assert cb is not None and self.menu is not None
        text = turn.caller_text or "" if turn.input_kind == "speech" else ""
        if cb["third_party"] and text and self._affirms(text, strict=True):
            # the debtor came to the phone ("老潘！电话！……喂，我是潘国庆")
            self._cb = None
            self.identity = "unknown"
            turn.intent = "confirm"  # the record must show the confirmation the disclosure rests on
            handler = self._pick(self.flow.menus[self.menu].handlers("confirm"), self.menu)
            if handler is not None:
                return self._apply(turn, handler, "confirm", actions)
        if not cb["third_party"] and self.identity != "confirmed" and self.menu == self.flow.start and text:
            pol = self.flow.identity_rule
            if (u is not None and u.intent == "third_party" and not self._affirms(text)) or any(
                ident.speaks_about(t, self.case.name, pol.relations) for t in self._forms(text)
            ):
                # "在开会" and then "我是他同事": whoever answers for the debtor is a third party
                cb["third_party"], cb["result"], self.identity = True, "third_party_callback", "third_party"
        named = (
            not cb["third_party"] and self.menu == self.flow.start and bool(text) and self._affirms(text, strict=True)
        )
        # "不方便说话" and then key 1 (the opening's "本人请按1"): a keyed yes is explicit by construction
        keyed = turn.input_kind == "dtmf" and u is not None and u.intent == "confirm" and not cb["third_party"]
        if keyed and self.menu == self.flow.start and self.identity != "confirmed":
            named = True
        if named and self.identity != "confirmed" and self._keeps_callback(text):
            self.identity = "confirmed"  # "是我，高峰。你四点半以后再打": confirmed, still called back then
        elif named and self.identity != "confirmed":
            # "我在上班" and then, asked when to call, "是我，徐婷": the person named themself and talks
            # now (a time or "call later" with it keeps the callback)
            self._cb = None
            turn.intent = "confirm"
            handler = self._pick(self.flow.menus[self.menu].handlers("confirm"), self.menu)
            if handler is not None:
                return self._apply(turn, handler, "confirm", actions)
        if text:
            done = self._callback_time(turn, actions)
            if done is not None:
                return done
            if cb["proposal"] is not None and self._accepts(text):
                return self._settle_callback(turn, actions, cb["proposal"])
            asking = any(w in text for w in ("什么事", "啥事", "么子事", "啥子事", "什么事情"))
            offers = cb["third_party"] and any(w in text for w in self.flow.callback.message_words)
            if offers or (not asking and any(w in text for w in self.flow.callback.call_back_words)):
                return self._settle_callback(turn, actions, None)
        if turn.input_kind == "dtmf" and cb["proposal"] is not None and turn.caller_text == "1":
            return self._settle_callback(turn, actions, cb["proposal"])
        cb["asks"] += 1
        if cb["asks"] > self.flow.callback.max_asks:
            return self._settle_callback(turn, actions, cb["proposal"], default=True)
        return self._finish_turn(turn, actions + self._cb_ask())

    def _keeps_callback(self, text: str) -> bool:
        """The rest of an affirmation still asks to be called later (是我，四点以后再打 / 是我，正忙着呢)."""
        pol = self.flow.identity_rule
        rest = ident.unaffirmed_rest(text, self.case.name, pol.words, pol.alone)
        if not rest:
            return False
        if self.locale.parse_callback_time(rest, self.now) is not None or self._asks_callback(rest):
            return True
        return any(w in rest for w in self.flow.callback.call_back_words)

    def _accepts(self, text: str) -> bool:
        return self.understander.understand("promise", text, self.now).intent == "accept" or text.strip(
            ident.FILLERS + ident.PARTICLES + "，。！"
        ) in ("好", "好的", "行", "可以", "中", "要得", "得", "没问题", "就这样")

    def _settle_callback(
        self, turn: TurnRecord, actions: list[Action], at: dt.datetime | None, default: bool = False
    ) -> list[Action]:
        cb = self._cb
        assert cb is not None
        tp = cb["third_party"]
        if at is None and default and not tp:  # a busy debtor who named no time: tomorrow, same time
            start, end = self.flow.callback.bounds()
            at = clamp(self.now.replace(second=0, microsecond=0) + dt.timedelta(days=1), start, end)
            prompt = "busy.end"
        elif at is None:
            prompt = "third_party.end" if tp else "busy.end"
        else:
            prompt = "callback.confirm_third_party" if tp else "callback.confirm"
        self._cb_at = at
        self.callback = {
            "at": at.isoformat(timespec="minutes") if at else None,
            "said": turn.caller_text,
            "turn": turn.idx,
            "for": "third_party" if tp else "debtor",
        }
        if cb["result"]:
            self.result = cb["result"]
        self._cb = None
        actions = actions + self._say(prompt) + [Hangup("completed")]
        self._finish("completed")
        return self._finish_turn(turn, actions)

    # ---------------------------------------------------------------- contact preferences (SPEC v2)
    def _contact_kinds(self, text: str) -> list[str]:
        kinds = [kind for kind, rxs in self._contact_cues().items() if any(rx.search(text) for rx in rxs)]
        if "stop_calling" in kinds and self._about_others(text):
            # 别再打我姐那边了，有事找我: not "never call", but not that relative's number
            kinds = [k for k in kinds if k != "stop_calling"] + ["not_family"] * ("not_family" not in kinds)
        if "stop_calling" in kinds and set(kinds) & {"preferred_time", "not_at_work", "not_family", "sms"}:
            kinds.remove("stop_calling")  # 礼拜天别打电话: not at that time (or place), not never again
        return kinds

    def _about_others(self, text: str) -> bool:
        """A stop-calling clause that names a relative (identity.relations): about their number."""
        stop = self._contact_cues().get("stop_calling", [])
        words = self.flow.identity_rule.relations
        return any(any(rx.search(c) for rx in stop) and any(w in c for w in words) for c in ident.clauses(text))

    def _contact_cues(self) -> dict[str, list[re.Pattern[str]]]:
        if not hasattr(self, "_contact_rx"):
            self._contact_rx = {
                kind: [_cue(c) for c in cues] for kind, cues in self.flow.contact_preference.kinds.items()
            }
        return self._contact_rx

    def _outside_contact(self, text: str) -> str:
        """The clauses of an answer that are not a request about our calls."""
        rx = [r for rs in self._contact_cues().values() for r in rs]
        return "，".join(c for c in ident.clauses(text) if not any(r.search(c) for r in rx))

    def _understand_rest(self, rest: str) -> Understanding:
        """The answer left beside a contact request: whole, or else its first clause that clearly
        answers this menu ("知道，她年纪大了会担心": the 知道 answers, the reason around it does not)."""
        assert self.menu is not None
        u = self.understander.understand(self.menu, rest, self.now)
        # "知道的，…白天别打": a leftover clause of the request already recorded is not the answer
        if u.intent is not None and u.intent != "stop_calling":
            return u
        for clause in ident.clauses(rest):
            r = self.understander.understand(self.menu, clause, self.now)
            if r.intent is not None and not r.is_global and r.confidence >= CONTINUE_MIN:
                return r
        return u

    def _contact(self, turn: TurnRecord, text: str, kinds: list[str] | None = None) -> bool:
        """Record a calm request about our calls; True when it is new in this call."""
        kinds = kinds if kinds is not None else self._contact_kinds(text)
        if not kinds or self._anger >= self.flow.emotion.annoyed:
            return False
        before = self.contact_preference
        merged = list(dict.fromkeys((before or {}).get("kinds", []) + kinds))
        if before is not None and merged == before["kinds"]:
            return False
        said = [before["said"], text] if before else [text]
        self.contact_preference = {"kinds": merged, "said": "；".join(said), "turn": turn.idx}
        return True

    def _resume(self, turn: TurnRecord, h: Handler, intent: str, actions: list[Action]) -> list[Action]:
        """A calm global request (stop_calling): recorded and acknowledged, then the rest of the answer
        is understood at this menu, or the question is asked again."""
        assert self.menu is not None
        text = turn.caller_text or ""
        if h.contact:
            kinds = self._contact_kinds(text) or [h.contact]
            if self._contact(turn, text, kinds) or h.say:
                actions += self._say("contact.ack")
        for pid in h.say:
            actions += self._say(pid)
        rest = self._outside_contact(text)
        if rest and turn.input_kind == "speech":
            u = self._identity_rule(turn, self._understand_rest(rest))
            if u.intent is not None and not u.is_global:
                turn.intent, turn.slots, turn.confidence = u.intent, dict(u.slots), u.confidence
                if self._cb is not None:
                    return self._callback_turn(turn, u, actions)
                if u.intent == "confirm" and self.menu == self.flow.start:  # "是我，以后六点后联系，白天接不了"
                    later = self._confirmed_but_later(turn, text, actions)
                    if later is not None:
                        return later
                return self._answer(turn, u, actions)
            if u.intent is None and self._cb is None and self.identity == "confirmed" and rest != text:
                # "下个月三号一次还清，这之前别天天打": no answer to this menu, but a plan or a day for the
                # later ones — heard ahead from the other clauses, as any answer is
                said, turn.caller_text = turn.caller_text, rest
                try:
                    return self._answer(turn, u, actions)
                finally:
                    turn.caller_text = said
        if self._cb is not None:
            return self._finish_turn(turn, actions + self._cb_ask())
        spec = self.flow.menus[self.menu]
        return self._finish_turn(turn, actions + self._ask(self.menu, prompt=spec.reask))

    # ---------------------------------------------------------------- questions, reductions, patience (issue 12)
    def _question_topic(self, turn: TurnRecord, u: Understanding) -> str | None:
        """The topic when this turn is a caller's question (SPEC §1 `question`), else None.  At the
        opening "你们怎么有我电话" / "是机器人吗" may be heard as ask_who: they are questions too."""
        if turn.input_kind != "speech":
            return None
        if u.intent == "question":
            return str(u.slots.get("topic") or self._topic_of(turn.caller_text or ""))
        if u.intent == "ask_who" and self.menu == self.flow.start:
            topic = self._topic_of(turn.caller_text or "")
            return topic if topic in ("number_source", "robot") else None
        return None

    def _needs_specialist(self, text: str) -> bool:
        finder = getattr(self.understander, "needs_specialist", None)
        return bool(finder(text)) if finder is not None else False

    def _topic_of(self, text: str) -> str:
        finder = getattr(self.understander, "question_topic", None)
        return str(finder(text)) if finder is not None else "other"

    def _request(self, kind: str, turn: TurnRecord, **extra: Any) -> dict[str, Any]:
        """A structured request for a human (SPEC v3 `requests`): kind, what was said, the turn."""
        req = {"kind": kind, "detail": turn.caller_text or "", "turn": turn.idx, **extra}
        self.requests.append(req)
        return req

    def _question(self, turn: TurnRecord, topic: str, actions: list[Action]) -> list[Action]:
        """Answer from the company's content, then the pending question again; no answer → noted."""
        turn.intent, turn.slots = "question", {"topic": topic}
        self._heard[(turn.menu, "question")] = self._heard.get((turn.menu, "question"), 0) + 1
        if self.identity != "confirmed" and topic not in BEFORE_IDENTITY:
            actions += self._say("question.identity_first")  # nothing about the debt before identity
        else:
            answer = self._answer_for(topic)
            if answer:
                actions += answer
                if self._needs_specialist(turn.caller_text or ""):  # "APP点不动" / "明年要买房": theirs
                    self._request("question", turn, topic=topic, answered=True)
            else:
                self._request("question", turn, topic=topic)
                actions += self._say("question.noted")
                if self.callback is None:  # the specialist answers by calling back (SPEC §3 requests)
                    self.callback = {"at": None, "said": turn.caller_text, "turn": turn.idx, "for": "debtor"}
                    self.callback["about"] = "question"
        return self._continue(turn, actions, ("question",))

    def _answer_for(self, topic: str) -> list[Action]:
        pid = f"answer.{topic}"
        if topic == "other" or pid not in self.content.answers():
            return []
        try:
            return self._say(pid)
        except PromptError:  # the case lacks a figure the answer needs (fees without a breakdown)
            return []

    def _reduction(self, turn: TurnRecord, actions: list[Action]) -> list[Action]:
        """减免 / 停息挂账 / 少还点利息: a human decision unless the company's policy lets the bot offer.
        Registered with a specialist callback; the caller hears what can be agreed today."""
        turn.intent = "reduction"
        self._heard[(turn.menu, "reduction")] = self._heard.get((turn.menu, "reduction"), 0) + 1
        if self.identity != "confirmed":
            if not (turn.input_kind == "speech" and self._affirms(turn.caller_text or "")):
                actions += self._say("reduction.identity_first")  # "是我，能减免吗": confirmed first, no aside
            if self.identity != "third_party":  # a family member's wish is not the debtor's request
                self._early_reduction = self._early_reduction or turn
            return self._continue(turn, actions, ("reduction",))
        if any(r.get("kind") == "reduction" for r in self.requests):  # said again with the plan: noted once
            at = self._reduction_callback_at(turn.caller_text or "")
            if at is not None and self.callback is not None and self.callback.get("about") == "reduction":
                self._cb_at, self.callback["at"] = at, at.isoformat(timespec="minutes")  # the time said now
                actions += self._say("reduction.noted_at")
            said = turn.caller_text or "" if turn.input_kind == "speech" else ""
            # as when first said: a deferral word too ("批下来之前啥也不定，让专员打给我"); a time for the
            # specialist's call alone ("明天两点叫专员打给我") is kept and the plan still asked
            deferred = any(w in said for w in self.flow.reduction.defer_words)
            if said and deferred and self._waits_for_reduction(turn, said):
                if self._pending is not None:  # the most months offered was not taken: no plan agreed
                    for name in ("plan", "months", "promise_amount"):
                        self.slots.pop(name, None)
                    self._pending = None
                return self._finish_turn(turn, actions + self._end_waiting(turn))
            return self._continue(turn, actions, ("reduction",))
        actions += self._register_reduction(turn)
        said = turn.caller_text or "" if turn.input_kind == "speech" else ""
        if any(w in said for w in self.flow.reduction.defer_words) and self._waits_for_reduction(turn, said):
            return self._finish_turn(turn, actions + self._end_waiting(turn))  # "回了电话我再定": nothing today
        if not self._told_can_do and "promise_date" not in self.slots:  # at the closing it is agreed already
            self._told_can_do = True
            actions += self._say("reduction.can_do")
        return self._continue(turn, actions, ("reduction",))

    def _register_reduction(self, turn: TurnRecord) -> list[Action]:
        """The request (said at `turn`) for a specialist's decision, with their callback; what is said."""
        actions: list[Action] = []
        policy = self.content
        offered = policy.reduction_without_person and "reduction.offer" in policy.answers()
        self._request("reduction", turn, decision="offered" if offered else "human")
        at = self._reduction_callback_at(turn.caller_text or "")
        if at is not None and not offered:  # "让专员下午三点以后回电": that time is kept and read back
            self._cb_at = at
            actions += self._say("reduction.noted_at")
        else:
            actions += self._say("reduction.offer" if offered else "reduction.noted")
        if self.callback is None or (at is not None and self.callback.get("about") == "reduction"):
            self.callback = {  # the specialist calls back with the decision (at the time named, if any)
                "at": at.isoformat(timespec="minutes") if at else None,
                "said": turn.caller_text,
                "turn": turn.idx,
                "for": "debtor",
                "about": "reduction",
            }
        return actions

    def _reduction_callback_at(self, text: str) -> dt.datetime | None:
        """The time a reduction request asks the specialist to call back at (下午三点以后给我回个电话),
        moved into the calling window; None when no call-back time was said."""
        said = self.locale.parse_callback_time(text, self.now)
        if said is None or not (
            self._asks_callback(text) or any(w in text for w in self.flow.callback.call_back_words)
        ):
            return None
        start, end = self.flow.callback.bounds()
        at = clamp(said.at, start, end)
        return at if at > self.now else clamp(said.at + dt.timedelta(days=1), start, end)

    def _continue(self, turn: TurnRecord, actions: list[Action], skip: tuple[str, ...]) -> list[Action]:
        """After a digression: the rest of the answer (clauses that were not the question/request) is
        understood at this menu; otherwise the pending question is asked again, differently."""
        assert self.menu is not None
        menu, text = self.menu, turn.caller_text or ""
        digressions = set(skip) | {"question", "reduction", "repeat", "slower", "confused"}
        fold = self.flow.questions.fold.get(str(turn.slots.get("topic"))) if "question" in skip else None

        red = self.flow.reduction

        def aside(c: str) -> bool:  # a digression, or a clause that only leads up to the question
            intent = self.understander.understand(menu, c, self.now).intent
            if fold is not None and intent in fold.intents:
                return not any(w in c or w in self.locale.normalize(c).text for w in fold.unless)
            if intent == "dispute" and "reduction" in skip:  # "这利息也太高了，能减点吗": the wish's reason
                return any(w in c for w in red.cost_words) and not any(w in c for w in red.deny_words)
            return intent in digressions

        parts = ident.clauses(text)

        def answer_part(c: str) -> str:  # "能免的话我月底一把还清": the payment offered on a condition is said
            tail = c.rpartition("的话")[2] if "reduction" in skip and aside(c) else ""
            return tail if tail and not aside(tail) else c

        rest = "，".join(
            c
            for c in map(answer_part, _statements(text))
            if not aside(c)
            # "让专员明天上午打给我" with a reduction request is its callback, no answer to this menu
            and not ("reduction" in skip and self._reduction_callback_at(c) is not None)
            # "不是，你们怎么有我号码？": a bare 不是 before a question protests, it names no one
            and not (menu == self.flow.start and self.locale.normalize(c).text in _BARE_NO)
        )
        listen = self.flow.ahead.listen.get(menu)
        optional = (
            self.flow.menus[menu].give_up_after is not None
        )  # "没有。会起诉吗？" answers the unusual-loss question
        if listen is not None and listen.with_ and not optional and not any(w in rest for w in listen.with_):
            rest = ""  # "本金我认" after a reduction request is no plan: ask the question again
        if (
            rest
            and "reduction" in skip
            and self.understander.understand(menu, rest, self.now).intent == "full"
            and self.understander.understand("promise", rest, self.now).intent != "date"
            and "先" not in rest  # "减免你们帮我问着，我先全部还了": meanwhile, not the price: kept
            and not self._plan_first(menu, text)  # "一次还清。不过违约金能免吗": the plan, then the wish
        ):  # "打个八折，我一次结清": a full payment offered as the price of a discount, with no day, is
            rest = ""  # no plan yet (ask what can be agreed today); "…下周一把还了" names its day: kept
        if rest and len(parts) > 1:
            u = self.understander.understand(menu, rest, self.now)
            u = self._identity_rule(turn, u)
            clear = u.intent is not None and not u.is_global and u.confidence >= CONTINUE_MIN
            if not clear and optional:  # "没有。不过我想问问…": the one clause that answers an optional question
                for c in _statements(text):
                    one = self.understander.understand(menu, c, self.now)
                    if one.intent is not None and not one.is_global and one.confidence >= CONTINUE_MIN:
                        u, clear = one, True
                        break
            if clear or (self._pending is not None and not u.is_global):  # 那先按十二期来 answers "最多12期，可以吗"
                if clear:
                    turn.intent, turn.slots, turn.confidence = u.intent, dict(u.slots), u.confidence
                if turn.asr_confidence is not None:  # _answer weighs the ASR confidence in again
                    u = replace(u, confidence=min(1.0, u.confidence / max(turn.asr_confidence, 1e-6)))
                return self._answer(turn, u, actions)
        implied = self.flow.questions.implies.get(menu, {}).get(str(turn.slots.get("topic")))
        if implied and "question" in skip and not (fold is not None and any(w in text for w in fold.unless)):
            # "这六千六里都是啥钱？" at the debt question: the caller knows of it, the call goes on
            turn.intent = implied
            return self._answer(turn, Understanding(menu=menu, intent=implied, confidence=1.0, text=text), actions)
        p = self._pending
        if p is not None and p.kind == "amount":
            return self._finish_turn(turn, actions + self._ask_range())
        if p is not None and p.kind == "figure":
            return self._finish_turn(turn, actions + self._ask(menu, prompt="amount.principal"))
        back = self._say("question.back")
        if p is not None and p.kind == "months" and f"{menu}.max_{p.intent}" in self.prompts:
            return self._finish_turn(
                turn, actions + back + self._ask(menu, prompt=f"{menu}.max_{p.intent}", extra={"months": p.offer})
            )
        return self._finish_turn(turn, actions + back + self._reask(menu))

    def _principal_whole(self, turn: TurnRecord, u: Understanding, text: str) -> bool:
        """A part payment that is the principal all at once ("本金我全还", "本钱一把结清") while the fees are
        asked off in the same breath: the whole debt as it stands is the plan, the waiver is the request."""
        if not any(r.get("kind") == "reduction" and r.get("turn") == turn.idx for r in self.requests):
            return False
        said = self.locale.normalize(text).text
        whole = "amount" not in u.slots and u.slots.get("share") == 1.0  # 全还 / 都还上: all of it
        return bool(_PRINCIPAL.search(said)) and (bool(_ONE_GO.search(said)) or whole)

    def _settles_all(self, menu: str, turn: TurnRecord) -> bool:
        """One clause of the answer settles the whole debt with no figure of its own ("我想一次还清"), while
        a reduction is asked in the same call: a lower figure said elsewhere is the price asked, not the plan."""
        if turn.input_kind != "speech" or not any(r.get("kind") == "reduction" for r in self.requests):
            return False
        for c in _statements(turn.caller_text or ""):
            one = self.understander.understand(menu, c, self.now)
            if one.intent == "full" and "amount" not in one.slots and one.slots.get("share") in (None, 1.0):
                return True
        return False

    def _plan_first(self, menu: str, text: str) -> bool:
        """The answer opens with a plan said plainly (not "要是…的话/…就…"), the wish only after it."""
        first = next(iter(_statements(text)), "")
        return (
            bool(first)
            and not any(w in first for w in _IF_WORDS)
            and self.understander.understand(menu, first, self.now).intent in _PLANS
        )

    def _waits_for_reduction(self, turn: TurnRecord, text: str) -> bool:
        """After a reduction request: "等你们回话" with nothing else this menu can use."""
        pol = self.flow.reduction
        if not any(r.get("kind") == "reduction" for r in self.requests) or self.menu not in ("plan", "promise"):
            return False
        parts = ident.clauses(text)
        waiting = [c for c in parts if any(w in c or w in self.locale.normalize(c).text for w in pol.wait_words)]
        if not waiting:
            return False
        rest = "，".join(
            c for c in parts if c not in waiting and not any(w in c for w in ("定不了", "说不好", "不好说"))
        )
        if not rest or self.menu is None:
            return True
        menu = self.menu
        if any(  # "我先还一半，剩下的等你们回复": what is paid today is agreed now, only the rest waits
            self.understander.understand(menu, c, self.now).intent in _PLANS
            for c in parts
            if c not in waiting and any(w in c for w in ("还", "付", "结", "给", "转"))
        ):
            return False
        u = self.understander.understand(menu, rest, self.now)
        return u.intent is None or u.intent in ("unknown", "cannot", "reduction")  # the wish itself, said again

    def _end_waiting(self, turn: TurnRecord) -> list[Action]:
        pol = self.flow.reduction
        turn.intent = "reduction_wait"
        self.result = pol.result
        actions = self._say(pol.end_prompt) + [Hangup("completed")]
        self._finish("completed")
        return actions

    def _reask(self, menu: str) -> list[Action]:
        """The pending question again: `<menu>.ask_again` where there is one, else the last question."""
        if f"{menu}.ask_again" in self.prompts and (self._last_ask is None or self._last_ask.menu == menu):
            return self._ask(menu, prompt=f"{menu}.ask_again")
        last = (
            self._last_ask.prompt_id.removesuffix(".slow") if self._last_ask and self._last_ask.menu == menu else None
        )
        spec = self.flow.menus[menu]
        if spec.reask and last in (None, self._ask_prompt_plain(menu)):
            return self._ask(menu, prompt=spec.reask)  # "我尽量说得简短些…": not the opening words again
        return self._ask(menu, prompt=last)

    def _ask_prompt_plain(self, menu: str) -> str | None:
        options = self.flow.menus[menu].ask_options()
        return options[-1].prompt if options else None

    def _repeat(self, turn: TurnRecord, intent: str, actions: list[Action]) -> list[Action]:
        """`repeat` replays the question; `slower` and the second repeat of the call switch the rest
        of the call to slow mode.  Both count toward the menu's misses (the 3rd hands over)."""
        menu = turn.menu
        pol = self.flow.patience
        if intent == "repeat":
            self._repeats += 1
        slowing = not self.slow and (intent == "slower" or self._repeats >= pol.slow_after_repeats)
        if pol.count_repeats:
            self._struggle.setdefault(menu, []).append(intent)
            n = self._misses[menu] = self._misses.get(menu, 0) + 1
            if n >= self.flow.max_misses:
                return self._confused(turn, actions)
        if slowing:
            self.slow = True
            actions += self._say("slower.ack")
        last = self._last_ask
        if last is None:
            return self._finish_turn(turn, actions + self._reask(menu))
        if not slowing and self._verbatim.get(last.text, 0) < pol.max_verbatim:
            self._verbatim[last.text] = self._verbatim.get(last.text, 0) + 1
            return self._finish_turn(turn, actions + [last])  # the same words again
        return self._finish_turn(turn, actions + self._ask(menu, prompt=last.prompt_id.removesuffix(".slow")))

    def _confused(self, turn: TurnRecord, actions: list[Action]) -> list[Action]:
        """The third failure at a menu: hand over as `confused` with a note of what was hard."""
        out = self._apply(turn, Handler(escalate="confused"), turn.intent, actions)
        if self.trigger is not None:
            kinds = self._struggle.get(turn.menu, [])
            counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
            what = "、".join(f"{self.flow.label('miss', k)}{n}次" for k, n in counts.items())
            label = self.flow.menus[turn.menu].label
            self.trigger.note = f"在{label}：{what}" if what else f"在{label}"
        return out

    def _max_months(self, intent: str) -> int | None:
        """The most months the company lets the bot agree for this plan (company.yaml policy)."""
        if intent == "installment":
            return self.content.max_installments
        if intent == "extension":
            return self.content.max_extension_months
        return self.flow.promise.max_months.get(intent)

    def _first_payment_check(self, turn: TurnRecord) -> list[Action]:
        """A first payment below the company's minimum: noted for a specialist, the call goes on."""
        least = self.content.min_first_payment
        said = self.slots.get("promise_amount")
        if not least or said is None or not isinstance(said.value, (int, float)) or said.value >= least:
            return []
        if any(r.get("kind") == "plan_exception" for r in self.requests):
            return []
        self._request("plan_exception", turn, amount=said.value, minimum=least)
        return self._say("plan.min_first")

    # ---------------------------------------------------------------- mixed initiative (SPEC §1)
    def _listen_ahead(self, turn: TurnRecord, menu: str) -> bool:
        """Understand the answer (and each clause of it) against the later menus of `ahead.listen`;
        what they hear is kept for when the flow gets there.  True when something was heard."""
        pol = self.flow.ahead
        if menu not in pol.order:
            return False
        # a request about our calls ("一周联系一次") is not an answer to any question
        rx = [r for rs in self._contact_cues().values() for r in rs]
        parts = [c for c in ident.clauses(turn.caller_text or "") if not any(r.search(c) for r in rx)]
        if menu == self.flow.start:  # "我是张伟" names the debtor, not a job (我是司机)
            pol_id = self.flow.identity_rule
            parts = [c for c in parts if not ident.affirms(c, self.case.name, pol_id.words, pol_id.alone)]
        text = "，".join(parts)
        if not text:
            return False
        pieces = (parts if len(parts) > 1 else []) + [text]  # a clause's slots are the precise ones
        found = False
        for later in pol.order[pol.order.index(menu) + 1 :]:
            listen = pol.listen.get(later)
            # a later answer said again (刚才说了，分三期) is heard again: the newer words win, and the
            # question it was said at is not a miss
            if listen is None or self._answered(later):
                continue
            for piece in pieces:
                if listen.with_ and not any(w in piece for w in listen.with_):
                    continue
                if listen.and_with and not any(w in piece for w in listen.and_with):
                    continue
                if any(w in piece for w in listen.without):
                    continue
                u = self.understander.understand(later, piece, self.now)
                if u.is_global or u.intent not in listen.intents or u.confidence < listen.min_confidence:
                    continue
                if later == "promise" and (
                    self._date_problem(u.slots.get("date"))
                    # 今天能谈的话… / 周末做点家教: a day said about something else than paying
                    or self.locale.read_date(self.locale.normalize(piece).text, self.now).for_payment is False
                    or u.slots.get("date_hint")  # 年后 / 年底: read back and confirmed at the promise menu
                    or _LOOSE_WEEK.search(self.locale.normalize(piece).text)  # 下礼拜 with no day: asked which day
                ):
                    continue
                if later == "plan" and _SOMEONE_PAID.search(piece):
                    continue  # 我儿子说他给还了: a payment someone reported made, no plan of the debtor's
                if (
                    later == "plan"
                    and "months" not in u.slots
                    and "months" in (m := self.understander.understand(later, text, self.now)).slots
                ):
                    u = replace(u, slots={**u.slots, "months": m.slots["months"]})
                if later == "plan" and "amount" not in u.slots and piece in parts:
                    # 先还一半嘛，两千五: the figure said in the next breath is the part payment
                    nxt = parts[parts.index(piece) + 1 : parts.index(piece) + 2]
                    figure = (
                        self.locale.parse_amount(self.locale.normalize(nxt[0]).text)
                        if nxt and len(nxt[0]) <= 8
                        else None
                    )
                    if figure:
                        u = replace(u, slots={**u.slots, "amount": figure})
                if later == "plan" and u.intent in ("installment", "extension"):
                    u = replace(u, slots=self._not_the_total(u.slots))
                if later == "plan" and u.intent == "partial" and self._principal_whole(turn, u, piece):
                    # "滞纳金能免吗？本金我全还" at the debt question: the plan is the whole debt, as at the plan menu
                    u = replace(
                        u, intent="full", slots={k: v for k, v in u.slots.items() if k not in ("amount", "share")}
                    )
                if later == "promise" and "plan" in self._ahead and self._ahead["plan"][1] == turn.idx:
                    # the amount of a plan said in the same breath is the plan's (five thousand a month
                    # earned is not what is paid on the day)
                    plan_slots = self._ahead["plan"][0].slots
                    if "amount" in plan_slots or "share" in plan_slots:
                        u = replace(u, slots={k: v for k, v in u.slots.items() if k != "amount"})
                self._ahead[later] = (u, turn.idx)
                found = True
                break
        return found

    def _answered(self, menu: str) -> bool:
        spec = self.flow.menus[menu]
        if spec.record and spec.record in self.slots:
            return True
        return any(h == menu for h, _ in self._heard)

    def _take_ahead(self, menu: str) -> list[Action] | None:
        """Entering a menu already answered: confirm briefly and follow that answer instead of asking."""
        u, idx = self._ahead.pop(menu)
        spec = self.flow.menus[menu]
        handler = self._pick(spec.handlers(u.intent or ""), menu)
        turn = self.turns[-1] if self.turns else None
        if handler is None or turn is None or not (handler.goto or handler.propose):
            return None
        if u.intent == "installment" and not isinstance(u.slots.get("months"), int):
            return None  # "期数分长一点" names no number of months: the plan question is asked, never a default
        self.menu = menu
        held = self._hold(self.turns[idx - 1], u, handler, u.intent, spec.record, spec.slots)
        if held is not None:  # "分六十期" said early: the most allowed is offered, as at the menu itself
            return held
        self._store_slots(self.turns[idx - 1], u, spec.record, spec.slots)
        said = self._say(f"ahead.{menu}") if f"ahead.{menu}" in self.prompts else []
        return self._apply(turn, handler, u.intent, said, menu=menu)

    def _date_problem(self, value: Any) -> str | None:
        """Why a date cannot be promised ("past", "too_far": the suffix of the prompt to ask again)."""
        if value is None:
            return None
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            return "invalid"  # never let an unreadable date reach the closing
        if day < self.now.date():
            return "past"
        if (day - self.now.date()).days > self.flow.promise.max_days_ahead:
            return "too_far"
        return None

    def _after_extension(self, u: Understanding, text: str) -> Understanding:
        """缓一个月…十八号: a bare day (no month named) after an extension of N months is that day in
        the month the payment moves to, not the next such day from today (which may be today)."""
        plan, months = self.slots.get("plan"), self.slots.get("months")
        if plan is None or plan.value != "extension" or "月" in text or not _BARE_DAY.search(text):
            return u
        n = int(months.value) if months is not None and str(months.value).isdigit() else 1
        day = dt.date.fromisoformat(str(u.slots["date"]))
        earliest = _add_months(self.now.date(), n) - dt.timedelta(days=15)
        while day < earliest:
            day = _add_months(day, 1)
        return replace(u, slots={**u.slots, "date": day.isoformat()})

    def _borrow(self, u: Understanding, turn: TurnRecord) -> Understanding:
        """Try the intents this menu borrows from another menu when its own grammar found nothing."""
        assert self.menu is not None
        if u.intent is not None or turn.input_kind != "speech":
            return u
        for other, intents in self.flow.menus[self.menu].borrow.items():
            alt = self.understander.understand(other, turn.caller_text or "", self.now)
            if alt.intent in intents:
                return replace(alt, menu=self.menu, emotion=max(alt.emotion, u.emotion), cues=u.cues + alt.cues)
        return u

    def _emotion(self, turn: TurnRecord, u: Understanding, acoustic: float) -> float:
        score = _combine(u.emotion, acoustic)
        self.emotion_timeline.append(
            {
                "turn": turn.idx,
                "lexical": round(u.emotion, 3),
                "acoustic": round(acoustic, 3),
                "score": round(score, 3),
                "cues": list(u.cues),
                "text": turn.caller_text,
            }
        )
        return score

    def _pick(self, handlers: list[Handler], menu: str) -> Handler | None:
        for h in handlers:
            if not h.when or any(self._holds(c, menu) for c in h.when):
                return h
        return None

    def _holds(self, c: Condition, menu: str) -> bool:
        if c.emotion is not None:
            value: Any = self._anger
        elif c.heard is not None:
            value = self._heard.get((menu, c.heard), 0)
        else:
            slot = self.slots.get(c.slot or "")
            value = slot.value if slot else None
        if c.set is not None:
            return (value is not None) == c.set
        if c.in_ is not None:
            return value in c.in_
        if c.below is not None:
            return isinstance(value, (int, float)) and value < c.below
        if c.at_least is not None:
            return isinstance(value, (int, float)) and value >= c.at_least
        return value is not None

    def _store_slots(self, turn: TurnRecord, u: Understanding, record: str | None, rename: dict[str, str]) -> None:
        if record and u.intent:
            self.slots[record] = Slot(u.intent, u.confidence, turn.idx)
        share = u.slots.get("share")
        paying_share = u.intent not in ("installment", "extension", "cannot")  # 分期半年内还清 is not a share
        if (
            isinstance(share, (int, float))
            and 0 < share <= 1
            and paying_share
            and not u.slots.get("amount")
            and "amount" in rename
        ):
            # 三分之一 / 一半 / 全部 of the debt → yuan (rounded up to the yuan)
            due = min(self.case.amount, math.ceil(self.case.amount * share - 1e-6))
            self.slots[rename["amount"]] = Slot(due, u.confidence, turn.idx)
        for name, value in u.slots.items():
            if value is None:
                continue
            name = rename.get(name, name)
            before = self.slots.get(name)
            if before is not None and isinstance(before.value, list) and isinstance(value, list):
                value = list(dict.fromkeys(before.value + value))  # step-by-step answers add up
            self.slots[name] = Slot(value, u.confidence, turn.idx)

    def _miss(self, turn: TurnRecord, actions: list[Action], confused: bool = False) -> list[Action]:
        menu = turn.menu
        spec = self.flow.menus[menu]
        if not confused:  # the flow may give silence / no match a meaning here (`answers.nomatch`)
            handler = self._pick(spec.handlers("nomatch"), menu)
            if handler is not None:
                return self._apply(turn, handler, None, actions)
        kind = "confused" if confused else "noinput" if turn.input_kind == "noinput" else "nomatch"
        self._struggle.setdefault(menu, []).append(kind)
        n = self._misses[menu] = self._misses.get(menu, 0) + 1
        if not confused and self._silent(turn):
            quiet = self._hardship_silence(turn, actions)
            if quiet is not None:
                return quiet
        spoke = any(t.menu == menu and t.input_kind in ("speech", "dtmf") for t in self.turns)
        if spec.give_up_after is not None and n >= spec.give_up_after and spoke:
            # an optional fact not understood after a re-ask: recorded as unknown, the call goes on
            # (a good collector never hands a cooperating caller over for it); a caller who has said
            # nothing at all here gets the step-by-step retry and, still silent, the hand-over
            handler = self._pick(spec.handlers(GAVE_UP), menu)
            if handler is not None:
                if spec.record:
                    self.slots[spec.record] = Slot("unknown", 0.0, turn.idx)
                return self._apply(turn, handler, GAVE_UP, actions)
        if n >= self.flow.max_misses:
            return self._confused(turn, actions)
        if n == 1 and spec.propose_on_miss and not confused:
            return self._finish_turn(turn, actions + self._propose(menu))
        if n == 1 and confused and spec.explain:
            pid: str | None = spec.explain
        else:  # in slow mode the step-by-step wording straight away
            pid = (spec.retry1 if n == 1 and not self.slow else spec.retry2) or spec.retry1
        actions += self._ask(menu, prompt=pid)
        return self._finish_turn(turn, actions)

    def _silent(self, turn: TurnRecord) -> bool:
        """No input, or an answer of no words (……, 唉……)."""
        if turn.input_kind == "noinput":
            return True
        return turn.input_kind == "speech" and not self.locale.normalize(turn.caller_text or "").text

    def _hardship_silence(self, turn: TurnRecord, actions: list[Action]) -> list[Action] | None:
        """A caller in hardship who falls silent (flow.yaml `hardship_silence`): a check-in on the
        person, not the menu again; silent again → a human, with a note saying why."""
        pol = self.flow.hardship_silence
        if pol is None or not any(self._holds(c, turn.menu) for c in pol.when):
            return None
        if any(self._holds(c, turn.menu) for c in pol.unless):
            return None
        self._quiet += 1
        if self._quiet >= pol.escalate_after:
            out = self._apply(turn, Handler(say=pol.say, escalate=pol.reason), None, actions)
            if self.trigger is not None:
                self.trigger.note = pol.note or None
            return out
        return self._finish_turn(turn, actions + self._ask(turn.menu, prompt=pol.check_in))

    def _apply(
        self, turn: TurnRecord, h: Handler, intent: str | None, actions: list[Action], menu: str | None = None
    ) -> list[Action]:
        menu = menu or turn.menu
        if intent:
            self._heard[(menu, intent)] = self._heard.get((menu, intent), 0) + 1
        goto = h.goto
        if h.identity == "confirmed" and self._needs_verification():
            if menu == "verify":
                self._verified = True
            else:
                goto = "verify"  # the second factor first (SPEC §1): nothing disclosed until it matches
        if h.identity and not (h.identity == "confirmed" and goto == "verify" and menu != "verify"):
            self.identity = h.identity
        if h.result:
            self.result = h.result
        if h.accept_proposal and "proposed_date" in self.slots:
            self.slots["promise_date"] = replace(self.slots["proposed_date"], turn=turn.idx)
        if h.empathy:
            actions += self._say("empathy")
        for pid in h.say:
            actions += self._say(pid)
        if h.escalate:
            self.trigger = Trigger(h.escalate, turn.idx, turn.caller_text)
            actions += self._say("transfer.notice") + [Transfer(h.escalate)]
            self._finish("escalated")
        elif h.end:
            actions.append(Hangup(h.end))
            self._finish(h.end)
        elif h.callback:
            return self._start_callback(turn, h, actions)
        elif h.propose:
            actions += self._propose(menu)
        elif goto:
            self._ask_override = h.ask if goto == h.goto else None
            actions += self._enter(goto)
        return self._finish_turn(turn, actions)

    def _finish_turn(self, turn: TurnRecord, actions: list[Action]) -> list[Action]:
        turn.actions = actions
        return actions

    def _finish(self, outcome: str) -> None:
        self.finished, self.outcome, self.menu = True, outcome, None

    # ---------------------------------------------------------------- speaking
    def _enter(self, menu: str) -> list[Action]:
        pol = self.flow.ahead
        if menu in pol.skip and pol.settled and all(m in self._ahead for m in pol.settled):
            menu = pol.settled[0]  # plan and day already proposed: straight to confirming them
            self._ask_override = None  # "还有别的支出吗" belonged to the question skipped
        spec = self.flow.menus[menu]
        if menu in self._ahead and not spec.final and not self._ask_override:
            taken = self._take_ahead(menu)
            if taken is not None:
                return taken
        self.menu = menu
        if spec.result:
            self.result = spec.result
        if spec.final:
            actions: list[Action] = self._say(self._ask_prompt(menu)) + [Hangup(spec.final)]
            self._finish(spec.final)
            return actions
        return self._ask(menu)

    def _ask_prompt(self, menu: str) -> str:
        if self._ask_override:
            pid, self._ask_override = self._ask_override, None
            return pid
        for opt in self.flow.menus[menu].ask_options():
            if not opt.when or any(self._holds(c, menu) for c in opt.when):
                return opt.prompt
        raise AssertionError(f"menu {menu}: no ask option matched")  # flow check guarantees a fallback

    def _ask(self, menu: str, prompt: str | None = None, extra: dict[str, Any] | None = None) -> list[Action]:
        pid = prompt or self._ask_prompt(menu)
        said = self._say(pid, extra)
        if not said:
            return []
        ask = replace(cast(Say, said[0]), menu=menu)  # _say returns only Say actions
        self._last_ask = ask
        return [ask]

    def _propose(self, menu: str) -> list[Action]:
        day = self.now.date() + dt.timedelta(days=self.flow.promise.propose_in_days)
        self.slots["proposed_date"] = Slot(day.isoformat(), 1.0, len(self.turns))
        return self._ask(menu, prompt=f"{menu}.propose")

    def _say(self, prompt_id: str, extra: dict[str, Any] | None = None) -> list[Action]:
        """Render a prompt with a variant not yet said this call; lines in `no_repeat` are skipped
        once every variant has been used rather than repeated."""
        if prompt_id.startswith("answer.") or prompt_id == "reduction.offer":
            book = self.content.answers()  # the company's own wording (audio_prompts/company.yaml)
        else:
            book = self.prompts
            if self.slow and f"{prompt_id}.slow" in self.prompts:
                prompt_id = f"{prompt_id}.slow"
        fresh = book.fresh_variants(prompt_id, self.said)
        if not fresh:
            if prompt_id in self.flow.no_repeat:
                return []
            fresh = list(range(len(book.spec(prompt_id).variants)))
        ctx = {**self._context(), **(extra or {})}
        variant = self.rng.choice(fresh)
        say = book.render(prompt_id, ctx, variant=variant)
        limit = self.flow.patience.max_verbatim
        if self._verbatim.get(say.text, 0) >= limit:  # never a third time word for word: another wording
            for v in range(len(book.spec(prompt_id).variants)):
                other = book.render(prompt_id, ctx, variant=v)
                if self._verbatim.get(other.text, 0) < limit:
                    variant, say = v, other
                    break
        self.said.add(f"{prompt_id}.{variant}")
        if self.slow:
            say = replace(say, rate=min(say.rate, self.flow.patience.slow_rate))
        self._verbatim[say.text] = self._verbatim.get(say.text, 0) + 1
        return [say]

    def dynamic_pieces(self) -> set[tuple[str, float]]:
        """Case-dependent prompt pieces this call may say (see PromptBook.dynamic_pieces)."""
        return self.prompts.dynamic_pieces(self._context())

    def _context(self) -> dict[str, Any]:
        c = self.case
        ctx: dict[str, Any] = {
            "name": c.name,
            "company": c.company,
            "phone": c.phone,
            "days": c.days_overdue,
            "amount": self.locale.money(c.amount),
            "assistant": self.content.assistant,
            "max_installments": self.content.max_installments,
            "max_extension": self.content.max_extension_months,
        }
        for name, value in (c.breakdown() or {}).items():  # the fee breakdown, when the case has one
            ctx[name] = self.locale.money(value)
        if "plan" in self.slots:
            ctx["months"] = self._months()
            ctx["plan"] = self.plan_label()
            ctx["amount"] = self.locale.money(self._payment_amount())
        # the newer of the promise and a proposal (a too-far date answered with the latest allowed day)
        dates = [d for d in (self.slots.get("promise_date"), self.slots.get("proposed_date")) if d is not None]
        date = max(dates, key=lambda d: d.turn) if dates else None
        if date is not None:
            ctx["date"] = self.locale.spoken_date(dt.date.fromisoformat(str(date.value)))
        if self._cb_at is not None:
            ctx["callback"] = self.locale.spoken_time(self._cb_at, self.now)
        return ctx

    def _months(self) -> int:
        months = self.slots.get("months")
        try:
            return max(1, int(months.value)) if months else self.flow.promise.default_months
        except (TypeError, ValueError):
            return self.flow.promise.default_months

    def _not_the_total(self, slots: dict[str, Any]) -> dict[str, Any]:
        """The slots of an instalment or extension plan without a figure as large as the whole debt:
        "那个四千八我分两个月还" names what is split, not what is paid on the day."""
        amount = slots.get("amount")
        if isinstance(amount, (int, float)) and amount >= self.case.amount:
            return {k: v for k, v in slots.items() if k != "amount"}
        return slots

    def _payment_amount(self) -> int:
        """What is due by the promised date: the caller's own figure, else the plan's share."""
        said = self.slots.get("promise_amount")
        if said is not None and isinstance(said.value, (int, float)) and said.value > 0:
            return int(said.value)
        plan = self.slots["plan"].value
        if plan == "installment":
            return math.ceil(self.case.amount / self._months())
        share = self.flow.plan_share.get(plan, 1.0)
        return min(self.case.amount, int(math.ceil(self.case.amount * share / 100.0) * 100))


_ID_DIGIT = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {
    "〇": "0",
    "洞": "0",
    "幺": "1",
    "两": "2",
    "拐": "7",
    "勾": "9",
    "叉": "X",
    "x": "X",
    "X": "X",
}
_ID_NOISE = re.compile(r"(?:身份证)?(?:号码?)?(?:的)?(?:最?后|末|尾)(?:四|4)位(?:数字)?|四位|4位")


def _id_digits(text: str) -> str:
    """Spoken or keyed ID digits: 幺三零八 / 1308# / "身份证后四位是吧，零八一五" → 0815 (the "四" of 后四位 is not one)."""
    text = _ID_NOISE.sub("", text)
    return "".join(c if c.isdigit() else _ID_DIGIT[c] for c in text if c.isdigit() or c in _ID_DIGIT)


# someone else said a payment was made (他给还了 / 老公说他还了 / 家里人说早还了): a report, not a plan
_SOMEONE_PAID = re.compile(
    r"(他|她|人家|家里人?|那口子|老公|老婆|媳妇|爱人|爸|妈|儿子|女儿|哥|姐|弟|妹)"
    r"[^，。！？我俺会要就帮替]{0,3}说?[^，。！？我俺会要就帮替]{0,3}还了"
)
# "next week" with no weekday (下礼拜给我钱): not a promised day when heard ahead of the promise menu
# the principal alone as the part payment (本金我今天就还上 · 先还本金): how much that is must be said
_PRINCIPAL = re.compile(r"本金|本钱")
_LOOSE_WEEK = re.compile(r"下个?(?:周|星期|礼拜)(?![一二三四五六日天末])")
# "already paid" said of a payment still to come (这就还了 / 明天全还 / 我说了下礼拜一还), unless a past
# marker says it was made (上礼拜就还清了 / 昨天刚还)
_STILL_TO_COME = re.compile(r"马上|立马|这就|回头|等会|一会儿|待会|明天|后天|下个?(?:周|星期|礼拜|月)|说了|讲过|说过")
_ALREADY = re.compile(r"已经|早就|早都|昨天|前天|前两天|上个?(?:周|星期|礼拜|月)|刚刚?还|还过|付过|转过")
_PLANS = ("full", "installment", "extension", "partial")
# the whole settled in one go (本金一把结清 / 一口气还掉 / 一次性还): with a wish to drop the fees it is a full payment
_ONE_GO = re.compile(r"一次|一把|一口气|一下子|结清|结掉|还清|全部|全额")
_IF_WORDS = ("如果", "要是", "的话", "只要", "假如", "打了折", "免了", "减了")  # a plan offered on a condition
CONTINUE_MIN = 0.6  # the rest of a digression must be at least this clear an answer to be taken
_ASKING = (
    "吗",
    "是不是",
    "会不会",
    "能不能",
    "可不可以",
    "有没有",
    "行不行",
    "对不对",
    "咋",
    "怎么",
    "哪里",
    "哪儿",
    "哪个",
    "哪家",
)


_TAG = re.compile(
    r"(?:行不行|行不|行吗|行么|可以吗|可以不|可以么|可不可以|好吗|好不好|成不成|成不|成吗|中不中|中不|好伐|行伐|同意伐|得唔得|得不得"
    r"|要得不|要不要得|要得吗|要得么|阔以不|阔以吗|好不啦|行不啦)[啊呀吧呢嘛哦噻]*$"
)


_BARE_DAY = re.compile(r"[0-9一二三四五六七八九十两]+\s*[号日]")


def _add_months(day: dt.date, n: int) -> dt.date:
    """The same day n months on (the month's last day when it has no such day)."""
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


# 能不能分一年还 / 可不可以缓两个月: a plan proposed as a question is an answer (the asking words go)
_PROPOSAL = re.compile(
    r"^(?:那|就|我|你看|你们看|您看)*(?:能不能|可不可以|能否|可否)(?=(?:给我|让我|帮我|给俺|让俺)?(?:分|缓|延|推|宽限|先还))"
)


_BARE_NO = ("不是", "不是的", "不对", "不会吧", "不是吧")


def _statements(text: str) -> list[str]:
    """The clauses of an answer that are not themselves questions (是不是已经上了？ / 咋还啊): the last
    clause before a question mark, and any clause with a question word, is asking, not answering.
    A proposal with a tag (我先还一千行不行？) or asked (能不能分一年还) is an answer: the asking words go."""
    out: list[str] = []
    for sentence in re.split(r"(?<=[?？])", text):
        parts = ident.clauses(sentence)
        asked = sentence.rstrip().endswith(("?", "？"))
        for i, c in enumerate(parts):
            bare = _TAG.sub("", _PROPOSAL.sub("", c))
            if bare != c:
                if bare and not any(w in bare for w in _ASKING):
                    out.append(bare)
                continue
            if (asked and i == len(parts) - 1) or any(w in c for w in _ASKING):
                continue
            out.append(c)
    return out


def _cue(cue: str) -> re.Pattern[str]:
    """ "A/B…C/D" → A or B, then within a few characters C or D (like grammar cues)."""
    parts = [[re.escape(w) for w in part.split("/") if w] for part in cue.split("…")]
    return re.compile(".{0,8}?".join("(?:" + "|".join(p) + ")" for p in parts))
