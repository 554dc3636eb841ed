"""Masking for agents (issue 13 #7): every spelling of a number, keyed answers by what they are,
searches by a whole number refused for agents, the same masking in API JSON, CSV and pages.

The calls are real: `CallSession` + `Dialog` driven by keys and words as `ivr simulate --text`
drives them, stored in the test's SQLite file and read back over HTTP from uvicorn."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from .conftest import simulated_call

PHONE = "13800138000"
VERIFY_CASE = {
    "case_id": "C-2026-0077",
    "name": "李娜",
    "amount": 4800,
    "days_overdue": 45,
    "company": "安信消费金融",
    "caller_number": PHONE,
    "verify": True,
    "id_last4": "4821",
}
# the caller keys the second factor, then a phone number at the income-amount prompt, then says a
# phone number in spoken digits and an ID number in full-width digits, then asks for a human
SPOKEN_PHONE = "幺三八 洞洞幺三 八洞洞洞"
WIDE_ID = "１１０１０１１９９００３０７１２３４"
KEYED_CALL = [
    "#dtmf 1",
    "#dtmf 4821#",
    "#dtmf 1",
    "#dtmf 1",
    f"#dtmf {PHONE}#",
    f"我的电话是{SPOKEN_PHONE}，身份证{WIDE_ID}",
    "#dtmf 0",
]
WHOLE = (PHONE, "4821", "幺三八 洞洞幺三 八洞洞洞", WIDE_ID, "13,800,138,000")


# ---------------------------------------------------------------- the masking function, form by form


@pytest.mark.parametrize(
    "text, expected",
    [
        ("电话１３８００１３８０００", "电话１３８＊＊＊＊８０００"),  # full-width digits stay full-width
        ("身份证１１０１０１１９９００３０７１２３Ｘ", "身份证１１０１＊＊＊＊＊＊＊＊＊＊１２３Ｘ"),
        ("号码１３８　００１３　８０００", "号码１３８　＊＊＊＊　８０００"),  # ideographic spaces
    ],
)
def test_full_width_numbers_are_masked(text, expected):
    """issue 13 #7: full-width digits are read through NFKC before deciding what the number is."""
    from ivr.web.masking import mask_text

    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("打138.0013.8000找我", "打138.****.8000找我"),
        ("138 - 0013 - 8000", "138 - **** - 8000"),
        ("+86-138-0013-8000", "+86-138-****-8000"),
        ("电话：138—0013—8000", "电话：138—****—8000"),
        ("座机010.8765.4321", "座机010.****.4321"),
        ("卡号6222 0212 3456 7890", "卡号6222 **** **** 7890"),
        ("约13,800,138,000元/月", "约13,8**,**8,000元/月"),  # a keyed phone printed as an amount
    ],
)
def test_separated_numbers_are_masked_keeping_their_form(text, expected):
    """issue 13 #7: dotted, spaced, dashed and comma-grouped numbers are one number, masked in place."""
    from ivr.web.masking import mask_text

    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("幺三八洞洞幺三八洞洞洞", "幺三八＊＊＊＊八洞洞洞"),
        ("一 三 八 两 两 三 三 拐 拐 八 八", "一 三 八 ＊ ＊ ＊ ＊ 拐 拐 八 八"),
        ("身份证幺幺零幺零幺幺九九零零三零七幺二三叉", "身份证幺幺零幺＊＊＊＊＊＊＊＊＊＊幺二三叉"),
        ("座机零幺零 八七六五四三二一", "座机零幺零 ＊＊＊＊四三二一"),
        ("号码是洞洞洞七七七七七", "号码是＊＊＊＊＊＊＊＊"),  # an unrecognised spoken run: all hidden
    ],
)
def test_spoken_digits_are_masked(text, expected):
    """issue 13 #7: spoken digits (幺 / 两 / 洞 / 拐 / 叉 included) are numbers like written ones."""
    from ivr.web.masking import mask_text

    assert mask_text(text) == expected


