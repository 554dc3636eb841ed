"""Prompts as data: validation, rendering into segments, forbidden words, announced DTMF keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.flow import FlowError, load_flow
from ivr.prompts import PromptBook, PromptError, spoken_date, yuan

from .conftest import REPO

CONTEXT = {
    "name": "张伟",
    "amount": "三千五百元",
    "days": 30,
    "date": "12月1日，星期二",
    "months": 3,
    "company": "安信消费金融",
    "phone": "400-800-1234",
    "plan": "分3期还款",
}


def _forbidden() -> list[str]:
    lines = (REPO / "audio_prompts" / "forbidden.txt").read_text(encoding="utf-8").splitlines()
    return [w.strip() for w in lines if w.strip() and not w.startswith("#")]


def test_money_and_dates_are_spoken_in_chinese():
    import datetime as dt

    assert yuan(3500) == "三千五百元"
    assert yuan(12000) == "一万二千元"
    assert spoken_date(dt.date(2026, 12, 1)) == "12月1日，星期二"  # the weekday after a pause


def test_every_prompt_text_is_free_of_forbidden_words(book: PromptBook):
    words = _forbidden()
    assert {"威胁", "曝光", "通讯录", "坐牢", "黑名单"} <= set(words)
    offenders = [(pid, i, w) for pid, i, text in book.texts() for w in words if w in text]
    assert offenders == []


def test_lint_catches_a_threatening_variant(tmp_path: Path):
    (tmp_path / "prompts.yaml").write_text(
        "prompts:\n  x:\n    variants: ['再不还钱就爆通讯录，后果自负']\n", encoding="utf-8"
    )
    bad = PromptBook.load(tmp_path)
    hits = [w for _pid, _i, text in bad.texts() for w in _forbidden() if w in text]
    assert "爆通讯录" in hits and "后果自负" in hits


def test_render_splits_static_and_dynamic_pieces(book: PromptBook):
    say = book.render("purpose.ask", CONTEXT, variant=0)
    assert "三千五百元" in say.text and "30天" in say.text
    assert "".join(s.text for s in say.segments) == say.text
    dynamic = [s for s in say.segments if s.dynamic]
    assert {s.text for s in dynamic} == {"张伟", "安信消费金融", "三千五百元", "30"}
    assert all(s.key == f"dyn:{s.text}" for s in dynamic)
    static = [s for s in say.segments if not s.dynamic]
    assert all(s.key.startswith("purpose.ask.0.") for s in static)
    # the same pieces `ivr prompts build` pre-renders, under the same keys
    built = {s.key: s.text for s in book.static_segments()}
    assert all(built[s.key] == s.text for s in static)


def test_static_segment_keys_are_unique(book: PromptBook):
    keys = [s.key for s in book.static_segments()]
    assert len(keys) == len(set(keys)) > 100


def test_mandatory_notices_are_protected_from_barge_in(book: PromptBook):
    spec = book.spec("opening.ask_identity")
    assert spec.protected_ms >= 3000
    assert all("录音" in v for v in spec.variants)


def test_second_retry_is_slower(book: PromptBook, grammars):
    for menu in grammars.menus:
        if f"{menu}.retry2" in book:
            assert book.spec(f"{menu}.retry2").rate < 1.0, menu


def test_feelings_have_enough_variants_to_never_repeat(book: PromptBook):
    assert len(book.spec("empathy").variants) >= 5
    assert len(book.spec("soothe").variants) >= 4


def test_avoid_picks_a_fresh_variant(book: PromptBook):
    assert book.render("empathy", {}, avoid={"empathy.0", "empathy.1"}).variant == 2


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("prompts:\n  a.b:\n    variants: ['您好{nmae}']\n", "prompts.a.b.variants.0: unknown placeholder {nmae}"),
        ("prompts:\n  a.b:\n    variants: []\n", "field prompts.a.b.variants"),
        ("prompts:\n  a.b:\n    protected: 3\n    variants: ['x']\n", "field prompts.a.b.protected"),
        ("prompts: [1, 2]\n", "expected a mapping with a 'prompts' mapping"),
        ("prompts:\n  a: {variants: ['x'\n", "not valid YAML"),
    ],
)
def test_bad_prompt_files_name_file_and_field(tmp_path: Path, yaml_text: str, message: str):
    (tmp_path / "prompts.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(PromptError) as e:
        PromptBook.load(tmp_path)
    assert str(tmp_path / "prompts.yaml") in str(e.value) and message in str(e.value)


def test_missing_placeholder_value_is_a_clear_error(book: PromptBook):
    with pytest.raises(PromptError, match=r"purpose.ask.*needs \{amount\}"):
        book.render("purpose.ask", {"name": "张伟", "company": "x", "days": 3}, variant=0)


def test_flow_refers_only_to_existing_prompts_and_menus(tmp_path: Path, book: PromptBook):
    flow_text = (REPO / "grammars" / "flow.yaml").read_text(encoding="utf-8")
    load_flow(REPO / "grammars" / "flow.yaml", book)  # the real one is consistent
    broken = tmp_path / "flow.yaml"
    broken.write_text(flow_text.replace("retry1: plan.retry1", "retry1: plan.retyr1"), encoding="utf-8")
    with pytest.raises(FlowError, match=r"flow.yaml: field menus.plan.retry1: unknown prompt 'plan.retyr1'"):
        load_flow(broken, book)
    broken.write_text(flow_text.replace("goto: income_amount}", "goto: income_amont}", 1), encoding="utf-8")
    with pytest.raises(FlowError, match=r"unknown menu 'income_amont'"):
        load_flow(broken, book)


# ---------------------------------------------------------------- DTMF keys announced vs grammars


def _announced_keys(text: str) -> set[str]:
    keys = {m.group(1) for m in re.finditer(r"按\s*([0-9])", text)}
    keys |= {m.group(1) for m in re.finditer(r"[\u4e00-\u9fff]([1-9])[，；。]", text)}  # 房租1，水电2
    if "井号" in text:
        keys.add("#")
    if "星号" in text:
        keys.add("*")
    return keys


def _prompt_menus(flow, book) -> dict[str, str]:
    """prompt id → the menu whose answer follows it (from flow.yaml)."""
    out: dict[str, str] = {}
    for menu, spec in flow.menus.items():
        pids = [o.prompt for o in spec.ask_options()] + [spec.retry1, spec.retry2, spec.explain, spec.reask]
        for handlers in spec.answers.values():
            for h in handlers if isinstance(handlers, list) else [handlers]:
                if h.ask:
                    pids.append(h.ask)
        if spec.propose_on_miss:
            pids.append(f"{menu}.propose")
        out.update({p: menu for p in pids if p and not spec.final})
    return out


def test_every_announced_key_exists_in_that_menus_grammar(book: PromptBook, grammars):
    flow = load_flow(REPO / "grammars" / "flow.yaml", book)
    global_keys = grammars.global_intents.dtmf_map()
    checked = 0
    for pid, menu in _prompt_menus(flow, book).items():
        spec = book.spec(pid)
        grammar = grammars.menu(menu)
        keys = {**grammar.dtmf_map(), **global_keys}
        for i, text in enumerate(spec.variants):
            announced = _announced_keys(text)
            if grammar.dtmf_mode == "digits":
                # digit strings are typed freely; only '#' (end) and the global keys are special
                assert announced <= set("0123456789#*"), (pid, i, announced)
                assert "#" in announced or not announced, f"{pid}.{i} asks for digits without saying 按井号"
                continue
            undeclared = announced - set(spec.keys)
            assert not undeclared, f"{pid}.{i} announces {undeclared} but keys: lists {sorted(spec.keys)}"
            checked += len(announced)
        for key, intent in spec.keys.items():
            if grammar.dtmf_mode == "digits" and key not in global_keys:
                continue
            assert keys.get(key) == intent, f"{pid}: key {key} → {intent}, grammars/{menu}.yaml says {keys.get(key)}"
    assert checked > 50


def test_keys_of_the_spec_are_announced(book: PromptBook):
    text = book.spec("opening.ask_identity").variants[0]
    assert _announced_keys(text) == {"1", "2", "3", "9"}
    assert {"0"} <= _announced_keys(book.spec("plan.retry2").variants[0])


def test_every_answer_a_menu_understands_leads_somewhere(book: PromptBook, grammars, understander):
    """Each grammar phrase and DTMF key of a menu, once understood, has a route in flow.yaml."""
    flow = load_flow(REPO / "grammars" / "flow.yaml", book)
    unrouted = []
    for menu, spec in flow.menus.items():
        if spec.final:
            continue
        grammar = grammars.menu(menu)
        samples = [p for intent in grammar.intents.values() for p in intent.phrases[:3]]
        results = [understander.understand(menu, p.replace(" ", "")) for p in samples]
        if grammar.dtmf_mode == "key":
            results += [understander.understand_dtmf(menu, k) for k in grammar.dtmf_map()]
        for u in results:
            if u.intent and not u.is_global and u.intent not in spec.answers:
                unrouted.append((menu, u.text, u.intent))
    assert unrouted == []
