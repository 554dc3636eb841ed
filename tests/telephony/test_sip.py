"""Real SIP calls into the bot: baresip and sipp callers, a sipp agent for transfers."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from helpers import best_match, prompt_score, reply_delays, wait_call_ends
from peers import TESTDATA_SPEECH, baresip_call, free_port, padded_wav, read_wav, sipp

from ivr.store import Escalation, Store


def _calls(store: Store, n: int = 1, timeout: float = 10.0):
    """The stored calls once `n` of them are closed with their recording attached (the worker
    finishes its records a moment after the caller's BYE)."""
    deadline = time.monotonic() + timeout
    while True:
        calls = store.list_calls(limit=100)
        done = [c for c in calls if c.status == "ended" and c.recording_path]
        if len(done) >= n or time.monotonic() > deadline:
            return calls
        time.sleep(0.1)


def test_caller_hears_opening_prompt_and_dtmf_moves_dialog(tmp_path, sip_worker, store, prompt_variants):
    prompt_variants(16000)  # pre-render into the data dir's prompt cache, as `ivr prompts build` would
    worker = sip_worker()
    speak = padded_wav(
        TESTDATA_SPEECH / "tts_zh" / "opening_confirm.wav", tmp_path / "speak.wav", lead_s=1.0, tail_s=12.0
    )
    heard_path = baresip_call(tmp_path, worker.uri, speak, seconds=13, keys=[(9.0, "1")])

    (call,) = _calls(store)
    assert call.transport == "sip" and call.worker == f"127.0.0.1:{worker.port}"
    turns = store.call_turns(call.id)
    assert turns and turns[0].menu == "opening" and turns[0].input_kind == "dtmf" and turns[0].intent == "confirm"
    assert len(turns) == 1 and call.last_menu == "purpose", "key 1 (confirm) must move the dialog to the purpose menu"
    assert call.status == "ended" and call.ended_at is not None

    rec, rec_rate, channels = read_wav(Path(call.recording_path))
    assert channels == 2 and rec_rate == 16000
    rec_s = len(rec) / rec_rate
    assert abs(rec_s - call.duration_s) < 1.5, f"recording {rec_s:.1f}s vs call {call.duration_s:.1f}s"
    caller_db = 20 * np.log10(np.sqrt(np.mean(rec[: rec_rate * 4, 0].astype(float) ** 2)) + 1)
    assert caller_db > 40, "the caller's speech is missing from the left channel"
    # the bot channel holds a rendering of the opening prompt (the dialog picks the variant) ...
    played, exact = best_match(rec[:, 1], prompt_variants(rec_rate), seconds=2.0, rate=rec_rate)
    assert exact > 0.85, f"the right channel must hold the rendered opening prompt (best {played}: {exact:.2f})"

    # ... and the caller heard that audio through the real phone path (codec, RTP, jitter buffer)
    import soxr

    heard, rate, _ = read_wav(heard_path)
    sent = soxr.resample(rec[:, 1].astype(np.float32), rec_rate, rate)  # as the bridge does for G.711
    score = prompt_score(heard[:, 0], sent, rate)
    assert score > 0.7, f"caller did not hear the opening prompt {played} (in-order score {score:.2f})"


def test_zero_transfers_to_agent_after_escalation_is_stored(tmp_path, sip_worker, store):
    agent_port, worker = _baresip_presses_zero(tmp_path, sip_worker)

    agent_log = (tmp_path / "agent.msg").read_text()
    assert f"INVITE sip:agent@127.0.0.1:{agent_port}" in agent_log, "the agent never received the transferred call"
    (call,) = _calls(store)
    assert call.outcome == "escalated"
    esc = _escalation(store)
    assert esc.reason == "requested" and esc.transfer_status == "accepted", (esc.transfer_status, esc.transfer_detail)
    assert esc.created_at <= esc.transfer_requested_at, "REFER was requested before the escalation was stored"
    log = worker.text()
    assert log.index("transfer-requested") < log.index("sip: REFER to"), "transfer must be recorded before the REFER"


def _baresip_presses_zero(tmp_path: Path, sip_worker, agent_scenario: str | None = None):
    """A baresip caller asks for a human (key 0) and follows the REFER to a sipp agent UAS."""
    agent_port, agent = _agent(tmp_path, agent_scenario)
    try:
        worker = sip_worker(env={"IVR_AGENT_URI": f"sip:agent@127.0.0.1:{agent_port}"})
        speak = padded_wav(
            TESTDATA_SPEECH / "tts_zh" / "human_request.wav", tmp_path / "speak.wav", lead_s=1.0, tail_s=18.0
        )
        baresip_call(tmp_path, worker.uri, speak, seconds=18, keys=[(8.5, "0")])
        agent.wait(timeout=20)
    finally:
        if agent.poll() is None:  # the agent never got its call: do not leave sipp behind
            agent.kill()
            agent.wait()
    return agent_port, worker


def _agent(tmp_path: Path, scenario: str | None = None):
    """A sipp agent queue UAS on a free port: the stock `uas` (answers 200) or a scenario file."""
    port = free_port()
    scen = ["-sf", str(Path(__file__).parent / "scenarios" / scenario)] if scenario else ["-sn", "uas"]
    proc = sipp(
        tmp_path,
        [
            *scen,
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "1",
            "-trace_msg",
            "-message_file",
            str(tmp_path / "agent.msg"),
        ],
        wait=False,
    )
    return port, proc


def _escalation(store: Store) -> Escalation:
    with store.session() as s:
        (esc,) = s.query(Escalation).all()
    return esc


def test_busy_agent_queue_marks_the_transfer_failed(tmp_path, sip_worker, store):
    """Key 0 → REFER → baresip calls the agent queue, which answers 486 (all agents busy) → baresip's
    NOTIFY carries the 486 → the escalation is `failed` with that detail (it stays queued for a
    callback).  baresip 1.0 hangs up its own leg ~2 s after a failed transfer, so the apology
    itself is checked with a caller that stays on the line (next test)."""
    agent_port, worker = _baresip_presses_zero(tmp_path, sip_worker, "agent_busy.xml")

    assert f"INVITE sip:agent@127.0.0.1:{agent_port}" in (tmp_path / "agent.msg").read_text(), (
        "the agent never got the INVITE"
    )
    (call,) = _calls(store)
    esc = _escalation(store)
    assert esc.transfer_status == "failed" and esc.transfer_detail == "486 Busy Here", (
        esc.transfer_status,
        esc.transfer_detail,
    )
    assert call.outcome == "escalated", "the escalation stays queued for a callback"
    log = worker.text()
    assert log.index("sip: REFER to") < log.index("transfer NOTIFY 486 Busy Here final=True")


@pytest.mark.parametrize(
    "refer_reply, detail",
    [("accept", "486 Busy Here"), ("reject", "603 Decline")],
    ids=["notify-486", "refer-rejected"],
)
def test_failed_transfer_apology_is_played_then_the_bot_hangs_up(
    tmp_path, sip_worker, store, prompt_variants, refer_reply, detail
):
    """A caller that stays on the line: key 0 → REFER → either NOTIFY "SIP/2.0 486 Busy Here" or the
    REFER itself rejected → escalation `failed` with the detail, the bot says transfer.failed
    (apology + callback offer) in full and then sends BYE itself (the sipp scenario fails without it)."""
    apology = prompt_variants(16000, "transfer.failed")  # rendered into the cache the bot reads too
    worker = sip_worker("--rtp-timeout", "60")  # the caller's speech pcap ends long before the apology
    scen = Path(__file__).parent / "scenarios" / "uac_refer_busy.xml"
    proc = sipp(
        tmp_path,
        [
            "-sf",
            str(scen),
            "-key",
            "refer_reply",
            refer_reply,
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-timeout",
            "80s",
            "-trace_msg",
            "-message_file",
            str(tmp_path / "uac.msg"),
            f"127.0.0.1:{worker.port}",
        ],
        timeout=90,
    )
    assert proc.returncode == 0, f"REFER/NOTIFY/BYE flow failed:\n{(tmp_path / 'uac.msg').read_text()[-3000:]}"

    (call,) = _calls(store)
    esc = _escalation(store)
    assert esc.transfer_status == "failed" and esc.transfer_detail == detail, (esc.transfer_status, esc.transfer_detail)
    assert call.outcome == "escalated"
    rec, rate, _ = read_wav(Path(call.recording_path))
    played, score = best_match(rec[:, 1], apology, seconds=3.0, rate=rate)
    assert score > 0.85, f"the bot channel must hold the transfer.failed apology (best {played}: {score:.2f})"
    tail = next(a for n, a in apology if n == played)[-3 * rate :]  # the callback offer at its end
    assert best_match(rec[:, 1], [(played, tail)], seconds=2.0, rate=rate, start_s=0.5)[1] > 0.85, (
        "the apology was cut short"
    )


def test_rings_at_once_and_answers_once_the_engine_is_ready(tmp_path, sip_worker):
    """An engine that takes 2 s to build (unbuilt prompt cache): 180 Ringing goes out at once, so a
    balancer does not fail the call over; 200 OK follows when the engine is ready."""
    from tel_fakes import BUILD_DELAY_S

    worker = sip_worker("--engine", "tel_fakes:slow_tone_factory")
    scen = Path(__file__).parent / "scenarios" / "uac_short.xml"  # requires 180 before 200
    trace = tmp_path / "uac.msg"
    proc = sipp(
        tmp_path,
        [
            "-sf",
            str(scen),
            "-d",
            "1000",
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-timeout",
            "20s",
            "-trace_msg",
            "-message_file",
            str(trace),
            f"127.0.0.1:{worker.port}",
        ],
        timeout=30,
    )
    assert proc.returncode == 0, f"the call failed (no 180 before the 200?):\n{trace.read_text()[-3000:]}"
    delays = reply_delays(trace)
    (ringing,), (ok,) = delays["180"], delays["200"]
    assert ringing < 0.5, f"180 Ringing came {ringing:.2f} s after the INVITE"
    assert ok >= BUILD_DELAY_S - 0.1, "200 OK was sent before the engine was built"
    assert "answered after" in worker.text()


def test_engine_not_ready_in_time_is_refused_with_503(tmp_path, sip_worker):
    """The engine takes longer than --answer-timeout: the call is refused with 503 (a balancer
    tries the next worker) instead of ringing forever, and the worker keeps serving."""
    worker = sip_worker("--engine", "tel_fakes:slow_tone_factory", "--answer-timeout", "1")
    scen = Path(__file__).parent / "scenarios" / "uac_short.xml"
    args = ["-sf", str(scen), "-d", "500", "-m", "1", "-i", "127.0.0.1", "-timeout", "20s", f"127.0.0.1:{worker.port}"]
    err = tmp_path / "err.log"
    proc = sipp(tmp_path, [*args, "-mp", str(free_port()), "-trace_err", "-error_file", str(err)], timeout=30)
    assert proc.returncode != 0 and "SIP/2.0 503" in err.read_text()
    assert "engine not ready after" in worker.text()
    assert wait_call_ends(worker, 1)[0]["reason"].startswith("sip 503")


def test_four_simultaneous_calls_lose_no_frames(tmp_path, sip_worker, korean_model_path):
    """4 sipp calls with 7 s of RTP each, real Vosk decoding in the same process (Korean model stands
    in for the absent Mandarin one): every call answered, every 20 ms frame reached the engine."""
    worker = sip_worker(env={"IVR_VOSK_MODEL": str(korean_model_path)})
    scen = Path(__file__).parent / "scenarios" / "uac_short.xml"
    proc = sipp(
        tmp_path,
        [
            "-sf",
            str(scen),
            "-d",
            "7000",
            "-m",
            "4",
            "-l",
            "4",
            "-r",
            "20",
            "-i",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-timeout",
            "40s",
            f"127.0.0.1:{worker.port}",
        ],
        timeout=60,
    )
    assert proc.returncode == 0, "not every call was answered and hung up cleanly (see sipp log)"
    ends = wait_call_ends(worker, 4)
    assert len(ends) == 4
    for st in ends:
        assert st["media_s"] > 6.5
        assert st["frames_in"] >= st["frames_expected"] - 1, f"frames lost: {st}"
        assert st["rtp_lost"] == 0 and st["jb_discard"] == 0, st


def test_fifth_call_is_busy(tmp_path, sip_worker):
    worker = sip_worker()
    scen = Path(__file__).parent / "scenarios" / "uac_short.xml"
    proc = sipp(
        tmp_path,
        [
            "-sf",
            str(scen),
            "-d",
            "3000",
            "-m",
            "5",
            "-l",
            "5",
            "-r",
            "50",
            "-i",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-timeout",
            "20s",
            "-trace_err",
            "-error_file",
            str(tmp_path / "err.log"),
            f"127.0.0.1:{worker.port}",
        ],
        timeout=40,
    )
    assert proc.returncode != 0  # one call failed ...
    assert "SIP/2.0 486 Busy Here" in (tmp_path / "err.log").read_text()  # ... with 486
    assert len(wait_call_ends(worker, 4)) == 4  # ... and the other four were served


def test_g722_caller_gets_wideband_audio_and_tcp_works(tmp_path, sip_worker):
    from tel_fakes import chirp

    worker = sip_worker("--engine", "tel_fakes:tone_factory")
    speak = padded_wav(
        TESTDATA_SPEECH / "tts_zh" / "repeat.wav", tmp_path / "speak.wav", lead_s=0.5, tail_s=4.0, rate=16000
    )
    heard, rate, _ = read_wav(baresip_call(tmp_path, worker.uri, speak, seconds=4, codecs=("g722",)))
    assert rate == 16000, "G722 was not negotiated"
    tone = np.frombuffer(chirp(16000), dtype="<i2")
    assert best_match(heard[:, 0], [("chirp", tone)], seconds=0.5, rate=16000, start_s=0.3)[1] > 0.8
    scen = Path(__file__).parent / "scenarios" / "uac_short.xml"
    tcp = sipp(
        tmp_path,
        [
            "-sf",
            str(scen),
            "-t",
            "t1",
            "-d",
            "1000",
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-timeout",
            "20s",
            f"127.0.0.1:{worker.port}",
        ],
        timeout=30,
    )
    assert tcp.returncode == 0, "a call over SIP/TCP failed"


@pytest.mark.slow
def test_repeated_load_runs_tear_down_cleanly(tmp_path, sip_worker):
    """20 rounds of 4 short simultaneous calls; the worker must stay up and exit cleanly (fixture)."""
    worker = sip_worker()
    scen = Path(__file__).parent / "scenarios" / "uac_short.xml"
    proc = sipp(
        tmp_path,
        [
            "-sf",
            str(scen),
            "-d",
            "600",
            "-m",
            "80",
            "-l",
            "4",
            "-r",
            "20",
            "-i",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-timeout",
            "90s",
            f"127.0.0.1:{worker.port}",
        ],
        timeout=120,
    )
    assert proc.returncode == 0
    assert len(wait_call_ends(worker, 80)) == 80
    assert worker.proc.poll() is None