def test_keyed_answers_are_masked_by_what_was_asked():
    """issue 13 #7: the second factor (menu verify) is hidden whole in text and slots, keyed or
    spoken; a number keyed at an amount prompt is masked as the number it is, a real amount stays."""
    from ivr.web.masking import mask_summary, mask_turn, mask_value

    keyed = mask_turn({"menu": "verify", "caller_text": "4821#", "slots": {"amount": 4821}, "bot_text": "感谢"})
    assert keyed["caller_text"] == "****#" and keyed["slots"] == {"amount": "****"}
    spoken = mask_turn({"menu": "verify", "caller_text": "后四位是四八两幺", "slots": {}, "bot_text": ""})
    assert spoken["caller_text"] == "后四位是＊＊＊＊"
    income = mask_turn({"menu": "income_amount", "caller_text": f"{PHONE}#", "slots": {"amount": int(PHONE)}})
    assert income["caller_text"] == "138****8000#" and income["slots"] == {"amount": "138****8000"}
    assert mask_turn({"menu": "income_amount", "caller_text": "8000#", "slots": {"amount": 8000}})["slots"] == {
        "amount": 8000
    }
    assert mask_value({"income_amount": {"value": 620202123456789012, "turn": 5}})["income_amount"]["value"] == (
        "6202" + "*" * 10 + "9012"
    )
    assert mask_value({"id_last4": "482X", "verify": True}) == {"id_last4": "****", "verify": True}
    summary = mask_summary(
        {
            "case": {"id_last4": "4821", "amount": 4800},
            "transcript": [
                {"turn": 2, "speaker": "caller", "menu": "verify", "input": "dtmf", "text": "4821#"},
                {"turn": 2, "speaker": "bot", "menu": "verify", "text": "您的账户有4800元逾期"},
            ],
        }
    )
    assert summary["case"] == {"id_last4": "****", "amount": 4800}
    assert [t["text"] for t in summary["transcript"]] == ["****#", "您的账户有4800元逾期"]


def test_a_whole_number_in_a_search_is_recognised_in_every_spelling():
    """issue 13 #7: what an agent may not search by (a whole phone / ID / bank number, any form);
    amounts, dates and number words are no such number."""
    from ivr.web.masking import contains_full_number, mask_text

    for q in (PHONE, "１３８００１３８０００", "138.0013.8000", "+86 138 0013 8000", "幺三八洞洞幺三八洞洞洞", WIDE_ID):
        assert contains_full_number(q), q
    for q in ("8000", "138", "李娜", "C-2026-0077", "2026-11-27", "e388d069"):
        assert not contains_full_number(q), q
    # amounts, dates and number words stay as they are; a date next to a phone: only the phone is masked
    for text in ("下周五还两千，三两天内回电", "欠款3,500元，逾期45天", "承诺2026-12-01前还款2000元"):
        assert mask_text(text) == text
    assert mask_text("2026-11-27 13800138000，欠款3,500元") == "2026-11-27 138****8000，欠款3,500元"


# ---------------------------------------------------------------- a real keyed call over HTTP


def keyed_call(store, settings) -> str:
    """The KEYED_CALL through the real CallSession + Dialog with a second-factor case; its call id."""
    from ivr.case import Case
    from ivr.cli.records import parse_lines
    from ivr.events import CallerHangup
    from ivr.wiring import wiring_for

    session = wiring_for(settings).session(
        store,
        transport="text",
        case=Case.from_dict(VERIFY_CASE),
        now=dt.datetime.now().replace(second=0, microsecond=0),
        seed=0,
        caller_number=PHONE,
    )
    session.start()
    for inp in [*parse_lines(KEYED_CALL), CallerHangup()]:
        session.handle(inp)
        if session.dialog.finished:
            break
    session.end()
    return session.call_id


