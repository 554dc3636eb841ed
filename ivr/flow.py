"""Loads and validates `grammars/flow.yaml`: which prompt asks each menu and where each intent leads,
and the words for menus, intents, escalation reasons (with their priority) and recorded values.

Kept apart from the dialog engine so a typo in the flow fails at load time with the file and field
named, never in the middle of a call.  The console reads the same `Flow` (funnel, labels, reasons),
so flow.yaml is the only place a menu or a reason is named.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ivr.datafile import read_yaml, validate
from ivr.prompts import PromptBook

# Reasons the dialog escalates with by itself (not from a `escalate:` of the data): flow.yaml must declare them.
DIALOG_REASONS = ("distress", "emotional", "confused")
FIRST_REASON = "distress"  # most urgent: always served first (docs/dialog.md)
Identity = Literal["confirmed", "denied", "third_party", "unknown"]
NOT_INTENTS = {"nomatch"}  # answers.nomatch is what silence / a no-match means, not an intent
GAVE_UP = "gave_up"  # pseudo-intent of an optional question given up on (MenuFlow.give_up_after)


class FlowError(ValueError):
    """flow.yaml is missing, malformed or refers to an unknown menu or prompt."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    slot: str | None = None
    heard: str | None = None  # intent already heard at this menu ... times
    emotion: bool | None = None  # this turn's anger score (a calm request to call less scores 0)
    in_: list[Any] | None = Field(default=None, alias="in")
    below: float | None = None
    at_least: float | None = None
    set: bool | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        if sum(x is not None for x in (self.slot, self.heard, self.emotion)) != 1:
            raise ValueError("a condition needs exactly one of 'slot', 'heard' or 'emotion'")
        return self


class Handler(_Strict):
    when: list[Condition] = Field(default_factory=list)  # any-of; empty = always
    say: list[str] = Field(default_factory=list)
    goto: str | None = None
    ask: str | None = None  # prompt override when entering `goto`
    end: Literal["completed", "hangup"] | None = None
    escalate: str | None = None  # a key of `reasons` (checked by Flow.check)
    identity: Identity | None = None
    empathy: bool = False
    result: str | None = None
    propose: bool = False
    accept_proposal: bool = False
    callback: bool = False  # arrange a callback: the time said, else ask for one (ivr/callback_time.py)
    contact: str | None = None  # record a contact preference of this kind (SPEC v2 contact_preference)
    resume: bool = False  # go on with the rest of the answer at this menu, or ask its question again


class AskOption(_Strict):
    when: list[Condition] = Field(default_factory=list)
    prompt: str


class MenuFlow(_Strict):
    label: str  # the menu's name in the console
    ask: str | list[AskOption]
    retry1: str | None = None
    retry2: str | None = None
    explain: str | None = None
    reask: str | None = None  # asking again after a soothing line (no "sorry, I didn't hear")
    record: str | None = None
    slots: dict[str, str] = Field(default_factory=dict)
    borrow: dict[str, list[str]] = Field(default_factory=dict)
    propose_on_miss: bool = False
    # an optional fact (income, expenses, a recent blow): after this many misses, at least one of them
    # an answer the bot did not understand, it is recorded as unknown and `answers.gave_up` moves on
    # instead of handing a cooperating caller over as `confused`
    give_up_after: int | None = Field(default=None, ge=1)
    final: Literal["completed"] | None = None
    result: str | None = None
    hangup: Literal["completed"] | None = None  # a hang-up here ends the call this way (all was agreed)
    answers: dict[str, Handler | list[Handler]] = Field(default_factory=dict)

    def handlers(self, intent: str) -> list[Handler]:
        h = self.answers.get(intent)
        return [] if h is None else h if isinstance(h, list) else [h]

    def ask_options(self) -> list[AskOption]:
        return [AskOption(prompt=self.ask)] if isinstance(self.ask, str) else self.ask


class EmotionPolicy(_Strict):
    annoyed: float = 0.4
    strong: float = 0.85
    escalate_after: int = 2
    strong_cues: list[str] = Field(default_factory=lambda: ["abuse", "stop_calling"])


class PromisePolicy(_Strict):
    propose_in_days: int = 7
    default_months: int = 3
    max_days_ahead: int = 90
    # most months per plan (installment: 12): beyond it the bot names the most allowed and offers it
    max_months: dict[str, int] = Field(default_factory=dict)


class Wording(_Strict):
    label: str  # the console's name
    narrative: str  # the words of the hand-off summary


