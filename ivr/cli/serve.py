"""`ivr serve`: SIP worker processes + console/API (with the WebSocket media route) + optional
Asterisk AudioSocket listener, in one command (README "Telephony", docs/telephony.md)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ivr.cli.common import fail

if TYPE_CHECKING:
    from ivr.casebook import CaseSource
    from ivr.settings import Settings
    from ivr.transports.media_call import CallContext, Engine, EngineFactory
    from ivr.transports.sip.pool import SipPool


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    sip: Optional[str] = typer.Option(
        None, "--sip", help="HOST:PORT of the first SIP worker (UDP+TCP); default 127.0.0.1:5070"
    ),
    http: Optional[str] = typer.Option(None, "--http", help="HOST:PORT of the console/API and /media WebSocket"),
    agent_uri: Optional[str] = typer.Option(
        None, "--agent-uri", help="SIP URI that escalated calls are transferred to"
    ),
    audiosocket: Optional[str] = typer.Option(
        None, "--audiosocket", help="HOST:PORT for Asterisk AudioSocket (off unless given)"
    ),
    sip_workers: Optional[int] = typer.Option(
        None, "--sip-workers", help="SIP worker processes (4 calls each), ports base, base+2, ..."
    ),
    no_sip: bool = typer.Option(False, "--no-sip", help="do not start SIP workers (AudioSocket/WebSocket only)"),
    no_media: bool = typer.Option(
        False,
        "--no-media",
        help="no /media WebSocket and no call engine in this process (a console-only host: no model loaded)",
    ),
    case: Optional[Path] = typer.Option(None, "--case", help="one case JSON for every call (default: the demo case)"),
    cases: Optional[Path] = typer.Option(
        None, "--cases", help="case book: CSV, JSON lines or folder of *.json; each call is looked up in it"
    ),
) -> None:
    """Answer calls: SIP, AudioSocket and WebSocket media, plus the supervisor console."""
    from ivr.case import CaseError
    from ivr.casebook import CaseBookError, LiveCaseBook, case_source
    from ivr.settings import load_settings
    from ivr.wiring import parse_hostport

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if no_media and audiosocket:
        raise fail("--no-media and --audiosocket exclude each other: AudioSocket calls need the call engine")
    settings = load_settings(sip=sip, http=http, agent_uri=agent_uri, audiosocket=audiosocket, sip_workers=sip_workers)
    try:
        if settings.secret_key is not None:  # a placeholder or short key: refused before anything starts
            from ivr.auth import check_secret_key

            check_secret_key(settings.secret_key)
        sip_addr = parse_hostport(settings.sip, 5070)
        http_addr = parse_hostport(settings.http, 8080)
        as_addr = parse_hostport(settings.audiosocket, 9092) if settings.audiosocket else None
        from ivr.transports.guard import MediaGuard

        MediaGuard.from_settings(settings)  # media_token length, media_allow CIDRs: one line, before anything starts
        # the book is checked in full before anything starts: a half-loaded book is worse than none
        source = case_source(case, cases)
    except CaseBookError as e:
        for line in e.errors:
            fail(line)
        raise fail(
            f"{cases}: {len(e.errors)} error(s); nothing started (check with `ivr cases check {cases}`)"
        ) from None
    except (ValueError, CaseError) as e:
        raise fail(str(e)) from None
    if settings.sip_workers < 1 and not no_sip:
        raise fail(f"--sip-workers must be at least 1, got {settings.sip_workers}")
    worker_args = ["--cases", str(cases.resolve())] if cases else ["--case", str(case.resolve())] if case else []
    pool = None
    if not no_sip:
        from ivr.transports.sip.pool import SipPool

        try:  # each worker's RTP range (sip_rtp_base/sip_rtp_span) is checked before anything starts
            pool = SipPool(settings, sip_addr[0], sip_addr[1], settings.sip_workers, worker_args)
        except ValueError as e:
            raise fail(str(e)) from None
    if isinstance(source, LiveCaseBook):
        logging.getLogger("ivr.serve").info("case book %s: %d cases", cases, len(source.book.cases))
    asyncio.run(_serve(settings, pool, sip_addr, http_addr, as_addr, source, not no_media))


def _named(factory: EngineFactory, worker: str) -> EngineFactory:
    """`factory` with the /media calls of this host named `worker` (the route itself says only
    "websocket"), so a restart of this host closes exactly the WebSocket calls it left active."""

    def make(ctx: CallContext) -> Engine:
        if ctx.worker == "websocket":
            ctx.worker = worker
        return factory(ctx)

    return make


async def _serve(
    settings: Settings,
    pool: SipPool | None,
    sip_addr: tuple[str, int],
    http_addr: tuple[str, int],
    as_addr: tuple[str, int] | None,
    source: CaseSource,
    media: bool = True,
) -> None:
    import uvicorn

    from ivr.store import Store, private_dir
    from ivr.transports.audiosocket import AudioSocketServer
    from ivr.transports.guard import MediaGuard
    from ivr.transports.websocket import media_router
    from ivr.web.app import create_app
    from ivr.wiring import engine_factory

    log = logging.getLogger("ivr.serve")
    private_dir(settings.data_dir)
    private_dir(settings.recordings_dir)
    store = Store(settings.database_url)
    # calls left active by a crash of this host (its AudioSocket listener, its /media WebSocket
    # route), or any call older than the limit; their recordings are kept and linked
    ws_worker = f"websocket:{http_addr[0]}:{http_addr[1]}"
    own = [ws_worker] + ([f"audiosocket:{as_addr[1]}"] if as_addr else [])
    if closed := store.close_stale_calls(worker=own, recordings_dir=settings.recordings_dir):
        log.warning("closed %d call(s) left active by a previous run", closed)
    app = create_app(settings, ready=False, store=store)
    if pool:
        pool.start()  # workers load their own model while this process loads its own
    guard = MediaGuard.from_settings(settings)  # media auth and per-peer limits (docs/telephony.md)
    if (media or as_addr) and not settings.media_token and not settings.media_allow:
        log.warning("media: no media_token and no media_allow: /media and AudioSocket refuse every connection")
    if media:  # the engine (grammars, prompts, the Vosk model) only where calls are served
        factory = await asyncio.to_thread(engine_factory, settings, store, cases=source)
        app.include_router(
            media_router(_named(factory, ws_worker), settings.recordings_dir, store, settings.agent_uri, guard=guard)
        )
    audio_socket = None
    if as_addr:
        audio_socket = AudioSocketServer(
            factory,
            settings.recordings_dir,
            store,
            as_addr[0],
            as_addr[1],
            worker=f"audiosocket:{as_addr[1]}",
            guard=guard,
        )
        await audio_socket.start()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=http_addr[0],
            port=http_addr[1],
            log_level="warning",
            ws="websockets-sansio",
            ws_max_size=64 * 1024,  # one /media frame is at most 1 s of 16 kHz audio (32 KB)
        )
    )

    async def watch() -> None:
        while not server.should_exit:
            if not app.state.ready and (pool is None or pool.ready):
                app.state.ready = True
                log.info(
                    "ready: http://%s:%d  sip %s  audiosocket %s",
                    *http_addr,
                    f"{sip_addr[0]}:{sip_addr[1]} x{settings.sip_workers}" if pool else "off",
                    f"{as_addr[0]}:{as_addr[1]}" if as_addr else "off",
                )
            if pool:
                pool.supervise()
            await asyncio.sleep(0.2)

    # uvicorn restores the handlers it found and re-raises the signal after its shutdown; with ours
    # in place that re-raise is harmless and the SIP workers below are still stopped cleanly.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: setattr(server, "should_exit", True))
    watcher = asyncio.create_task(watch())
    try:
        await server.serve()
    finally:
        watcher.cancel()
        if audio_socket:
            await audio_socket.close()
        if pool:
            await asyncio.to_thread(pool.stop)
