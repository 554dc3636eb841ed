"""A PJSIP module that drops requests from sources outside `sip_allow` before pjsua sees them.

pjsua answers OPTIONS (mod-pjsua-options) and MESSAGE (mod-pjsua-im) itself, before any pjsua2
callback, so the allow-list checked in `onIncomingCall` cannot stop a scanner from learning that a
bot listens here (issue 13, finding 9).  pjsua2 has no switch for those handlers, but its Python
extension exports the PJSIP C API: this module is registered with `pjsip_endpt_register_module`
at a priority above the transaction layer (lower number = earlier), so it sees every incoming
request first.  The source address and the message are read with pjsua2's own
`pj::SipRxData::fromPj` (no guess about `pjsip_rx_data`'s layout, which depends on build options).

From a source outside the allow-list only INVITE (refused with a logged 403 by the endpoint, as
before), ACK and CANCEL (the end of that refused transaction) go on; everything else (OPTIONS,
MESSAGE, SUBSCRIBE, REGISTER, NOTIFY, REFER, ...) is dropped without an answer.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Protocol

import pjsua2 as pj

log = logging.getLogger("ivr.sip")

# pjsip_module_priority: TRANSPORT_LAYER 8, TSX_LAYER 16, UA_PROXY_LAYER 32, DIALOG_USAGE 48,
# APPLICATION 64 (pjsua's OPTIONS, IM and presence handlers)
PRIORITY = 15
PASS_FROM_ANYONE = frozenset({"INVITE", "ACK", "CANCEL"})
MAX_SOURCES_LOGGED = 256  # one warning per source, so a scanner cannot flood the log

_RX = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_NOP = ctypes.c_void_p  # callbacks we do not implement stay NULL


class _PjStr(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("slen", ctypes.c_ssize_t)]


class _PjsipModule(ctypes.Structure):
    """struct pjsip_module (pjsip/sip_module.h, unchanged since pjsip 1.x)."""

    _fields_ = [
        ("prev", ctypes.c_void_p),
        ("next", ctypes.c_void_p),
        ("name", _PjStr),
        ("id", ctypes.c_int),
        ("priority", ctypes.c_int),
        ("load", _NOP),
        ("start", _NOP),
        ("stop", _NOP),
        ("unload", _NOP),
        ("on_rx_request", _RX),
        ("on_rx_response", _NOP),
        ("on_tx_request", _NOP),
        ("on_tx_response", _NOP),
        ("on_tsx_state", _NOP),
    ]


def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(pj._pjsua2.__file__)
    lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
    lib.pjsip_endpt_register_module.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.pjsip_endpt_register_module.restype = ctypes.c_int
    lib.pjsip_endpt_unregister_module.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.pjsip_endpt_unregister_module.restype = ctypes.c_int
    from_pj = lib._ZN2pj9SipRxData6fromPjER13pjsip_rx_data  # pj::SipRxData::fromPj(pjsip_rx_data&)
    from_pj.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    from_pj.restype = None
    return lib


def request_method(whole_msg: str) -> str:
    """'OPTIONS sip:bot@host SIP/2.0\\r\\n...' → 'OPTIONS' ('' for a response or garbage)."""
    first = whole_msg.split("\r\n", 1)[0].split(" ", 1)[0]
    return "" if first.startswith("SIP/") else first.upper()


class Allowed(Protocol):
    def __contains__(self, src: str, /) -> bool: ...  # "host:port" in the allow-list


class SourceGate:
    """Registered on a started pjsua endpoint (after `libInit`); `close()` before `libDestroy`."""

    def __init__(self, allow: Allowed, on_drop: Callable[[str, str], None] | None = None) -> None:
        self.allow = allow
        self.dropped = 0
        self._on_drop = on_drop
        self._logged: set[str] = set()
        self._lib = _lib()
        self._name = b"mod-ivr-source-gate"
        self._callback = _RX(self._on_rx_request)  # kept alive as long as the module is registered
        self._mod = _PjsipModule(
            name=_PjStr(self._name, len(self._name)), id=-1, priority=PRIORITY, on_rx_request=self._callback
        )
        self._endpt = self._lib.pjsua_get_pjsip_endpt()
        if not self._endpt:
            raise RuntimeError("sip gate: pjsua has no endpoint yet (register after libInit)")
        status = self._lib.pjsip_endpt_register_module(self._endpt, ctypes.byref(self._mod))
        if status != 0:
            raise RuntimeError(f"sip gate: pjsip_endpt_register_module failed (status {status})")
        self.registered = True

    def _on_rx_request(self, rdata: int | None) -> int:
        """PJ_TRUE (1): consumed, nobody answers; PJ_FALSE (0): the next module handles it."""
        try:
            rx = pj.SipRxData()
            self._lib._ZN2pj9SipRxData6fromPjER13pjsip_rx_data(int(rx.this), rdata)
            src = rx.srcAddress
            if src in self.allow:
                return 0
            method = request_method(rx.wholeMsg)
            if method in PASS_FROM_ANYONE:
                return 0
            self.dropped += 1
            host = src.rsplit(":", 1)[0]
            if host not in self._logged and len(self._logged) < MAX_SOURCES_LOGGED:
                self._logged.add(host)
                log.warning(
                    "sip: %s from %s dropped unanswered: not in sip_allow (further ones not logged)", method, src
                )
            if self._on_drop is not None:
                self._on_drop(method, src)
            return 1
        except Exception:  # noqa: BLE001 - never raise into pjsip; an unreadable request goes on as before
            log.exception("sip gate: request not checked")
            return 0

    def close(self) -> None:
        if self.registered:
            self.registered = False
            self._lib.pjsip_endpt_unregister_module(self._endpt, ctypes.byref(self._mod))
