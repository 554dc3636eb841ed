"""`ivr serve` / `python server.py`: SIP workers + console/API + /media WebSocket + AudioSocket."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets
from peers import MEDIA_AUTH, MEDIA_TOKEN, free_port, sipp
from test_audiosocket import Client

REPO = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).parent / "scenarios" / "uac_short.xml"


def test_serve_runs_every_transport_and_reports_ready(tmp_path, data_dir):
    sip, http, audiosock = free_port(), free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "server.py",
            "--sip",
            f"127.0.0.1:{sip}",
            "--http",
            f"127.0.0.1:{http}",
            "--audiosocket",
            f"127.0.0.1:{audiosock}",
            "--sip-workers",
            "2",
            "--agent-uri",
            "sip:agent@127.0.0.1:5999",
        ],
        cwd=REPO,
        env=dict(os.environ, IVR_MEDIA_TOKEN=MEDIA_TOKEN),  # media is refused without it (issue 13)
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        statuses = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                statuses.append(httpx.get(f"http://127.0.0.1:{http}/healthz", timeout=2).status_code)
            except httpx.HTTPError:
                pass
            if statuses and statuses[-1] == 200:
                break
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        assert statuses and statuses[-1] == 200, (statuses, log.read_text()[-2000:])

        for port in (sip, sip + 2):  # both SIP workers answer
            p = sipp(
                tmp_path,
                [
                    "-sf",
                    str(SCENARIO),
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
                    f"127.0.0.1:{port}",
                ],
                timeout=30,
            )
            assert p.returncode == 0, f"SIP worker on {port} did not serve a call"

        async def media() -> tuple[int, int]:
            c = await Client.connect(audiosock)
            await c.stream(b"\0" * 320, 2.0)  # 2 s: room for a loaded machine to start the prompt
            c.send(0x00)
            await asyncio.wait_for(c.closed.wait(), 5)
            got = 0
            async with websockets.connect(
                f"ws://127.0.0.1:{http}/media?rate=8000", additional_headers=MEDIA_AUTH
            ) as ws:
                for _ in range(25):
                    await ws.send(b"\0" * 320)
                    got += len(await asyncio.wait_for(ws.recv(), 2))
                await ws.send(json.dumps({"event": "stop"}))
            return len(c.audio), got

        as_bytes, ws_bytes = asyncio.run(media())
        assert as_bytes > 320 * 40 and ws_bytes == 320 * 25
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert "Assertion" not in text and "Traceback" not in text, text[-3000:]
    transports = sorted(
        c["transport"] for c in (json.loads(x.split("call-end ", 1)[1]) for x in text.splitlines() if "call-end " in x)
    )
    assert transports == ["audiosocket", "sip", "sip", "websocket"], transports


def test_serve_rejects_bad_flags_with_one_line(data_dir):
    r = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "serve", "--sip", "127.0.0.1:fivethousand"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if r.returncode != 2:  # `python -m ivr.cli` may not be a module entry: use the script
        r = subprocess.run(
            [sys.executable, "server.py", "--sip", "127.0.0.1:fivethousand"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "ivr: error: bad address '127.0.0.1:fivethousand': expected HOST:PORT with a numeric port"
    ]


def test_console_only_host_loads_no_call_engine(tmp_path, data_dir):
    """`ivr serve --no-sip --no-media` (host 1 of the 3-host layout): the console answers, no call
    engine (and so no Vosk model) is built in the process, /media is not offered."""
    http = free_port(socket.SOCK_STREAM)
    log = tmp_path / "console.log"
    proc = subprocess.Popen(
        [sys.executable, "server.py", "--no-sip", "--no-media", "--http", f"127.0.0.1:{http}"],
        cwd=REPO,
        env=dict(os.environ),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{http}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)

        async def media_refused() -> bool:
            try:
                async with websockets.connect(f"ws://127.0.0.1:{http}/media?rate=8000"):
                    return False
            except websockets.exceptions.InvalidStatus:
                return True

        assert asyncio.run(media_refused())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert "engine: grammars" not in log.read_text()
    bad = subprocess.run(
        [sys.executable, "server.py", "--no-media", "--audiosocket", "127.0.0.1:9092"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "ivr: error: --no-media and --audiosocket exclude each other: AudioSocket calls need the call engine"
    ]
