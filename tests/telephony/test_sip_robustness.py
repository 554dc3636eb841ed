"""Hostile or broken input on the SIP side: garbage, truncated SDP, stray RTP, blocked sources,
silent peers.  The affected call (if any) ends cleanly with a log line; a good call in progress
is unaffected and the worker keeps serving."""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

from helpers import call_ends, children, lost_frames, wait_call_ends
from peers import free_port, free_rtp_range, sipp

SCENARIO = Path(__file__).parent / "scenarios" / "uac_short.xml"
TONE = ("--engine", "tel_fakes:tone_factory")


def invite(port: int, call_id: str, body: bytes, content_length: int | None = None) -> bytes:
    head = (
        f"INVITE sip:bot@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{call_id}\r\n"
        f"From: <sip:test@127.0.0.1>;tag={call_id}\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: {call_id}\r\n"
        f"CSeq: 1 INVITE\r\nContact: <sip:test@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body) if content_length is None else content_length}\r\n\r\n"
    )
    return head.encode() + body


def final_response(sock: socket.socket) -> str:
    while True:
        line = sock.recv(4000).split(b"\r\n", 1)[0].decode()
        if not line.startswith("SIP/2.0 1"):
            return line


def good_call(tmp_path: Path, worker, seconds: float):
    return sipp(
        tmp_path,
        [
            "-sf",
            str(SCENARIO),
            "-d",
            str(int(seconds * 1000)),
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-timeout",
            "30s",
            f"127.0.0.1:{worker.port}",
        ],
        wait=False,
    )


def test_garbage_truncated_sdp_and_stray_rtp_leave_the_good_call_alone(tmp_path, sip_worker):
    rtp_port = free_rtp_range(20)
    worker = sip_worker(*TONE, "--rtp-port", str(rtp_port), "--rtp-span", "20")
    good = good_call(tmp_path, worker, 5.0)
    time.sleep(1.0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(3)
        me = s.getsockname()[1]
        bot = ("127.0.0.1", worker.port)
        s.sendto(b"\x00\xff\xfe garbage that is not SIP\r\n\r\n", bot)
        # INVITE whose SDP stops in the middle of the media line
        s.sendto(
            invite(me, "trunc-sdp", b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=aud"),
            bot,
        )
        assert final_response(s).startswith("SIP/2.0 4"), "a truncated SDP offer must be refused with a 4xx"
        # INVITE whose Content-Length promises more body than the datagram holds
        s.sendto(invite(me, "short-body", b"v=0\r\n", content_length=400), bot)
        # RTP from a source that negotiated nothing, aimed at the good call's media port
        for seq in range(100):
            s.sendto(
                struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0xDEADBEEF) + os.urandom(160), ("127.0.0.1", rtp_port)
            )
            time.sleep(0.01)
    assert good.wait(timeout=30) == 0, "the good call was disturbed (see sipp log)"
    (st,) = wait_call_ends(worker, 1)  # only the good call became a call
    assert st["reason"] == "sip 200 Normal call clearing" and lost_frames(st) <= 1 and st["media_s"] > 4.5, st
    log = worker.text()
    assert "Bad SDP in incoming INVITE" in log, "a malformed INVITE must leave a log line"
    # and the worker still answers
    assert good_call(tmp_path, worker, 0.5).wait(timeout=30) == 0


def test_caller_outside_allow_list_gets_403(tmp_path, sip_worker):
    worker = sip_worker(*TONE, env={"IVR_SIP_ALLOW": '["10.0.0.0/8"]'})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(3)
        sdp = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
        s.sendto(invite(s.getsockname()[1], "blocked", sdp), ("127.0.0.1", worker.port))
        assert final_response(s) == "SIP/2.0 403 Forbidden"
    assert "not in sip_allow" in worker.text() and not call_ends(worker.text())


def test_silent_peer_is_hung_up_after_rtp_timeout(tmp_path, sip_worker):
    worker = sip_worker(*TONE, "--rtp-timeout", "1.5")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        port = s.getsockname()[1]
        sdp = f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {free_port()} RTP/AVP 0\r\n"
        s.sendto(invite(port, "silent", sdp.encode()), ("127.0.0.1", worker.port))
        ok = s.recv(4000)
        while ok.startswith(b"SIP/2.0 1"):
            ok = s.recv(4000)
        assert ok.startswith(b"SIP/2.0 200")
        to = next(line for line in ok.decode().split("\r\n") if line.startswith("To:"))
        ack = (
            f"ACK sip:bot@127.0.0.1:{worker.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-ack\r\n"
            f"From: <sip:test@127.0.0.1>;tag=silent\r\n{to}\r\nCall-ID: silent\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n"
            f"Content-Length: 0\r\n\r\n"
        )
        s.sendto(ack.encode(), ("127.0.0.1", worker.port))
        bye = s.recv(4000)  # we never send RTP: the bot gives up and sends BYE
        assert bye.startswith(b"BYE "), bye[:80]
    assert len(wait_call_ends(worker, 1)) == 1 and "no RTP for" in worker.text()


def test_worker_stops_cleanly_when_its_engine_host_dies(tmp_path, sip_worker):
    import signal

    worker = sip_worker(*TONE)
    call = good_call(tmp_path, worker, 6.0)
    time.sleep(1.5)
    (host,) = [pid for pid in children(worker.proc.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    os.kill(host, signal.SIGKILL)
    assert worker.proc.wait(timeout=15) == 0, "the worker must stop cleanly so `ivr serve` restarts it"
    call.wait(timeout=30)
    assert len(wait_call_ends(worker, 1)) == 1 and "engine host died" in worker.text()
