"""Issue 13, finding 9: a SIP worker says nothing to sources outside `sip_allow`.

pjsua answers OPTIONS and MESSAGE itself, before any pjsua2 callback; the worker's PJSIP module
(ivr/transports/sip/gate.py) drops them, and every other non-call request, from strangers.  The
peer is sipp on loopback: the worker allows 127.0.0.1 only, the stranger sends from 127.0.0.3.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from peers import free_port, sipp

ALLOWED, STRANGER = "127.0.0.1", "127.0.0.3"
# what pjsua (and our SUBSCRIBE hook) answer an allowed peer: the allowed path must keep working
REQUESTS = {
    "OPTIONS": ("Accept: application/sdp", "", "200"),
    "MESSAGE": ("Content-Type: text/plain", "hello", "200"),
    "SUBSCRIBE": ("Event: presence\nAccept: application/pidf+xml\nExpires: 60", "", "489"),
}
SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="{method} probe">
  <send retrans="500">
    <![CDATA[
{method} sip:bot@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:probe@[local_ip]:[local_port]>;tag=[pid]probe[call_number]
To: <sip:bot@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 {method}
Contact: <sip:probe@[local_ip]:[local_port]>
Max-Forwards: 70
{headers}
Content-Length: [len]

{body}
    ]]>
  </send>
  <recv response="{code}" timeout="3000" ontimeout="done"/>
  <label id="done"/>
</scenario>
"""


def probe(tmp_path: Path, port: int, method: str, source: str) -> tuple[int, list[str]]:
    """sipp sends one `method` from `source`; → (sipp's exit code, status lines it received)."""
    headers, body, code = REQUESTS[method]
    scenario = tmp_path / f"{method}-{source}.xml"
    scenario.write_text(SCENARIO.format(method=method, headers=headers, body=body, code=code))
    messages = tmp_path / f"{method}-{source}.msg"
    args = ["-sf", str(scenario), "-m", "1", "-i", source, "-p", str(free_port()), "-mp", str(free_port())]
    args += ["-trace_msg", "-message_file", str(messages), "-timeout", "15s", f"127.0.0.1:{port}"]
    proc = sipp(tmp_path, args, timeout=30)
    text = messages.read_text(errors="replace") if messages.exists() else ""
    return proc.returncode, re.findall(r"^(SIP/2\.0 \d{3}[^\r\n]*)", text, re.M)


@pytest.mark.parametrize("method", list(REQUESTS))
def test_requests_from_outside_the_allow_list_go_unanswered(tmp_path, sip_worker, method):
    """On main pjsua answered OPTIONS 200 and MESSAGE 200 (and we answered SUBSCRIBE 403) to
    anyone: a scanner learnt a bot listens here.  Now a stranger hears nothing, an allowed peer
    gets the same answers as before."""
    worker = sip_worker(
        "--engine", "tel_fakes:tone_factory", "--in-process", env={"IVR_SIP_ALLOW": f'["{ALLOWED}/32"]'}
    )
    rc, heard = probe(tmp_path, worker.port, method, STRANGER)
    assert heard == [], f"{method} from {STRANGER} was answered: {heard}"
    assert f"{method} from {STRANGER}" in worker.text() and "dropped unanswered" in worker.text()

    rc, heard = probe(tmp_path, worker.port, method, ALLOWED)
    code = REQUESTS[method][2]
    assert rc == 0 and heard and heard[-1].startswith(f"SIP/2.0 {code}"), (rc, heard)