@pytest.fixture
def keyed(store, settings):
    call_id = keyed_call(store, settings)
    from ivr.store import Escalation

    with store.session() as s:
        esc_id = s.query(Escalation.id).filter(Escalation.call_id == call_id).scalar()
    assert esc_id is not None, "the call should have been handed to a human (key 0)"
    return call_id, esc_id


def test_api_agent_sees_every_form_masked_supervisor_sees_them_whole(client, keyed):
    """issue 13 #7: API JSON of a real keyed call (queue, escalation with summary, call with turns
    and profile, history): nothing whole for an agent; the supervisor's answer has the numbers."""
    call_id, esc_id = keyed
    agent, sup = client("agent"), client("supervisor")
    paths = ("/api/escalations", f"/api/escalations/{esc_id}", f"/api/calls/{call_id}", "/api/calls")
    for path in paths:
        text = agent.get(path).content.decode()
        for whole in WHOLE:
            assert whole not in text, (path, whole)
    call = agent.get(f"/api/calls/{call_id}").json()
    turns = {t["menu"]: t for t in call["turns"] if t["input_kind"] != "hangup"}
    assert turns["verify"]["caller_text"] == "****#" and turns["verify"]["slots"] == {"amount": "****"}
    assert turns["income_amount"]["caller_text"] == "138****8000#"
    assert turns["income_amount"]["slots"] == {"amount": "138****8000"}
    said = next(t["caller_text"] for t in call["turns"] if t["input_kind"] == "speech")
    assert "幺三八 ＊＊＊＊ 八洞洞洞" in said and "１１０１＊＊＊＊＊＊＊＊＊＊１２３４" in said
    assert call["case"]["id_last4"] == "****" and call["caller_number"] == "138****8000"
    income = next(p for p in call["profile"] if p["key"] == "income")
    assert "13,8**,**8,000元" in income["value"]  # the keyed phone read as an amount, masked in place
    esc = agent.get(f"/api/escalations/{esc_id}").json()
    assert "138****8000" in esc["narrative"] and esc["summary"]["case"]["id_last4"] == "****"
    verify_lines = [t for t in esc["summary"]["transcript"] if t.get("menu") == "verify" and t["speaker"] == "caller"]
    assert verify_lines and all(t["text"] == "****#" for t in verify_lines)
    whole_for_sup = sup.get(f"/api/calls/{call_id}").content.decode()
    for whole in (PHONE, "4821#", WIDE_ID, SPOKEN_PHONE):
        assert whole in whole_for_sup, whole


def test_agent_search_by_a_whole_number_is_refused_and_audited(client, keyed):
    """issue 13 #7: a search by a whole number would confirm it is on file: 403 for agents in any
    spelling, on every searchable list, audited with the number masked; part of a number still
    works; supervisors search by the whole number as before."""
    call_id, _ = keyed
    agent, sup = client("agent"), client("supervisor")
    for path in ("/api/calls", "/api/requests", "/api/callbacks", "/api/contact-preferences"):
        for q in (PHONE, "１３８００１３８０００", "138.0013.8000", "幺三八洞洞幺三八洞洞洞"):
            r = agent.get(path, params={"q": q})
            assert r.status_code == 403, (path, q, r.text)
            detail = r.json()["detail"]
            assert detail.startswith("q: expected") and "not searchable for agents" in detail
            assert PHONE not in detail and ("****" in detail or "＊＊＊＊" in detail)
    r = agent.get("/calls", params={"q": PHONE}, headers={"accept": "text/html"})
    assert r.status_code == 403 and "没有权限" in r.text and PHONE not in r.text
    assert [i["id"] for i in agent.get("/api/calls", params={"q": "8000"}).json()["items"]] == [call_id]
    assert [i["id"] for i in sup.get("/api/calls", params={"q": PHONE}).json()["items"]] == [call_id]
    refused = [a for a in sup.get("/api/audit").json() if a["action"] == "search_refused"]
    assert len(refused) == 17 and {a["username"] for a in refused} == {"agent1"}
    assert {a["target_id"] for a in refused} == {"calls", "requests", "callbacks", "contact-preferences"}
    assert all(PHONE not in a["detail"] and "１３８００１３８０００" not in a["detail"] for a in refused)


