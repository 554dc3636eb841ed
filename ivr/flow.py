"""Loads and validates `grammars/flow.yaml`: which prompt asks each menu and where each intent leads.

Kept apart from the dialog engine so a typo in the flow fails at load time with the file and field
named, never in the middle of a call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ivr.datafile import read_yaml, validate
from ivr.prompts import PromptBook

REASONS = ("requested", "emotional", "distress", "confused", "dispute", "complaint")


class FlowError(ValueError):
    """flow.yaml is missing, malformed or refers to an unknown menu or prompt."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    slot: str | None = None
    heard: str | None = None  # intent already heard at this menu ... times
    in_: list[Any] | None = Field(default=None, alias="in")
    below: float | None = None
    at_least: float | None = None
    set: bool | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        if (self.slot is None) == (self.heard is None):
            raise ValueError("a condition needs exactly one of 'slot' or 'heard'")
        return self


class Handler(_Strict):
    when: list[Condition] = Field(default_factory=list)  # any-of; empty = always
    say: list[str] = Field(default_factory=list)
    goto: str | None = None
    ask: str | None = None  # prompt override when entering `goto`
    end: Literal["completed", "hangup"] | None = None
    escalate: Literal[REASONS] | None = None  # type: ignore[valid-type]
    identity: Literal["confirmed", "denied", "third_party", "unknown"] | None = None
    empathy: bool = False
    result: str | None = None
    propose: bool = False
    accept_proposal: bool = False


class AskOption(_Strict):
    when: list[Condition] = Field(default_factory=list)
    prompt: str


class MenuFlow(_Strict):
    ask: str | list[AskOption]
    retry1: str | None = None
    retry2: str | None = None
    explain: str | None = None
    reask: str | None = None  # asking again after a soothing line (no "sorry, I didn't hear")
    record: str | None = None
    slots: dict[str, str] = Field(default_factory=dict)
    borrow: dict[str, list[str]] = Field(default_factory=dict)
    propose_on_miss: bool = False
    final: Literal["completed"] | None = None
    result: str | None = None
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


class Flow(_Strict):
    start: str
    max_misses: int = 3
    min_confidence: float = 0.3  # understanding × ASR confidence below this is a miss (menu intents only)
    no_repeat: list[str] = Field(default_factory=list)
    emotion: EmotionPolicy = Field(default_factory=EmotionPolicy)
    promise: PromisePolicy = Field(default_factory=PromisePolicy)
    globals: dict[str, Handler] = Field(default_factory=dict)
    menus: dict[str, MenuFlow]
    labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    plan_share: dict[str, float] = Field(default_factory=dict)

    def label(self, kind: str, value: Any) -> str:
        return self.labels.get(kind, {}).get(str(value), str(value))

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

        def check_handler(h: Handler, where: str) -> None:
            for pid in h.say:
                need_prompt(pid, f"{where}.say")
            need_prompt(h.ask, f"{where}.ask")
            need_menu(h.goto, f"{where}.goto")

        need_menu(self.start, "start")
        for pid in self.no_repeat + ["transfer.notice", "transfer.failed"]:
            need_prompt(pid, "no_repeat / built-in prompts")
        for name, h in self.globals.items():
            check_handler(h, f"globals.{name}")
        for menu, spec in self.menus.items():
            for i, opt in enumerate(spec.ask_options()):
                need_prompt(opt.prompt, f"menus.{menu}.ask.{i}")
            for attr in ("retry1", "retry2", "explain", "reask"):
                need_prompt(getattr(spec, attr), f"menus.{menu}.{attr}")
            for other in spec.borrow:
                need_menu(other, f"menus.{menu}.borrow")
            for intent in spec.answers:
                for i, h in enumerate(spec.handlers(intent)):
                    check_handler(h, f"menus.{menu}.answers.{intent}.{i}")


def load_flow(path: Path | str, prompts: PromptBook) -> Flow:
    path = Path(path)
    flow = validate(Flow, read_yaml(path, FlowError), str(path), FlowError)
    flow.check(prompts, path)
    return flow
