"""Prompts as data: loads `audio_prompts/prompts.yaml` and renders a prompt into a `Say`.

Every prompt has an id and several wording variants (a good agent does not repeat one empathy line,
seed 002).  A rendered prompt is split into static pieces (pre-rendered by `ivr prompts build`, or
replaced by a studio recording with the same key) and dynamic pieces (name, amount, date...) that
are synthesised at run time and cached by text.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cn2an
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ivr.datafile import read_yaml, validate
from ivr.events import PromptSegment, Say

# Placeholders a prompt may use; the dialog fills them from the case and the slots heard so far.
# {low}/{high}: the two ends of an amount said as a range (一两千), asked back (amount.which).
# {callback}: the callback time read back.  {assistant}: how the company's bot calls itself;
# {max_installments} {max_extension}: its policy; {principal} {interest} {fees} {penalty}: the case's
# fee breakdown (audio_prompts/company.yaml, ivr/content.py).
PLACEHOLDERS = frozenset(
    {"name", "amount", "days", "date", "months", "company", "phone", "plan", "low", "high", "callback"}
    | {"assistant", "max_installments", "max_extension", "principal", "interest", "fees", "penalty"}
)
WEEKDAYS = "一二三四五六日"


class PromptError(ValueError):
    """The prompt file is missing, malformed, or a prompt cannot be rendered."""


def yuan(amount: int | float) -> str:
    """Money as it is spoken: 3500 → 三千五百元 (cn2an handles the Chinese numerals)."""
    return f"{cn2an.an2cn(int(round(amount)))}元"


def spoken_date(day: dt.date) -> str:
    """12月10日，星期四: month/day plus the weekday (after a pause), so the caller can check it
    against a calendar.  Prompts put {date} at the end of a clause (还款日定在{date}，...)."""
    return f"{day.month}月{day.day}日，星期{WEEKDAYS[day.weekday()]}"


class PromptSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variants: list[str] = Field(min_length=1)
    protected_ms: int = Field(default=0, ge=0)  # leading part barge-in may not cut (mandatory notices)
    rate: float = Field(default=1.0, gt=0.3, le=2.0)  # < 1: slower, step-by-step delivery
    keys: dict[str, str] = Field(default_factory=dict)  # DTMF key announced → intent (checked vs grammars)
    note: str = ""  # for the people who record or edit prompts

    @field_validator("variants")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        for i, text in enumerate(v):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"variant {i} is empty")
        return v


def _fields(text: str) -> list[tuple[str, str | None]]:
    """[(literal, placeholder or None)] — string.Formatter does the parsing (braces, escapes)."""
    return [(lit, name) for lit, name, _spec, _conv in string.Formatter().parse(text)]


@dataclass
class PromptBook:
    prompts: dict[str, PromptSpec]
    path: Path
    _plans: dict[tuple[str, int], list[tuple[str, str | None]]] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, directory: Path | str) -> PromptBook:
        path = Path(directory) / "prompts.yaml"
        raw = read_yaml(path, PromptError)
        if not isinstance(raw, dict) or not isinstance(raw.get("prompts"), dict):
            raise PromptError(f"{path}: expected a mapping with a 'prompts' mapping at top level")
        return cls.from_mapping(raw["prompts"], path)

    @classmethod
    def from_mapping(cls, raw: dict[str, Any], path: Path, prefix: str = "prompts.") -> PromptBook:
        """Prompts from a mapping id → {variants...} (or a bare list of variants), validated like
        prompts.yaml; `prefix` names the field in errors (company.yaml answers use their own)."""
        prompts: dict[str, PromptSpec] = {}
        plans: dict[tuple[str, int], list[tuple[str, str | None]]] = {}
        for pid, body in raw.items():
            if isinstance(body, list):  # shorthand: a bare list of variants
                body = {"variants": body}
            spec = validate(PromptSpec, body, str(path), PromptError, prefix=f"{prefix}{pid}.")
            for i, text in enumerate(spec.variants):
                try:
                    parts = _fields(text)
                except ValueError as e:
                    raise PromptError(f"{path}: field {prefix}{pid}.variants.{i}: bad braces ({e})") from None
                for _lit, name in parts:
                    if name is not None and name not in PLACEHOLDERS:
                        raise PromptError(
                            f"{path}: field {prefix}{pid}.variants.{i}: unknown placeholder {{{name}}}; "
                            f"expected one of {', '.join(sorted(PLACEHOLDERS))}"
                        )
                plans[(pid, i)] = parts
            prompts[pid] = spec
        return cls(prompts=prompts, path=path, _plans=plans)

    # ---------------------------------------------------------------- queries
    def __contains__(self, prompt_id: str) -> bool:
        return prompt_id in self.prompts

    def spec(self, prompt_id: str) -> PromptSpec:
        try:
            return self.prompts[prompt_id]
        except KeyError:
            raise PromptError(f"{self.path}: no prompt {prompt_id!r}") from None

    def fresh_variants(self, prompt_id: str, avoid: Iterable[str] = ()) -> list[int]:
        """Variant numbers whose key "<prompt_id>.<n>" is not in `avoid` (already said this call)."""
        used = set(avoid)
        return [i for i in range(len(self.spec(prompt_id).variants)) if f"{prompt_id}.{i}" not in used]

    def static_segments(self) -> list[PromptSegment]:
        """Every static piece of every variant: what `ivr prompts build` pre-renders."""
        out: list[PromptSegment] = []
        for (pid, i), parts in self._plans.items():
            out.extend(seg for seg in self._segments(pid, i, parts, None) if not seg.dynamic)
        return out

    def dynamic_pieces(self, context: dict[str, Any]) -> set[tuple[str, float]]:
        """(text, speed) of every placeholder some prompt may fill from `context` (the case's name,
        amount...): rendered ahead, while the opening plays, none is synthesised mid-turn."""
        return {
            (str(context[name]), self.prompts[pid].rate)
            for (pid, _), parts in self._plans.items()
            for _, name in parts
            if name is not None and context.get(name) not in (None, "")
        }

    def texts(self) -> Iterable[tuple[str, int, str]]:
        """(prompt_id, variant, raw text) for linting."""
        for pid, spec in self.prompts.items():
            for i, text in enumerate(spec.variants):
                yield pid, i, text

    # ---------------------------------------------------------------- rendering
    def render(
        self,
        prompt_id: str,
        context: dict[str, Any] | None = None,
        variant: int | None = None,
        avoid: Iterable[str] = (),
    ) -> Say:
        """Render one variant; without `variant`, the first one not in `avoid` (else variant 0)."""
        spec = self.spec(prompt_id)
        if variant is None:
            fresh = self.fresh_variants(prompt_id, avoid)
            variant = fresh[0] if fresh else 0
        if not 0 <= variant < len(spec.variants):
            raise PromptError(
                f"{self.path}: prompt {prompt_id!r} has no variant {variant} (it has {len(spec.variants)})"
            )
        segments = self._segments(prompt_id, variant, self._plans[(prompt_id, variant)], context or {})
        return Say(
            prompt_id=prompt_id,
            variant=variant,
            text="".join(s.text for s in segments),
            segments=tuple(segments),
            protected_ms=spec.protected_ms,
            rate=spec.rate,
        )

    def _segments(
        self, pid: str, variant: int, parts: list[tuple[str, str | None]], context: dict[str, Any] | None
    ) -> list[PromptSegment]:
        out: list[PromptSegment] = []
        for lit, name in parts:
            if lit:
                out.append(PromptSegment(text=lit, key=f"{pid}.{variant}.{len(out)}"))
            if name is None:
                continue
            if context is None:  # listing static pieces only: keep numbering identical to render()
                out.append(PromptSegment(text="", key="dyn:", dynamic=True))
                continue
            if context.get(name) in (None, ""):
                raise PromptError(f"{self.path}: prompt {pid!r} variant {variant} needs {{{name}}}, which is not known")
            text = str(context[name])
            out.append(PromptSegment(text=text, key=f"dyn:{text}", dynamic=True))
        return out