def test_csv_exports_masked_for_agents_whole_for_supervisors(client, store, settings):
    """issue 13 #7: the requests and callbacks CSV go through the same masking: an agent's export
    has no whole number in any spelling, the supervisor's (for the follow-up team) has them."""
    said = f"能不能减免，打{SPOKEN_PHONE}或者１３９.0013.9000找我"
    simulated_call(
        store,
        settings,
        ["是我", "知道", "#hangup"],
        requests={2: {"kind": "reduction", "detail": said}},
        caller_number="+86 １３８-0013-8000",
    )
    simulated_call(store, settings, ["#dtmf 9", "#dtmf 5", "#dtmf 5", "#dtmf 5"], caller_number="138.0013.8000")
    agent, sup = client("agent"), client("supervisor")

    def rows(c, path):
        r = c.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
        return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))

    (req,) = rows(agent, "/api/requests.csv")
    assert req["来电号码"] == "138****8000"
    assert req["内容"] == "能不能减免，打幺三八 ＊＊＊＊ 八洞洞洞或者１３９.****.9000找我"
    (cb,) = rows(agent, "/api/callbacks.csv")
    assert cb["来电号码"] == "138****8000" and cb["状态"] == "due"
    (req,) = rows(sup, "/api/requests.csv")
    assert req["内容"] == said and req["来电号码"].startswith("'+86")  # whole, formula prefix neutralised
    (cb,) = rows(sup, "/api/callbacks.csv")
    assert cb["来电号码"] == "138.0013.8000"
    exports = [a for a in sup.get("/api/audit").json() if a["action"] == "export"]
    assert {a["username"] for a in exports} == {"agent1", "supervisor1"}
    assert client("agent").get("/api/promises.csv").status_code == 403  # whole numbers: follow-up team only


# ---------------------------------------------------------------- the escalation page in a real browser


@pytest.mark.slow
def test_browser_agent_sees_the_keyed_call_masked_supervisor_whole(page, keyed):
    """issue 13 #7: headless chromium, the escalation page of the real keyed call: the agent's
    transcript, summary lines and narrative hold no whole number, the search box refuses a whole
    number; the supervisor's page shows the numbers."""
    from .conftest import login

    call_id, esc_id = keyed
    login(page, "agent")
    page.goto(f"/escalations/{esc_id}")
    assert page.locator("#caller-number").inner_text() == "138****8000"
    assert page.locator(".turn:has(.menu:text('身份核验')) .line.caller .text").inner_text() == "按键 ****#"
    assert "13,8**,**8,000元" in page.locator("table.profile").inner_text()
    assert "１１０１＊＊＊＊＊＊＊＊＊＊１２３４" in page.locator(".transcript").inner_text()
    body = page.locator("body").inner_text()
    for whole in WHOLE:
        assert whole not in body, whole
    page.goto("/calls")
    page.fill("input[name=q]", "138.0013.8000")
    page.locator("input[name=q]").press("Enter")
    page.wait_for_load_state()
    assert "没有权限" in page.locator("body").inner_text() and "138.****.8000" in page.locator("body").inner_text()

    page.click("text=退出")
    page.wait_for_url("**/login")
    login(page, "supervisor")
    page.goto(f"/escalations/{esc_id}")
    assert page.locator("#caller-number").inner_text() == PHONE
    assert page.locator(".turn:has(.menu:text('身份核验')) .line.caller .text").inner_text() == "按键 4821#"
    assert WIDE_ID in page.locator(".transcript").inner_text()
    page.goto("/calls?q=" + PHONE)
    assert page.locator(f"a[href='/calls/{call_id}']").count() >= 1
