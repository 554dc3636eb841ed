"""SIP endpoint: answers calls with pjsua2 and runs one call engine per call.

Threads (pjsua2 rules, see docs/telephony.md):
- `pjsua_0` runs SIP callbacks (incoming call, state, DTMF, transfer NOTIFY);
- the conference-bridge `clock` thread runs the media port callbacks every 20 ms: they only copy
  bytes in and out of the engine (frames.py) and return;
- the thread that called `SipServer.run()` owns the library: it deletes calls and ports, sends
  REFER/BYE asked for by engines (which run on their own threads and never touch pjsua2), flushes
  recordings and enforces the no-RTP timeout.
The wheel caps one process at 4 calls (5th INVITE → 486 Busy Here); `ivr serve --sip-workers N`
runs N such processes on ports base, base+2, ...
"""

from __future__ import annotations

import ipaddress
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pjsua2 as pj

from ivr.events import Transfer
from ivr.transports.guard import BadPeerId, peer_ref
from ivr.transports.media_call import (
    CallContext,
    EngineFactory,
    MediaCall,
    mark_transfer,
    transfer_failed,
    when_started,
)
from ivr.transports.sip import message as sip_message
from ivr.transports.sip.frames import read_frame, write_frame
from ivr.transports.sip.gate import SourceGate
from ivr.transports.sip.pool import CALLS_PER_WORKER

log = logging.getLogger("ivr.sip")

MAX_CALLS = CALLS_PER_WORKER  # hard cap of the pjsua2-python wheel, whatever uaConfig.maxCalls says
MEDIA_RT_PRIORITY = 10  # SCHED_RR priority of the media clock thread (1-99; kernel threads use 50)
CODECS = {"PCMU/8000": 200, "PCMA/8000": 190, "G722/16000": 180}  # everything else is disabled


@dataclass
class SipConfig:
    host: str = "127.0.0.1"
    port: int = 5070
    tcp: bool = True
    rate: int = 16000  # bridge/engine rate; G.711 is resampled, G722 kept wideband
    agent_uri: str = "sip:agent@127.0.0.1:5090"
    allow: list[str] = field(default_factory=lambda: ["127.0.0.0/8"])
    rtp_timeout_s: float = 10.0  # no RTP packet for this long → hang up
    answer_timeout_s: float = 10.0  # engine still not ready this long after 180 → 503 (balancer fails over)
    recordings_dir: Path | None = None
    rtp_port: int = 0  # first RTP port; 0: pjsua default (4000+, shared by every process: avoid)
    rtp_span: int = 0  # ports pjsua may use from rtp_port on (pairs handed out in turn, wrapping)
    log_level: int = 2  # pjsip: 1 errors, 2 warnings, 3 info


# ---------------------------------------------------------------- jobs for the owner thread
# Posted from pjsua_0 and engine threads, done by the thread that owns the library; they name the
# call by its pjsua id, never hold the Call object (see `SipServer.finish`).


@dataclass(frozen=True)
class Answer:
    """The call's engine is ready: 200 OK."""

    call: int


@dataclass(frozen=True)
class Bye:
    """The engine ended the call (or the transfer was accepted): BYE, or 500 if never answered."""

    call: int
    outcome: str


@dataclass(frozen=True)
class Refer:
    """The engine hands the call to an agent: REFER to `agent_uri`."""

    call: int
    transfer: Transfer


Job = Answer | Bye | Refer


class _AllowList:
    def __init__(self, cidrs: list[str]) -> None:
        try:
            self.nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
        except ValueError as e:
            raise ValueError(f"sip_allow: {e}") from None

    def __contains__(self, src: str) -> bool:
        host = src.rsplit(":", 1)[0].strip("[]")
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in n for n in self.nets)


class _LogWriter(pj.LogWriter):
    """pjsip log lines → Python logging, so malformed packets show up in the worker log."""

    def write(self, entry: pj.LogEntry) -> None:
        msg = entry.msg.rstrip()
        (log.warning if entry.level <= 2 else log.debug)("pjsip: %s", msg)