class IdentityPolicy(_Strict):
    """SPEC §1 identity rule (ivr/identity.py): what counts as an explicit affirmation."""

    words: list[str] = Field(default_factory=lambda: ["是我", "我是", "我就是", "就是我", "本人"])
    alone: list[str] = Field(default_factory=lambda: ["是", "是的", "对", "对的", "没错"])
    min_asr_confidence: float = 0.5  # a shakier "是我" is asked again, never believed
    # family words a third party names themself by (我是他妈 / 文斌是我儿子 / 我是她爱人)
    relations: list[str] = Field(default_factory=lambda: ["妈", "爸", "老婆", "老公", "儿子", "女儿"])


class CallbackPolicy(_Strict):
    window: tuple[str, str] = ("08:00", "21:00")  # local hours a call may start (clamped into)
    max_asks: int = 2  # times the bot asks "when?" before settling (third party: the debtor calls back)
    call_back_words: list[str] = Field(default_factory=list)  # "I/he will call you back" (no time needed)
    # a third party offering to pass a message (要不要我帮你带个话): the debtor calls back, even when they
    # also ask what it is about (they hear only the company and the number)
    message_words: list[str] = Field(default_factory=list)
    # after identity, at any menu: a time said with one of these asks to be called back then
    # ("你明天晚上七点再打给我"); `not_call` are other uses of 打 (打算 / 打工 / 打卡)
    later_words: list[str] = Field(default_factory=list)
    not_call: list[str] = Field(default_factory=list)
    # with an explicit "是我": "…你晚点再打" asks to be called later with no time yet (then asked when)
    later_vague: list[str] = Field(default_factory=list)
    # with a standing hour (以后六点以后联系我): the caller cannot talk now, so today's call is at that hour
    not_now_words: list[str] = Field(default_factory=list)
    checks_us: list[str] = Field(default_factory=list)

    def bounds(self) -> tuple[dt.time, dt.time]:
        return dt.time.fromisoformat(self.window[0]), dt.time.fromisoformat(self.window[1])


class VerifyPolicy(_Strict):
    companies: list[str] = Field(default_factory=list)  # every case of these companies needs the 2nd factor
    tries: int = 2  # wrong answers before the call ends (nothing disclosed, callback offered)


class AheadListen(_Strict):
    intents: list[str]
    min_confidence: float = 0.7
    with_: list[str] = Field(default_factory=list, alias="with")  # the clause must hold one of these
    and_with: list[str] = Field(default_factory=list)  # ...and one of these too
    without: list[str] = Field(default_factory=list)  # ...and none of these


class AheadPolicy(_Strict):
    """Mixed initiative (SPEC §1): later menus' answers heard early, and how they are confirmed."""

    order: list[str] = Field(default_factory=list)  # the menus in call order
    listen: dict[str, AheadListen] = Field(default_factory=dict)
    # when every menu of `settled` was answered early (a plan and its day), the questions of `skip`
    # are not asked: they only serve to find a plan the caller has already chosen
    settled: list[str] = Field(default_factory=list)
    skip: list[str] = Field(default_factory=list)


class ContactPolicy(_Strict):
    """Calm requests about how we call (SPEC v2 contact_preference); cues are "A…B" like grammar cues."""

    kinds: dict[str, list[str]] = Field(default_factory=dict)
    angry_cues: list[str] = Field(default_factory=lambda: ["annoyance", "anger", "abuse"])


class PatiencePolicy(_Strict):
    """Issue 12: repeats count as misses, slow mode, no sentence said more than `max_verbatim` times."""

    slow_rate: float = Field(default=0.8, gt=0.3, le=1.0)  # Say.rate in slow mode (prompts' own rate if slower)
    slow_after_repeats: int = 2  # the Nth request to repeat in a call switches to slow mode
    max_verbatim: int = 2  # a bot sentence is said at most this often, word for word, in one call
    count_repeats: bool = True  # `repeat`/`slower` count toward max_misses at their menu


class ReductionPolicy(_Strict):
    """After a reduction request: "等你们回话" with no answer to the question ends the call politely
    (the specialist calls back with the decision); nothing is promised in the caller's name."""

    wait_words: list[str] = Field(default_factory=list)
    # said in the same breath as the request, waiting also needs one of these (回了电话我再定): a bare
    # "有结果给我打电话" with the wish leaves today's plan open, so the plan question is still asked
    defer_words: list[str] = Field(default_factory=list)
    end_prompt: str = "closing.reduction_wait"
    result: str = "reduction_pending"
    # said with the request, a complaint about a charge (利息也太高了) is why it is asked, not a dispute of
    # the debt, unless it also denies the debt (利息太高，这钱我也没借过)
    cost_words: list[str] = Field(default_factory=list)
    deny_words: list[str] = Field(default_factory=list)


