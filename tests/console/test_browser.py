"""The console in headless Debian chromium against a real uvicorn server and SQLite file.

A distress call is run by `ivr simulate --text` in another process; the queue page must show it
without a reload, then a supervisor opens it, plays the recording, claims and resolves it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import login

REPO = Path(__file__).resolve().parents[2]
AISHELL = REPO.parent / "shared" / "testdata" / "speech" / "aishell_S0150"
CALLER = "13800138000"  # examples/case.json

pytestmark = pytest.mark.slow


def run_simulated_call(data_dir: Path, script: str) -> dict:
    """`ivr simulate --text` as a separate process writing into the same database."""
    import json

    env = dict(os.environ, IVR_DATA_DIR=str(data_dir), IVR_DB_URL=f"sqlite:///{data_dir / 'ivr.sqlite3'}")
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("ivr")),
            "simulate",
            "--text",
            str(REPO / "examples" / script),
            "--case",
            str(REPO / "examples" / "case.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def wait_js(page, expression: str, timeout_s: float = 8.0) -> None:
    """Poll a JS expression from outside (wait_for_function would need 'unsafe-eval', which the
    console's Content-Security-Policy rightly refuses)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def attach_recording(store, call_id: str, data_dir: Path) -> Path:
    """Text calls make no audio: attach real speech (AISHELL) as the call's recording."""
    wav = data_dir / "recordings" / f"{call_id}.wav"
    wav.parent.mkdir(exist_ok=True)
    shutil.copy(sorted(AISHELL.glob("*.wav"))[1], wav)
    store.update_call(call_id, recording_path=str(wav))
    return wav


def test_supervisor_sees_live_escalation_plays_claims_resolves(page, server, store, data_dir, artifacts_dir):
    login(page, "supervisor")
    assert page.locator("#queue-open tr.empty-row").is_visible()
    page.wait_for_selector("#live.on")  # the event stream is connected
    page.evaluate("window.__sameDocument = true")  # survives only if the page is never reloaded

    report = run_simulated_call(data_dir, "distress.txt")
    assert report["outcome"] == "escalated" and report["escalation"]["reason"] == "distress"
    esc_id, call_id = report["escalation"]["id"], report["call_id"]
    attach_recording(store, call_id, data_dir)

    row = page.locator(f"#queue-open tr[data-id='{esc_id}']")
    row.wait_for(timeout=8000)
    assert page.evaluate("window.__sameDocument") is True
    assert "危机" in row.inner_text() and "李娜" in row.inner_text() and CALLER in row.inner_text()
    assert page.locator("#open-count").inner_text() == "1"
    page.wait_for_timeout(1200)  # the waiting-time counter ticks client-side
    assert "秒" in row.locator(".since").inner_text()
    page.screenshot(path=str(artifacts_dir / "console_queue.png"), full_page=True)

    row.get_by_role("link", name="处理").click()
    page.wait_for_url(f"**/escalations/{esc_id}")
    assert "活不下去" in page.locator(".narrative").inner_text()
    profile = page.locator("table.profile").inner_text()
    assert "已确认本人" in profile and "触发原因" in profile and "第2轮" in profile
    assert page.locator(".turn.trigger").count() == 1
    assert page.locator("svg.chart circle").count() == len(report["turns"])  # emotion timeline, one dot per turn
    assert page.locator("#wave svg path").count() == 1

    # play the recording: clicking the waveform seeks and plays; the playhead moves
    page.locator("#wave").click(position={"x": 5, "y": 40})
    wait_js(page, "document.getElementById('audio').currentTime > 0.3")
    assert float(page.locator("#wave-progress").evaluate("e => parseFloat(e.style.width)")) > 0
    page.evaluate("document.getElementById('audio').pause()")
    page.screenshot(path=str(artifacts_dir / "console_escalation.png"), full_page=True)

    page.click("#claim")
    page.wait_for_selector("text=由 supervisor1")
    page.fill("#note-text", "已安抚客户情绪，告知心理援助热线")
    page.click("#add-note")
    page.wait_for_selector("#notes >> text=已安抚客户情绪")
    page.select_option("#disposition", "hardship_plan")
    page.click("#resolve")
    page.wait_for_selector("#esc-status >> text=已解决")
    audit = page.locator("#audit").inner_text()
    for word in (
        "supervisor1 查看",
        "supervisor1 认领",
        "supervisor1 添加备注",
        "supervisor1 解决（困难还款计划）",
        "supervisor1 收听录音",
    ):
        assert word in audit, word

    page.goto("/queue")
    assert page.locator(f"#queue-resolved tr[data-id='{esc_id}']").is_visible()
    assert page.locator("#queue-open tr.empty-row").is_visible()


def test_agent_sees_masked_numbers(page, store):
    from ivr.web.sampledata import make_call

    _, esc_id = make_call(store, "emotional", caller_number=CALLER)
    login(page, "agent")
    row = page.locator(f"#queue-open tr[data-id='{esc_id}']")
    assert "138****8000" in row.inner_text() and CALLER not in page.content()
    row.get_by_role("link", name="处理").click()
    assert page.locator("#caller-number").inner_text() == "138****8000"
    assert CALLER not in page.content()
    assert page.locator("nav >> text=数据分析").count() == 0  # agents have no analytics


def test_logged_out_browser_is_sent_to_login(page, store):
    from ivr.web.sampledata import make_call

    from .conftest import PASSWORD

    _, esc_id = make_call(store, "distress")
    page.goto(f"/escalations/{esc_id}")
    page.wait_for_url(f"**/login?next=/escalations/{esc_id}")
    page.fill("input[name=username]", "agent1")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".flash").inner_text() == "用户名或密码错误"
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/escalations/{esc_id}")  # back where the user wanted to go
    page.click("text=退出")
    page.wait_for_url("**/login")
    page.goto("/queue")
    page.wait_for_url("**/login?next=/queue")


def test_history_and_analytics_pages(page, store, artifacts_dir):
    from ivr.web.sampledata import populate

    populate(store, 400, days=14, seed=11)
    login(page, "supervisor")
    page.click("nav >> text=通话记录")
    assert page.locator("table.calls tbody tr").count() == 50
    page.select_option("select[name=outcome]", "escalated")
    page.click("text=筛选")
    page.wait_for_url("**outcome=escalated**")
    outcomes = page.locator("table.calls tbody tr td:nth-child(4)").all_inner_texts()
    assert outcomes and set(outcomes) == {"转人工"}
    page.screenshot(path=str(artifacts_dir / "console_calls.png"), full_page=True)
    page.click("nav >> text=数据分析")
    assert page.locator(".kpi").first.inner_text().startswith("400")
    assert page.locator("svg.chart").count() == 4
    page.screenshot(path=str(artifacts_dir / "console_analytics.png"), full_page=True)
