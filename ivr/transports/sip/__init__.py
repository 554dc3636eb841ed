"""SIP transport: pjsua2 worker processes and the engine host behind each of them.

| module | role | imports pjsua2 |
|---|---|---|
| `endpoint` | `SipServer`: one pjsua2 endpoint answering up to 4 calls | yes |
| `frames` | fast copies between pjsua2 frame buffers and bytes | yes |
| `message` | what a dialer put into an INVITE (case reference, request user) | no |
| `worker` | `python -m ivr.transports.sip.worker`: one worker process | only in `main()` |
| `engine_host` | the calls' engines in a separate, niced process; `RemoteEngines` | no |
| `pipe` | the typed messages on the worker ↔ engine-host pipe | no |
| `pool` | `ivr serve`'s worker processes, ports and RTP ranges | no |

Importing this package imports nothing: the engine host and the console-only host must never load
pjsua2 (tests/telephony/test_imports.py).
"""
