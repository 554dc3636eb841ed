"""One SIP worker process: `python -m ivr.transports.sip.worker --listen HOST:PORT`.

`ivr serve` starts one per `--sip-workers` (ports base, base+2, ...: pjsua2 caps a process at 4
calls).  The worker runs pjsua2 only; its calls' engines run in a child engine-host process
(engine_host.py) so Python work never delays the media clock.  Settings come from the
environment / ivr.toml like every other command.

pjsua2 is imported in `main()` only: the engine host is spawned from this process, and a spawned
child re-imports the parent's `__main__` module (this one), which must not load pjsua2 there.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.settings import Settings, load_settings
from ivr.transports.media_call import EngineFactory
from ivr.transports.sip.engine_host import RemoteEngines
from ivr.transports.sip.pool import limit_malloc_arenas, rtp_ranges, worker_rtp_range
from ivr.wiring import load_factory, parse_hostport

if TYPE_CHECKING:
    from ivr.transports.sip.endpoint import SipServer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ivr-sip-worker")
    p.add_argument("--listen", required=True, help="HOST:PORT for SIP (UDP and TCP)")
    p.add_argument("--engine", help="module:function building the engine factory (tests)")
    p.add_argument("--case", help="case JSON for the calls (default: the demo case)")
    p.add_argument("--cases", help="case book (CSV, JSON lines or folder) to look each call up in")
    p.add_argument(
        "--rtp-port",
        type=int,
        help="first RTP port of this worker's range (default: from sip_rtp_base, "
        "sip_rtp_span and this worker's place after the `sip` base port)",
    )
    p.add_argument("--rtp-span", type=int, help="ports in the RTP range (default: sip_rtp_span)")
    p.add_argument("--rtp-timeout", type=float, default=10.0)
    p.add_argument(
        "--answer-timeout",
        type=float,
        default=10.0,
        help="seconds a call may ring while its engine is built before it is refused with 503",
    )
    p.add_argument("--no-tcp", action="store_true")
    p.add_argument("--ready-file", type=Path, help="created once the worker answers calls")
    p.add_argument("--in-process", action="store_true", help="run engines in this process (measurements only)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    settings = load_settings()
    try:
        host, port = parse_hostport(args.listen, 5070)
    except ValueError as e:
        print(f"ivr: error: --listen: {e}", file=sys.stderr)
        return 2
    try:
        rtp = _rtp_range(args, settings, port)
    except ValueError as e:
        print(f"ivr: error: sip worker {args.listen}: {e}", file=sys.stderr)
        return 2
    from ivr.store import Store
    from ivr.transports.sip.endpoint import SipConfig, SipServer

    store = Store(settings.database_url)
    # calls this worker left active when it died are over: close them before taking new ones
    # (dated by their last turn or recording write, the recording linked: issue 13 #9)
    if closed := store.close_stale_calls(worker=f"{host}:{port}", recordings_dir=settings.recordings_dir):
        logging.getLogger("ivr.sip").warning(
            "closed %d call(s) left active by a previous run of %s:%d", closed, host, port
        )
    cfg = SipConfig(
        host=host,
        port=port,
        tcp=not args.no_tcp,
        agent_uri=settings.agent_uri,
        allow=settings.sip_allow,
        rtp_timeout_s=args.rtp_timeout,
        answer_timeout_s=args.answer_timeout,
        recordings_dir=settings.recordings_dir,
        rtp_port=rtp.start,
        rtp_span=len(rtp),
    )
    factory: EngineFactory
    remote: RemoteEngines | None = None
    if args.in_process:
        try:
            factory = load_factory(args.engine, settings, args.case, args.cases)
        except Exception as e:  # bad grammars/prompts/model: one line, not a traceback per restart
            print(f"ivr: error: sip worker {args.listen}: cannot build the call engine: {e}", file=sys.stderr)
            return 2
    else:
        # the engine host (spawned: it inherits this environment) runs every call's threads
        limit_malloc_arenas(os.environ, settings.sip_malloc_arena_max)
        factory = remote = RemoteEngines(args.engine, args.case, args.cases)
        try:
            remote.wait_ready()
        except RuntimeError as e:
            print(f"ivr: error: sip worker {args.listen}: {e}", file=sys.stderr)
            remote.close()
            return 2
    # The PJSIP media clock thread needs the GIL every 20 ms; a shorter switch interval (default
    # 5 ms) bounds how long engine threads can hold it (measured: docs/telephony.md).
    sys.setswitchinterval(0.001)
    server = SipServer(cfg, factory, store)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.ready_file:
        threading.Thread(target=_announce, args=(server, args.ready_file), daemon=True).start()
    try:
        server.run(stop)
    finally:
        if remote is not None:
            remote.close()
    return 0


def _rtp_range(args: argparse.Namespace, settings: Settings, sip_port: int) -> range:
    if args.rtp_port is None:
        if args.rtp_span is not None:
            raise ValueError("--rtp-span needs --rtp-port")
        return worker_rtp_range(settings, sip_port)
    span = settings.sip_rtp_span if args.rtp_span is None else args.rtp_span
    try:
        return rtp_ranges(args.rtp_port, span, [sip_port])[0]
    except ValueError as e:  # name the flags the user gave, not the settings behind the defaults
        raise ValueError(str(e).replace("sip_rtp_base", "--rtp-port").replace("sip_rtp_span", "--rtp-span")) from None


def _announce(server: SipServer, ready_file: Path) -> None:
    if server.ready.wait(60):
        ready_file.touch()


if __name__ == "__main__":
    sys.exit(main())