def _guard(fn: Callable[..., None]) -> Callable[..., None]:
    """pjsua2 callbacks must never raise into C++: log the problem and keep serving other calls."""

    def wrapper(self: Any, prm: Any) -> None:
        try:
            fn(self, prm)
        except Exception:  # noqa: BLE001
            log.exception("sip: %s failed", fn.__name__)

    wrapper.__name__ = fn.__name__
    return wrapper


_media_thread_promoted = False


def _promote_media_thread() -> None:
    """Give the bridge clock thread (the caller) real-time round-robin priority when allowed
    (root / CAP_SYS_NICE): on a busy host its 20 ms ticks otherwise queue behind other processes
    and leave as RTP bursts.  Without the permission we log once and carry on."""
    global _media_thread_promoted
    _media_thread_promoted = True
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(MEDIA_RT_PRIORITY))  # 0 = this thread
        log.info("sip: media clock thread runs at real-time priority %d", MEDIA_RT_PRIORITY)
    except (OSError, AttributeError) as e:
        log.warning("sip: media clock thread keeps normal priority (%s); expect jitter on a busy host", e)


class _CallPort(pj.AudioMediaPort):
    """The engine on the call's audio.  Both callbacks run on the bridge clock thread: copy and return."""

    def __init__(self, media: MediaCall, frame_bytes: int) -> None:
        super().__init__()
        self.media = media
        self.frame_bytes = frame_bytes
        self.active = True

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        if self.active and frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO:
            self.media.push(read_frame(frame.buf))

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        if not _media_thread_promoted:
            _promote_media_thread()
        if self.active:
            write_frame(frame.buf, self.media.pull(self.frame_bytes))
            frame.size = self.frame_bytes
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO


class _BotCall(pj.Call):
    def __init__(self, server: SipServer, acc: pj.Account, call_id: int) -> None:
        super().__init__(acc, call_id)
        self.server = server
        self.pj_id = call_id
        self.media: MediaCall | None = None
        self.port: _CallPort | None = None
        self.transfer: Transfer | None = None
        self.transfer_done = False
        self.answered = False  # 200 OK sent (until then the caller hears ringing)
        self.rx_pkts = -1
        self.rx_seen = self.ringing_since = time.monotonic()

    @_guard
    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            # Finish here, inside the callback: pjsua2's documented place to delete a Call.  Once
            # this returns the slot may be reused, and a stale Call object destroyed later would
            # hang up (or, after libDestroy, abort on) whatever call then owns its id.
            self.server.finish(self, f"{info.lastStatusCode} {info.lastReason}")

    @_guard
    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        if self.port is not None or self.media is None:
            return
        info = self.getInfo()  # keep it alive: `.media` is a view into this object
        for i, mi in enumerate(info.media):
            log.debug("sip: media %d type=%s status=%s", i, mi.type, mi.status)
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                aud = self.getAudioMedia(i)
                fmt = pj.MediaFormatAudio()
                fmt.init(pj.PJMEDIA_FORMAT_PCM, self.server.cfg.rate, 1, 20000, 16)
                port = _CallPort(self.media, self.server.cfg.rate * 2 // 50)
                port.createPort(f"call{self.getId()}", fmt)
                aud.startTransmit(port)
                port.startTransmit(aud)
                self.port = port
                self.rx_seen = time.monotonic()
                return

    @_guard
    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        if self.media is not None:
            self.media.dtmf(prm.digit)

    @_guard
    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        self.server.transfer_progress(self, prm.statusCode, prm.reason, prm.finalNotify)
        prm.cont = not prm.finalNotify and prm.statusCode < 200


class _BotAccount(pj.Account):
    def __init__(self, server: SipServer) -> None:
        super().__init__()
        self.server = server

    @_guard
    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        self.server.incoming(self, prm)

    @_guard
    def onIncomingSubscribe(self, prm: pj.OnIncomingSubscribeParam) -> None:
        """The bot publishes no presence: every SUBSCRIBE is refused before pjsua accepts it, so no
        NOTIFY ever goes to the address a stranger names in its Contact (issue 13, finding 9)."""
        src = prm.rdata.srcAddress
        allowed = src in self.server.allow
        prm.code = 489 if allowed else 403
        prm.reason = "Bad Event" if allowed else "Forbidden"
        log.warning("sip: SUBSCRIBE from %s refused (%d %s)", src, prm.code, prm.reason)


class SipServer:
    """One pjsua2 endpoint (one process) serving up to MAX_CALLS calls."""

    def __init__(self, cfg: SipConfig, engine_factory: EngineFactory, store: Any = None) -> None:
        self.cfg = cfg
        self.engine_factory = engine_factory
        self.store = store
        self.allow = _AllowList(cfg.allow)
        self.worker = f"{cfg.host}:{cfg.port}"
        self.calls: dict[int, _BotCall] = {}
        self._jobs: queue.Queue[Job] = queue.Queue()
        self._graveyard: list[Any] = []  # Python shells of destroyed ports (see _release_port)
        self._stop = threading.Event()
        self.ready = threading.Event()

    # -- called from pjsua_0 / engine threads ----------------------------------------------
    def post(self, job: Job) -> None:
        """Queue work for the owner thread (never blocks)."""
        self._jobs.put(job)

    def incoming(self, acc: _BotAccount, prm: pj.OnIncomingCallParam) -> None:
        call = _BotCall(self, acc, prm.callId)
        self.calls[prm.callId] = call  # before any hangup: DISCONNECTED may fire inside it
        src = prm.rdata.srcAddress
        op = pj.CallOpParam()
        if src not in self.allow:
            log.warning("sip: rejected call from %s: not in sip_allow %s (403)", src, self.cfg.allow)
            op.statusCode = 403
            call.hangup(op)
            return
        # Ring at once, answer when the engine is ready: a balancer that hears nothing for a while
        # fails the call over to another worker although this one is alive (and our late 200 OK then
        # opens a second dialog).  pjsua has already sent 100 Trying.
        op.statusCode = 180
        call.answer(op)
        call.ringing_since = time.monotonic()
        info = call.getInfo()
        invite = prm.rdata.wholeMsg
        pj_id: int = prm.callId
        ctx = CallContext(
            transport="sip",
            rate=self.cfg.rate,
            caller_number=_user_of(info.remoteUri),
            worker=self.worker,
            case_ref=_ref(lambda: sip_message.case_ref(invite), src),  # which case the dialer placed this call for
            called_number=sip_message.request_user(invite),
            peer_ref=_ref(lambda: peer_ref(info.callIdString, "Call-ID"), src),
            on_transfer=lambda t: self.post(Refer(pj_id, t)),
            on_hangup=lambda outcome: self.post(Bye(pj_id, outcome)),
        )
        try:
            call.media = MediaCall(ctx, self.engine_factory, self.cfg.recordings_dir, self.store)
        except Exception as e:  # noqa: BLE001 - one bad call must not take the worker down
            log.exception("sip: engine for call from %s failed: %s (500)", src, e)
            op.statusCode = 500
            call.hangup(op)
            return
        log.info("sip: call %s from %s (%s) ringing", ctx.call_id, info.remoteUri, src)

        def started(in_time: bool) -> None:
            # answer from the owner thread once the engine has stored the call row; not in time:
            # `_tick` refuses the call with 503 and the balancer fails it over
            if in_time:
                self.post(Answer(pj_id))

        when_started(call.media.engine, started, self.cfg.answer_timeout_s)

    def _answer(self, call: _BotCall) -> None:
        if call.answered or call.media is None:
            return
        call.answered = True
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)
        ms = round((time.monotonic() - call.ringing_since) * 1000)
        call.media.extra["answer_ms"] = ms  # 180 → 200: engine build time, in the call-end line
        log.info("sip: call %s answered after %d ms", call.media.ctx.call_id, ms)

    def transfer_progress(self, call: _BotCall, code: int, reason: str, final: bool) -> None:
        esc = call.transfer.escalation_id if call.transfer else None
        log.info("sip: transfer NOTIFY %s %s final=%s escalation=%s", code, reason, final, esc)
        if (not final and code < 300) or call.transfer_done:
            return
        call.transfer_done = True
        ok = 200 <= code < 300
        if call.transfer is not None:
            mark_transfer(self.store, call.transfer, "accepted" if ok else "failed", f"{code} {reason}")
        if ok:
            self.post(Bye(call.pj_id, "escalated"))
        elif call.media is not None:
            transfer_failed(call.media, f"{code} {reason}")

    # -- owner thread ------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> None:
        """Start the library on this thread, serve until `stop` is set, then tear down cleanly."""
        self._stop = stop or self._stop
        ep = self._start()
        try:
            last_tick = 0.0
            while not self._stop.is_set():
                self._run_job(timeout=0.05)
                now = time.monotonic()
                if now - last_tick >= 0.5:
                    last_tick = now
                    self._tick(now)
        finally:
            self._shutdown(ep)

    def stop(self) -> None:
        self._stop.set()

    def _start(self) -> pj.Endpoint:
        ep = pj.Endpoint()
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.maxCalls = MAX_CALLS
        cfg.uaConfig.threadCnt = 1
        cfg.uaConfig.userAgent = "ivr-bot"
        cfg.medConfig.clockRate = self.cfg.rate
        cfg.medConfig.sndClockRate = self.cfg.rate
        cfg.medConfig.noVad = True  # the engine does its own VAD; never suppress caller audio
        cfg.medConfig.ecTailLen = 0
        self._log_writer = _LogWriter()
        cfg.logConfig.writer = self._log_writer
        cfg.logConfig.level = self.cfg.log_level
        cfg.logConfig.consoleLevel = self.cfg.log_level
        cfg.logConfig.msgLogging = 0
        ep.libInit(cfg)
        # before any transport exists: OPTIONS/MESSAGE/SUBSCRIBE... from strangers go unanswered
        self.gate = SourceGate(self.allow)
        tcfg = pj.TransportConfig()
        tcfg.port = self.cfg.port
        tcfg.boundAddress = self.cfg.host
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        if self.cfg.tcp:
            ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, tcfg)
        ep.audDevManager().setNullDev()
        for c in ep.codecEnum2():
            base = "/".join(c.codecId.split("/")[:2])
            ep.codecSetPriority(c.codecId, CODECS.get(base, 0))
        ep.libStart()
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:bot@{self.cfg.host}:{self.cfg.port}"
        rtp = acfg.mediaConfig.transportConfig
        rtp.boundAddress = self.cfg.host
        if self.cfg.rtp_port:
            rtp.port = self.cfg.rtp_port
            # pjsua wraps only once the next RTP port is *beyond* port + portRange (measured: it
            # bound port + portRange), and RTCP takes the port above: so the last pair is span-2/-1
            rtp.portRange = max(0, self.cfg.rtp_span - 2)  # 0: no limit (pjsua counts on from rtp_port)
        self.account = _BotAccount(self)
        self.account.create(acfg, True)
        self.ep = ep
        log.info(
            "sip: listening on %s (udp%s), max %d calls, RTP ports %s",
            self.worker,
            "+tcp" if self.cfg.tcp else "",
            MAX_CALLS,
            f"{self.cfg.rtp_port}-{self.cfg.rtp_port + self.cfg.rtp_span - 1}"
            if self.cfg.rtp_span
            else "pjsua default",
        )
        self.ready.set()
        return ep

    def _run_job(self, timeout: float) -> None:
        try:
            job = self._jobs.get(timeout=timeout) if timeout else self._jobs.get_nowait()
        except queue.Empty:
            return
        self._do(job)

    def _do(self, job: Job) -> None:
        call = self.calls.get(job.call)
        if call is None:
            return  # the call ended meanwhile
        try:
            match job:
                case Answer():
                    self._answer(call)
                case Bye() if call.isActive():
                    op = pj.CallOpParam()
                    if not call.answered:
                        op.statusCode = 500  # the engine failed before the call was answered
                    call.hangup(op)
                case Refer(_, transfer):
                    self._xfer(call, transfer)
        except pj.Error as e:
            name = type(job).__name__
            log.warning("sip: %s on call %s failed: %s", name, call.media and call.media.ctx.call_id, e.info())

    def _xfer(self, call: _BotCall, transfer: Transfer) -> None:
        call.transfer = transfer
        mark_transfer(self.store, transfer, "requested", f"REFER {self.cfg.agent_uri}")  # stored before REFER
        log.info("sip: REFER to %s escalation=%s", self.cfg.agent_uri, transfer.escalation_id)
        try:
            call.xfer(self.cfg.agent_uri, pj.CallOpParam(True))
        except pj.Error as e:
            self.transfer_progress(call, 500, f"REFER not sent: {e.reason}", True)

    def finish(self, call: _BotCall, reason: str) -> None:
        self._release_port(call)
        self.calls.pop(call.pj_id, None)
        media, call.media = call.media, None
        if media is not None:
            # recording close + database writes: off the SIP thread (a busy database must not
            # hold up other calls' signalling); non-daemon, so shutdown still waits for it
            threading.Thread(target=media.end, args=(f"sip {reason}",), name="call-end").start()

    def _release_port(self, call: _BotCall) -> None:
        """Stop callbacks, destroy the C++ port now, keep the Python shell (teardown segfaults otherwise)."""
        port = call.port
        if port is None:
            return
        port.active = False
        call.port = None
        pj._pjsua2.delete_AudioMediaPort(port)  # removes it from the bridge; clears SWIG ownership
        self._graveyard.append(port)

    def _tick(self, now: float) -> None:
        for call in list(self.calls.values()):
            if call.media is not None:
                call.media.flush()
                if not call.answered and now - call.ringing_since > self.cfg.answer_timeout_s:
                    log.warning(
                        "sip: call %s: engine not ready after %.0f s, refusing it (503)",
                        call.media.ctx.call_id,
                        now - call.ringing_since,
                    )
                    call.answered = True  # refuse once
                    op = pj.CallOpParam()
                    op.statusCode = 503
                    call.hangup(op)
                    continue
            if call.port is None:
                continue
            try:
                stat = call.getStreamStat(0)
            except pj.Error:
                continue
            pkts = stat.rtcp.rxStat.pkt
            if call.media is not None:
                call.media.extra.update(
                    rtp_rx=pkts, rtp_lost=stat.rtcp.rxStat.loss, jb_discard=stat.jbuf.discard, jb_lost=stat.jbuf.lost
                )
            if pkts != call.rx_pkts:
                call.rx_pkts, call.rx_seen = pkts, now
            elif now - call.rx_seen > self.cfg.rtp_timeout_s:
                log.warning(
                    "sip: call %s: no RTP for %.0f s, hanging up",
                    call.media and call.media.ctx.call_id,
                    now - call.rx_seen,
                )
                call.rx_seen = now
                op = pj.CallOpParam()
                op.statusCode = 408
                call.hangup(op)
        if len(self._graveyard) > 64:
            del self._graveyard[:32]

    def _shutdown(self, ep: pj.Endpoint) -> None:
        try:
            ep.hangupAllCalls()
            deadline = time.monotonic() + 2
            while self.calls and time.monotonic() < deadline:
                ep.libHandleEvents(20)
                self._run_job(timeout=0)
            for call in list(self.calls.values()):
                self.finish(call, "shutdown")
        finally:
            self.calls.clear()  # Call destructors must run while the library is alive
            self._graveyard.clear()
            self.account.shutdown()
            del self.account
            self.gate.close()
            ep.libDestroy()
            log.info("sip: %s stopped", self.worker)


def _ref(read: Callable[[], str | None], src: str) -> str | None:
    """A reference from the INVITE, or None (logged) when it is not 1-64 safe characters: the call
    goes on without it (an unknown case says nothing about any debt)."""
    try:
        return read()
    except BadPeerId as e:
        log.warning("sip: INVITE from %s: %s; ignored", src, e)
        return None


def _user_of(uri: str) -> str | None:
    """'"Bob" <sip:1001@host>' → '1001'."""
    inner = uri.split("<", 1)[-1].split(">", 1)[0]
    user = inner.split(":", 1)[-1].split("@", 1)[0] if "@" in inner else None
    return user or None