class HardshipSilence(_Strict):
    """A caller in hardship (`when`: any of) who falls silent: `check_in` on the person instead of the
    menu read again; the `escalate_after`-th silence in the call hands over (`reason`, summary `note`)."""

    when: list[Condition] = Field(min_length=1)
    unless: list[Condition] = Field(default_factory=list)  # any of: not in hardship after all (a plan agreed)
    check_in: str
    escalate_after: int = Field(default=2, ge=1)
    say: list[str] = Field(default_factory=list)
    reason: str = "distress"
    note: str = ""


class QuestionFold(_Strict):
    """Clauses said with a question that only lead up to it: understood at the menu as one of
    `intents`, they are part of the question (不对啊，怎么变成五千三了？ asks about the fees), unless
    they hold one of `unless` (这钱不是我借的 denies the debt: a dispute still)."""

    intents: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)


class QuestionPolicy(_Strict):
    fold: dict[str, QuestionFold] = Field(default_factory=dict)  # per question topic
    # menu -> {topic: intent}: a question that itself answers the menu's question once it is answered
    # (what the debt is made of, at the debt question, says the caller knows of it), unless a clause
    # holds one of the topic's fold.unless words (这钱不是我借的: a dispute still)
    implies: dict[str, dict[str, str]] = Field(default_factory=dict)


