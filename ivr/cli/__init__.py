"""`ivr` command line.  Each area registers its commands from its own module, so the CLI has no
logic of its own: understand/simulate/records (brain), models/prompts/mic (audio), serve
(telephony + console), users (console)."""

from __future__ import annotations

import typer

from ivr.cli.common import fail

app = typer.Typer(
    name="ivr",
    help="Offline Mandarin collection IVR: simulate calls, serve SIP/console, manage models and prompts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from ivr.cli import audio, cases, deploy, records, serve, understand, users

    for module in (understand, records, audio, serve, users, deploy, cases):
        module.register(app)


def main() -> None:
    _register()
    from ivr.audio import BadAudio
    from ivr.models import ModelError

    try:
        app()
    except (BadAudio, ModelError) as e:  # a bad audio file / missing model from any command: one line, exit 2
        raise SystemExit(fail(str(e)).exit_code) from None
