"""The language seam (ivr/locale.py): a second language is a `Locale` + grammars + prompts.

A small but real second locale (lower-cased Latin text, words between spaces, Arabic figures,
"tomorrow") drives the same Understander, Dialog and prompt audio as Mandarin does, so every
language-specific step is taken from the locale the wiring passes, not from a Mandarin module.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from fractions import Fraction
from pathlib import Path

from ivr.case import Case
from ivr.dates import DateReading
from ivr.dialog import Dialog
from ivr.grammar import cached_grammars, load_grammars
from ivr.locale import MANDARIN, Locale
from ivr.prompts import PromptBook
from ivr.segment import Words
from ivr.settings import Settings
from ivr.textnorm import Normalized, Synonyms
from ivr.tts import PromptAudio
from ivr.understanding import Understander
from ivr.wiring import Wiring

from .conftest import NOW

REPO = Path(__file__).resolve().parents[2]
FILLERS = {"um", "uh", "er"}
DICTIONARY = {"i", "will", "pay", "not", "can", "cannot", "wrong", "number", "who", "is", "this", "tomorrow", "yes"}


def _clean(text: str) -> str:
    return " ".join(re.sub(r"[^\w ]+", " ", (text or "").lower()).split())  # letters of any script kept


def _key(text: str) -> str:  # a crude sound key: every vowel sounds alike (pey ~ pay)
    return re.sub("[aeiouy]", "a", text)


def _normalize(text: str, fillers: bool = True, synonyms: Synonyms | None = None) -> Normalized:
    t = _clean(text)
    if fillers:
        t = " ".join(w for w in t.split() if w not in FILLERS)
    return Normalized(t, _key(t))


def _words(text: str) -> Words:
    spans = tuple((m.start(), m.end()) for m in re.finditer(r"\S+| +", text))
    return Words(spans, tuple(len(text[b:e].strip()) > 3 for b, e in spans))


def _mask(text: str) -> tuple[str, list[tuple[int, int]]]:
    out, origin, pos = [], [], 0
    for m in re.finditer(r"\d+", text):
        out.append(text[pos : m.start()] + "#")
        origin += [(i, i + 1) for i in range(pos, m.start())] + [(m.start(), m.end())]
        pos = m.end()
    out.append(text[pos:])
    origin += [(i, i + 1) for i in range(pos, len(text))]
    return "".join(out), origin


def _amount(text: str) -> int | None:
    m = re.search(r"(\d+) ?(?:dollars?)?", text)
    return int(m.group(1)) if m else None


def _date(text: str, now: dt.datetime | dt.date) -> DateReading:
    today = now.date() if isinstance(now, dt.datetime) else now
    return DateReading(today + dt.timedelta(days=1) if "tomorrow" in text else None)


TOY = Locale(
    name="en-x-toy",
    clean=_clean,
    normalize=_normalize,
    sound_key=_key,
    negators=("not ", "never ", "no "),
    never_in_gap="",
    words=_words,
    is_word=lambda w: w in DICTIONARY,
    mask_numerals=_mask,
    parse_amount=_amount,
    parse_amount_range=lambda text: None,
    parse_share=lambda text: Fraction(1, 2) if "half" in text else None,
    without_shares=lambda text: text.replace("half", ""),
    parse_months=lambda text: int(m.group(1)) if (m := re.search(r"(\d+) months?", text)) else None,
    read_date=_date,
    parse_callback_time=lambda text, now: None,
    callback_words=("call",),
    money=lambda amount: f"{int(round(amount))} dollars",
    spoken_date=lambda day: day.strftime("%B %d"),
    spoken_time=lambda at, now: at.strftime("%H:%M"),
    voice="en",
    features=lambda norm: (norm.text, norm.key),
)

PROMISE = """\
menu: promise
description: when will you pay
slots: [date, amount]
intents:
  date:
    description: a day
    phrases: [i will pay, i can pay, pay on]
  unknown:
    description: does not know
    phrases: [i do not know, not sure]
"""
GLOBAL = """\
menu: global
description: any menu
intents:
  wrong_person:
    description: not the debtor
    phrases: [wrong number, who is this]
"""


def _toy_grammars(tmp_path: Path) -> Path:
    (tmp_path / "promise.yaml").write_text(PROMISE, encoding="utf-8")
    (tmp_path / "global.yaml").write_text(GLOBAL, encoding="utf-8")
    return tmp_path


def test_a_second_locale_reads_answers_its_own_way(tmp_path: Path) -> None:
    nlu = Understander(load_grammars(_toy_grammars(tmp_path)), model=False, locale=TOY)
    said = nlu.understand("promise", "Um, I will PAY 300 dollars tomorrow!", NOW)
    assert said.text == "i will pay 300 dollars tomorrow"  # the locale's normalisation (case, fillers)
    assert said.intent == "date"
    assert said.slots["date"] == (NOW.date() + dt.timedelta(days=1)).isoformat()  # its date reading
    assert said.slots["amount"] == 300  # its amount parser
    assert nlu.understand("promise", "I will not pay", NOW).intent != "date"  # its negators
    assert nlu.understand("promise", "i will pey tomorrow", NOW).intent == "date"  # its sound key
    assert nlu.understand("promise", "Wrong number.", NOW).intent == "wrong_person"


def test_the_dialog_says_money_back_in_the_locale() -> None:
    grammars = cached_grammars(str(REPO / "grammars"))
    prompts = PromptBook.load(REPO / "audio_prompts")
    nlu = Understander(grammars, model=False, locale=TOY)
    dialog = Dialog(Case(amount=3500), grammars, prompts, NOW, understander=nlu, locale=TOY)
    pieces = {text for text, _speed in dialog.dynamic_pieces()}
    assert "3500 dollars" in pieces and MANDARIN.money(3500) not in pieces


def test_prompt_audio_speaks_with_the_locale_voice(tmp_path: Path) -> None:
    assert PromptAudio(tmp_path, tmp_path / "cache", locale=TOY).synth.voice == "en"
    assert PromptAudio(tmp_path, tmp_path / "cache").synth.voice == MANDARIN.voice


def test_the_wiring_hands_its_locale_to_every_call(tmp_path: Path) -> None:
    data = tmp_path / "grammars"
    shutil.copytree(REPO / "grammars", data, ignore=shutil.ignore_patterns("examples"))  # no model to train
    settings = Settings(grammars_dir=data, prompts_dir=REPO / "audio_prompts", cache_dir=tmp_path / "cache")
    wiring = Wiring(settings, locale=TOY)
    assert wiring.understander.locale is TOY
    dialog = wiring.dialog(Case(amount=42), NOW)
    assert dialog.locale is TOY and dialog.understander is wiring.understander
    assert "42 dollars" in {text for text, _ in dialog.dynamic_pieces()}