class Flow(_Strict):
    start: str
    max_misses: int = 3
    min_confidence: float = 0.3  # understanding × ASR confidence below this is a miss (menu intents only)
    no_repeat: list[str] = Field(default_factory=list)
    emotion: EmotionPolicy = Field(default_factory=EmotionPolicy)
    promise: PromisePolicy = Field(default_factory=PromisePolicy)
    identity_rule: IdentityPolicy = Field(default_factory=IdentityPolicy)
    callback: CallbackPolicy = Field(default_factory=CallbackPolicy)
    verify: VerifyPolicy = Field(default_factory=VerifyPolicy)
    ahead: AheadPolicy = Field(default_factory=AheadPolicy)
    contact_preference: ContactPolicy = Field(default_factory=ContactPolicy)
    patience: PatiencePolicy = Field(default_factory=PatiencePolicy)
    reduction: ReductionPolicy = Field(default_factory=ReductionPolicy)
    hardship_silence: HardshipSilence | None = None
    questions: QuestionPolicy = Field(default_factory=QuestionPolicy)
    globals: dict[str, Handler | list[Handler]] = Field(default_factory=dict)
    menus: dict[str, MenuFlow]
    reasons: dict[str, Wording]  # most urgent first
    identity: dict[str, Wording]
    labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    plan_share: dict[str, float] = Field(default_factory=dict)

    def global_handlers(self, intent: str) -> list[Handler]:
        h = self.globals.get(intent)
        return [] if h is None else h if isinstance(h, list) else [h]

    def label(self, kind: str, value: Any) -> str:
        return self.labels.get(kind, {}).get(str(value), str(value))

    # ---------------------------------------------------------------- what the console shows

    def funnel(self) -> list[str]:
        """The menus a call walks through, in the order flow.yaml lists them: those reachable from
        `start` by `goto` (an alternative start such as unknown_case is not part of the funnel)."""
        seen, todo = {self.start}, [self.start]
        while todo:
            spec = self.menus[todo.pop()]
            for intent in spec.answers:
                for h in spec.handlers(intent):
                    if h.goto is not None and h.goto not in seen:
                        seen.add(h.goto)
                        todo.append(h.goto)
        return [m for m in self.menus if m in seen]

    def menu_label(self, menu: str | None) -> str:
        spec = self.menus.get(menu or "")
        return spec.label if spec else ("" if menu is None else menu)

    def intent_label(self, intent: str | None) -> str:
        return "" if intent is None else self.label("intent", intent)

    def reason_label(self, reason: str | None) -> str:
        wording = self.reasons.get(reason or "")
        return wording.label if wording else ("" if reason is None else reason)

    def priority(self, reason: str) -> int:
        """Queue order of an escalation reason: 0 is served first (distress)."""
        order = list(self.reasons)
        return order.index(reason) if reason in order else len(order)

    def identity_label(self, identity: str | None) -> str:
        wording = self.identity.get(identity or "unknown")
        return wording.label if wording else str(identity)

    def check(self, prompts: PromptBook, path: Path) -> None:
        """Every menu and prompt the flow names must exist."""

        def need_prompt(pid: str | None, where: str) -> None:
            if pid is not None and pid not in prompts:
                raise FlowError(f"{path}: field {where}: unknown prompt {pid!r} (not in {prompts.path})")

        def need_menu(name: str | None, where: str) -> None:
            if name is not None and name not in self.menus:
                raise FlowError(
                    f"{path}: field {where}: unknown menu {name!r}; expected one of {', '.join(self.menus)}"
                )

        def need_label(kind: str, value: str, where: str) -> None:
            if value not in self.labels.get(kind, {}):
                raise FlowError(
                    f"{path}: field labels.{kind}: expected a label for {value!r} (used at {where}), got none"
                )

        def check_handler(h: Handler, where: str) -> None:
            for pid in h.say:
                need_prompt(pid, f"{where}.say")
            need_prompt(h.ask, f"{where}.ask")
            need_menu(h.goto, f"{where}.goto")
            if h.escalate is not None and h.escalate not in self.reasons:
                raise FlowError(
                    f"{path}: field {where}.escalate: unknown reason {h.escalate!r}; "
                    f"expected one of {', '.join(self.reasons)} (the `reasons` table)"
                )
            if h.result is not None:
                need_label("result", h.result, where)

        self._check_vocabulary(path)
        need_menu(self.start, "start")
        if self.hardship_silence is not None:
            hs = self.hardship_silence
            check_handler(Handler(say=hs.say, escalate=hs.reason), "hardship_silence")
            need_prompt(hs.check_in, "hardship_silence.check_in")
        for pid in self.no_repeat + ["transfer.notice", "transfer.failed"]:
            need_prompt(pid, "no_repeat / built-in prompts")
        for name in self.globals:
            need_label("intent", name, f"globals.{name}")
            for i, h in enumerate(self.global_handlers(name)):
                check_handler(h, f"globals.{name}.{i}")
        for menu in list(self.ahead.order) + list(self.ahead.listen) + self.ahead.settled + self.ahead.skip:
            need_menu(menu, "ahead")
        for menu, spec in self.menus.items():
            if spec.result is not None:
                need_label("result", spec.result, f"menus.{menu}.result")
            for i, opt in enumerate(spec.ask_options()):
                need_prompt(opt.prompt, f"menus.{menu}.ask.{i}")
            for attr in ("retry1", "retry2", "explain", "reask"):
                need_prompt(getattr(spec, attr), f"menus.{menu}.{attr}")
            for other in spec.borrow:
                need_menu(other, f"menus.{menu}.borrow")
            if spec.give_up_after is not None and not spec.handlers(GAVE_UP):
                raise FlowError(
                    f"{path}: field menus.{menu}.answers.{GAVE_UP}: expected a handler "
                    f"(give_up_after is {spec.give_up_after}), got none"
                )
            for intent in spec.answers:
                if intent not in NOT_INTENTS:
                    need_label("intent", intent, f"menus.{menu}.answers.{intent}")
                for i, h in enumerate(spec.handlers(intent)):
                    check_handler(h, f"menus.{menu}.answers.{intent}.{i}")

    def _check_vocabulary(self, path: Path) -> None:
        """The reasons the dialog raises by itself exist, distress is served first, every identity has words."""
        got = ", ".join(self.reasons) or "none"
        for reason in DIALOG_REASONS:
            if reason not in self.reasons:
                raise FlowError(f"{path}: field reasons: expected {reason!r} (the dialog escalates with it), got {got}")
        if next(iter(self.reasons)) != FIRST_REASON:
            raise FlowError(f"{path}: field reasons: expected {FIRST_REASON!r} first (most urgent), got {got}")
        for identity in get_args(Identity):
            if identity not in self.identity:
                raise FlowError(
                    f"{path}: field identity: expected {', '.join(get_args(Identity))}, got {', '.join(self.identity)}"
                )


def load_flow(path: Path | str, prompts: PromptBook) -> Flow:
    path = Path(path)
    flow = validate(Flow, read_yaml(path, FlowError), str(path), FlowError)
    flow.check(prompts, path)
    return flow


@lru_cache(maxsize=8)
def flow_of(grammars_dir: Path, prompts_dir: Path) -> Flow:
    """`<grammars_dir>/flow.yaml` checked against `<prompts_dir>/prompts.yaml`, loaded once per pair
    (the console and the sample data read it; a call gets its flow from the dialog's loader)."""
    return load_flow(Path(grammars_dir) / "flow.yaml", PromptBook.load(prompts_dir))


def bundled_flow() -> Flow:
    """The flow shipped in this repository (grammars/, audio_prompts/): sample data and tests."""
    from ivr.settings import REPO_ROOT

    return flow_of(REPO_ROOT / "grammars", REPO_ROOT / "audio_prompts")
