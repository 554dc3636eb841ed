"""Requests, callbacks and contact preferences in headless Debian chromium against a real uvicorn
server and SQLite file: records made by simulated calls (a busy caller run by `ivr simulate --text`
in another process; a reduction request registered during an in-process CallSession)."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import login, simulated_call
from .test_browser import run_simulated_call

pytestmark = pytest.mark.slow

PHONE = "13812345678"


def test_agent_claims_and_resolves_a_request_with_audit(page, store, settings, artifacts_dir):
    s = simulated_call(
        store,
        settings,
        ["是我", "知道", "打零工"],
        requests={2: {"kind": "reduction", "detail": "利息太高，能不能停息挂账"}},
        caller_number=PHONE,
    )
    login(page, "agent")
    page.click("#nav-requests")
    page.wait_for_url("**/requests")
    row = page.locator("#requests tr[data-id]")
    assert row.count() == 1
    text = row.inner_text()
    assert "减免申请" in text and "停息挂账" in text and "待处理" in text and "李娜" in text
    assert "138****5678" in text and PHONE not in page.content()
    page.select_option("select[name=status]", "pending")
    page.click("form.filters button.primary")
    page.wait_for_url("**/requests?*status=pending*")
    assert page.locator("#requests tr[data-id]").count() == 1
    page.screenshot(path=str(artifacts_dir / "console_requests.png"), full_page=True)

    row.get_by_role("link").first.click()
    page.wait_for_url("**/requests/*")
    assert "停息挂账" in page.locator("#req-detail").inner_text()
    page.click("#claim")
    page.wait_for_selector("#req-status >> text=处理中")
    page.wait_for_selector("text=由 agent1")
    page.fill("#resolution", "专员审批：可停息三个月，已电话告知客户")
    page.click("#resolve")
    page.wait_for_selector("#req-status >> text=已处理")
    assert "可停息三个月" in page.locator("#req-resolution").inner_text()
    audit = page.locator("#audit").inner_text()
    assert "agent1 认领" in audit and "agent1 解决：专员审批" in audit
    page.screenshot(path=str(artifacts_dir / "console_request.png"), full_page=True)

    # the call page links its request
    page.goto(f"/calls/{s.call_id}")
    assert "已处理" in page.locator("#tasks").inner_text()

    # a supervisor sees the whole number and the audit log entry
    page.context.clear_cookies()
    login(page, "supervisor")
    page.goto("/requests?status=resolved")
    assert PHONE in page.locator("#requests").inner_text()
    page.goto("/audit")
    log = page.locator("table").inner_text()
    assert "agent1\t解决\t客户诉求 #" in log and "agent1\t认领\t客户诉求 #" in log


def test_callbacks_list_shows_time_and_marks_done(page, store, data_dir, artifacts_dir):
    report = run_simulated_call(data_dir, "busy_keys.txt")
    at = report["callback"]["at"]
    assert at, report["callback"]
    shown = dt.datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M")

    login(page, "agent")
    page.click("#nav-callbacks")
    page.wait_for_url("**/callbacks")
    row = page.locator("#callbacks tr[data-id]")
    assert row.count() == 1
    assert row.locator(".cb-at").inner_text() == shown
    assert "待回电" in row.inner_text() and "本人" in row.inner_text() and "138****8000" in row.inner_text()
    page.screenshot(path=str(artifacts_dir / "console_callbacks.png"), full_page=True)
    row.locator("button").click()
    page.wait_for_selector(".flash >> text=已完成")
    assert page.locator("#callbacks tr.empty-row").is_visible()
    page.select_option("select[name=state]", "done")
    page.click("form.filters button.primary")
    page.wait_for_url("**/callbacks?*state=done*")
    done = page.locator("#callbacks tr[data-id]")
    assert "已完成" in done.inner_text() and "agent1" in done.inner_text() and shown in done.inner_text()

    # the call page shows the callback with its time, and the contact preference list is reachable
    page.goto(f"/calls/{report['call_id']}")
    assert shown in page.locator("#tasks").inner_text()
    page.goto("/contact-preferences")
    assert page.locator("#contact-preferences tr.empty-row").is_visible()
