"""grammars/flow.yaml is the only source of menus and reasons: a menu added as data (flow.yaml + its
grammar + its prompts, in a copy of the repository's data) shows up in the console's funnel, filters
and call pages with its label, with no code change."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import httpx
import pytest

from ivr.case import Case
from ivr.cli.records import parse_lines
from ivr.dialog import Dialog
from ivr.flow import load_flow
from ivr.grammar import load_grammars
from ivr.prompts import PromptBook
from ivr.session import CallSession
from ivr.web.threaded import ThreadedServer

from .conftest import PASSWORD

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 18, 10, 30)  # a Wednesday, as in tests/conftest.py

NEW_GRAMMAR = """\
# When the caller can best be reached for a reminder (added by a test: data only).
menu: contact_time
description: 方便回访的时间
intents:
  morning:
    dtmf: ["1"]
    phrases: [上午, 早上, 白天, 上午 吧, 早上 吧]
    keywords: [上午, 早上, 白天]
  evening:
    dtmf: ["2"]
    phrases: [晚上, 下班 以后, 傍晚, 晚上 吧]
    keywords: [晚上, 下班, 傍晚]
"""
NEW_PROMPTS = """\
  contact_time.ask:
    keys: {"1": morning, "2": evening}
    variants:
      - "好的，记下了。到时候我们会提醒您，您方便上午还是晚上接电话？上午请按1，晚上请按2。"
  contact_time.retry1:
    keys: {"1": morning, "2": evening}
    variants:
      - "不好意思没听清，您方便上午还是晚上接电话？上午请按1，晚上请按2。"
"""
NEW_MENU = """\
  contact_time:
    label: 回访时间
    ask: contact_time.ask
    retry1: contact_time.retry1
    record: contact_time
    answers:
      morning: {goto: closing}
      evening: {goto: closing}

  closing:
"""
HAPPY_PATH = ["是我", "知道的", "我现在跑外卖，算兼职", "一个月大概三千块", "房租", "没有了", "没有", "分六期吧"]


def _data_with_new_menu(root: Path) -> tuple[Path, Path]:
    """A copy of grammars/ and audio_prompts/ where `promise` leads to a new menu `contact_time`."""
    grammars, prompts = root / "grammars", root / "audio_prompts"
    shutil.copytree(REPO / "grammars", grammars)
    shutil.copytree(REPO / "audio_prompts", prompts, ignore=shutil.ignore_patterns("recordings"))
    (grammars / "contact_time.yaml").write_text(NEW_GRAMMAR, encoding="utf-8")
    book = prompts / "prompts.yaml"
    book.write_text(book.read_text(encoding="utf-8") + NEW_PROMPTS, encoding="utf-8")
    flow = grammars / "flow.yaml"
    text = flow.read_text(encoding="utf-8")
    for old, new in (
        ("      date: {goto: closing}\n", "      date: {goto: contact_time}\n"),
        ("  closing:\n", NEW_MENU),
        ("  intent:\n", "  intent:\n    morning: 上午\n    evening: 晚上\n"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    flow.write_text(text, encoding="utf-8")
    return grammars, prompts


def _run_call(store, grammars_dir: Path, prompts_dir: Path, lines: list[str]) -> CallSession:
    grammars = load_grammars(grammars_dir)
    dialog = Dialog(Case(), grammars, PromptBook.load(prompts_dir), NOW, seed=0)
    session = CallSession(store, dialog, transport="text")
    session.start()
    for inp in parse_lines(lines):
        session.handle(inp)
    session.end()
    return session


@pytest.fixture
def new_menu_console(tmp_path, store, users):
    from ivr.settings import load_settings
    from ivr.web.app import create_app

    grammars, prompts = _data_with_new_menu(tmp_path)
    settings = load_settings(grammars_dir=grammars, prompts_dir=prompts)
    with ThreadedServer(create_app(settings, ready=True, store=store)) as srv:
        client = httpx.Client(base_url=srv.url, timeout=10)
        r = client.post("/api/login", json={"username": users["supervisor"], "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield grammars, prompts, client
        client.close()


def test_a_menu_added_as_data_shows_in_the_console_funnel(new_menu_console, store):
    grammars, prompts, client = new_menu_console
    reached = _run_call(
        store, grammars, prompts, [*HAPPY_PATH, "下周五", "晚上吧", "#silence"]
    )  # closing: nothing more
    assert reached.dialog.outcome == "completed" and reached.dialog.slots["contact_time"].value == "evening"
    stopped = _run_call(store, grammars, prompts, [*HAPPY_PATH, "下周五", "#hangup"])
    assert store.get_call(stopped.call_id).last_menu == "contact_time"
    assert [t.menu for t in store.call_turns(reached.call_id)][-3:] == ["promise", "contact_time", "closing"]

    funnel = client.get("/api/analytics").json()["funnel"]
    menus = [f["menu"] for f in funnel]
    assert menus == [
        "opening",
        "purpose",
        "income_source",
        "income_amount",
        "expenses",
        "unusual_expense",
        "plan",
        "promise",
        "contact_time",  # where flow.yaml lists it; unknown_case (not reachable from start) is not
        "closing",
    ]
    step = funnel[menus.index("contact_time")]
    assert step == {"menu": "contact_time", "label": "回访时间", "reached": 2, "dropped": 1}

    page = client.get("/analytics").text  # the rendered funnel chart
    assert "回访时间" in page
    assert re.search(r'<option value="contact_time"[^>]*>回访时间</option>', client.get("/calls").text)
    detail = client.get(f"/api/calls/{reached.call_id}").json()
    answered = detail["turns"][-2]  # the last is the silence at the closing's "anything else?"
    assert (answered["menu_label"], answered["intent_label"]) == ("回访时间", "晚上")
    params = {p["name"]: p for p in client.get("/openapi.json").json()["paths"]["/api/calls"]["get"]["parameters"]}
    assert "contact_time (回访时间)" in params["menu"]["description"]  # the API docs
    assert params["reason"]["schema"]["anyOf"][0]["enum"][0] == "distress"
    bad = client.get("/api/calls", params={"reason": "quarrel"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query.reason: Input should be 'distress', ")
    ended_there = client.get("/api/calls", params={"menu": "contact_time"}).json()["items"]
    assert {(c["id"], c["last_menu_label"]) for c in ended_there} == {(stopped.call_id, "回访时间")}


def test_flow_yaml_is_the_only_place_menus_and_reasons_are_named():
    """No module or template of ivr/ spells out (as a whole string) a label that flow.yaml owns."""
    flow = load_flow(REPO / "grammars" / "flow.yaml", PromptBook.load(REPO / "audio_prompts"))
    owned = [spec.label for spec in flow.menus.values()] + [w.label for w in flow.reasons.values()]
    owned += [w.narrative for w in flow.reasons.values()] + [w.label for w in flow.identity.values()]
    owned += [w.narrative for w in flow.identity.values()]
    sources = [p for p in (REPO / "ivr").rglob("*") if p.suffix in (".py", ".html", ".js")]
    for label in owned:
        quoted = re.compile(f"[\"'>]{re.escape(label)}[\"'<]")
        found = [str(p.relative_to(REPO)) for p in sources if quoted.search(p.read_text(encoding="utf-8"))]
        assert not found, f"{label!r} of flow.yaml is repeated in {found}"
