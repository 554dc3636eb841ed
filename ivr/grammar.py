"""Menus and grammars as data: loads and validates `grammars/*.yaml`.

One file per menu (`grammars/<menu>.yaml`) plus `grammars/global.yaml` for the intents understood
at every menu.  Phrases are written as space-separated *words* ("是 我", "跑 外卖") so the same
list feeds understanding (spaces ignored) and the Vosk runtime grammar (one word per token).
Errors name the file and field: a typo in a grammar must never surface as a traceback in a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.datafile import read_mapping, validate
from ivr.events import DTMF_KEYS

# grammars/*.yaml that are not menus: dialog transitions (ivr/dialog.py), emotion words (ivr/emotion.py),
# regional/colloquial word forms (ivr/textnorm.py), signs of suicide risk (ivr/distress.py),
# holidays and periods of the year (ivr/dates.py), examples of the learned distress detector (ivr/distress_model.py)
NOT_MENUS = {"flow", "emotion", "synonyms", "distress", "distress_examples", "holidays", "question_topics"}


class GrammarError(ValueError):
    """A grammar file is missing, unreadable or does not match the schema."""


class IntentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phrases: list[str] = Field(default_factory=list)  # space-separated words
    dtmf: list[str] = Field(default_factory=list)  # keys that select this intent
    keywords: list[str] = Field(default_factory=list)  # short cue words matched anywhere in the text
    negative: list[str] = Field(default_factory=list)  # words that veto this intent when present
    # word combinations, not ASR words: "已经/早就…还/转" = one of 已经|早就, then (a few characters
    # later) one of 还|转.  Read by ivr/understanding.py like keywords; never fed to the recogniser.
    cues: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("dtmf", mode="before")
    @classmethod
    def _dtmf_list(cls, v: Any) -> Any:
        if isinstance(v, (str, int)):
            v = [str(v)]
        return [str(k) for k in v]

    @field_validator("dtmf")
    @classmethod
    def _dtmf_keys(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if k not in DTMF_KEYS]
        if bad:
            raise ValueError(f"DTMF keys must be one of 0-9 * #, got {bad}")
        return v


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_silence_ms: int = 700  # VAD end-of-speech silence budget for this menu
    no_input_ms: int = 6000  # no speech at all after the prompt → NoInput
    max_speech_ms: int = 10000  # longest utterance before it is cut and decoded
    # VoiceXML's completetimeout: once the recogniser's partial result is a whole grammar phrase
    # that no other phrase extends, this much silence ends the turn (early endpointing).  None:
    # always wait end_silence_ms — menus whose answers run on (amounts, dates, lists).
    complete_silence_ms: int | None = None

    @model_validator(mode="after")
    def _complete_within_budget(self) -> Timing:
        c = self.complete_silence_ms
        if c is not None and not 100 <= c <= self.end_silence_ms:
            raise ValueError(f"complete_silence_ms: expected 100..end_silence_ms ({self.end_silence_ms}), got {c}")
        return self


class MenuSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    menu: str
    description: str = ""
    intents: dict[str, IntentSpec] = Field(default_factory=dict)
    slots: list[str] = Field(default_factory=list)
    timing: Timing = Field(default_factory=Timing)
    extra_words: list[str] = Field(default_factory=list)  # words for the ASR grammar only (numbers, dates)
    # "key": one key selects an intent; "digits": keys are collected until '#' (amounts, dates)
    dtmf_mode: Literal["key", "digits"] = "key"
    # digits mode: a fixed-length answer (ID last 4) is complete at this many keys, '#' not needed
    dtmf_length: int | None = Field(default=None, ge=1, le=32)

    def dtmf_map(self) -> dict[str, str]:
        return {k: name for name, spec in self.intents.items() for k in spec.dtmf}


@dataclass(frozen=True)
class Grammars:
    menus: dict[str, MenuSpec]
    global_intents: MenuSpec
    directory: Path

    def menu(self, name: str) -> MenuSpec:
        try:
            return self.menus[name]
        except KeyError:
            raise GrammarError(f"unknown menu {name!r}; expected one of: {', '.join(sorted(self.menus))}") from None

    def phrases(self, menu: str, with_global: bool = True) -> list[str]:
        """Every phrase the recogniser should accept at `menu` (space-separated words)."""
        return list(self.phrase_intents(menu, with_global))

    def phrase_intents(self, menu: str, with_global: bool = True) -> dict[str, str | None]:
        """`phrases()` with the intent each one selects (None: ASR-only extra words, or a phrase
        two intents share).  The recogniser uses it to tell a finished answer (ivr/asr.py)."""
        specs = list(self.menu(menu).intents.items())
        if with_global:
            specs += list(self.global_intents.intents.items())
        out: dict[str, str | None] = {}
        for name, spec in specs:
            for phrase in (*spec.phrases, *spec.keywords):
                if phrase := phrase.strip():
                    out[phrase] = name if out.get(phrase, name) == name else None
        for word in self.menu(menu).extra_words:
            if word := word.strip():
                out.setdefault(word, None)
        return out


def _load_file(path: Path) -> MenuSpec:
    raw = read_mapping(path, GrammarError, "grammar")
    raw.setdefault("menu", path.stem)
    spec = validate(MenuSpec, raw, str(path), GrammarError)
    if spec.menu != path.stem:
        raise GrammarError(f"{path}: field menu: expected {path.stem!r} (the file name), got {spec.menu!r}")
    return spec


def load_grammars(directory: Path) -> Grammars:
    directory = Path(directory)
    if not directory.is_dir():
        raise GrammarError(f"{directory}: grammar directory not found")
    menus: dict[str, MenuSpec] = {}
    global_spec: MenuSpec | None = None
    for path in sorted(directory.glob("*.yaml")):
        if path.stem in NOT_MENUS:
            continue  # read by their own modules
        spec = _load_file(path)
        if path.stem == "global":
            global_spec = spec
        else:
            menus[spec.menu] = spec
    if global_spec is None:
        raise GrammarError(f"{directory}: global.yaml (global intents) is missing")
    return Grammars(menus=menus, global_intents=global_spec, directory=directory)


@lru_cache(maxsize=4)
def cached_grammars(directory: str) -> Grammars:
    return load_grammars(Path(directory))
