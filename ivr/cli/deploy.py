"""`ivr deploy ...`: helpers for running many SIP workers behind Kamailio (deploy/, docs/scale.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ivr import dispatch
from ivr.cli.common import fail

deploy_app = typer.Typer(help="Scale-out helpers: the Kamailio dispatcher list of SIP workers.", no_args_is_help=True)


@deploy_app.command("dispatcher-list")
def dispatcher_list(
    workers: Optional[str] = typer.Option(None, "--workers", help="HOST:PORT,HOST:PORT,... of every SIP worker"),
    hosts: Optional[list[str]] = typer.Option(
        None, "--host", help="a worker host running --count workers (repeat per host)"
    ),
    base_port: int = typer.Option(5070, "--base-port", help="SIP port of the first worker on each --host"),
    count: int = typer.Option(1, "--count", help="number of workers on each --host"),
    step: int = typer.Option(
        dispatch.PORT_STEP, "--step", help="port distance between two workers on --host (as `ivr serve --sip-workers`)"
    ),
    set_id: int = typer.Option(dispatch.DEFAULT_SET, "--set-id", help="dispatcher set (DISPATCH_SET in kamailio.cfg)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write here atomically (default: stdout)"),
    reload: bool = typer.Option(False, "--reload", help="then run `kamcmd dispatcher.reload`"),
    ctl_socket: Optional[str] = typer.Option(
        None, "--ctl-socket", help="kamcmd -s socket, e.g. unix:/run/kamailio/kamailio_ctl"
    ),
) -> None:
    """Write Kamailio's dispatcher.list for the SIP workers (--workers, and/or --host H [--host H2 ...]
    with --base-port/--count; all are joined)."""
    if workers is None and not hosts:
        raise fail("give the workers: --workers HOST:PORT,... or --host H --base-port P --count N")
    try:
        chosen = dispatch.parse_workers(workers) if workers else []
        for host in hosts or []:
            chosen += dispatch.worker_range(host, base_port, count, step)
        if output is None:
            sys.stdout.write(dispatch.render(chosen, set_id))
        else:
            dispatch.write(output, chosen, set_id)
            print(f"wrote {len(chosen)} workers to {output}", file=sys.stderr)
        if reload:
            dispatch.reload(ctl_socket)
    except dispatch.DispatchError as e:
        raise fail(str(e)) from None
    except OSError as e:
        raise fail(f"cannot write {output}: {e.strerror}") from None


def register(app: typer.Typer) -> None:
    app.add_typer(deploy_app, name="deploy")
