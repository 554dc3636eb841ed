"""`ivr` command line.  Each area registers its commands from its own module, so the CLI has no
logic of its own: understand/simulate/records (brain), models/prompts/mic (audio), serve
(telephony + console), users (console)."""

from __future__ import annotations

import logging
import os

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
    from ivr.cli import audio, cases, deploy, records, retention, serve, understand, users

    for module in (understand, records, audio, serve, users, deploy, cases, retention):
        module.register(app)


# files the product makes (recordings, the database, caches) are not for other users of the host;
# the data directory itself is 0700 (ivr.store.private_dir) -- issue 13 #8
UMASK = 0o027


def _private_data_dir() -> None:
    """The data directory (settings from env / ivr.toml: it has no flag) exists and is 0700."""
    from ivr.settings import load_settings
    from ivr.store import private_dir

    try:
        private_dir(load_settings().data_dir)
    except Exception:  # bad settings or an unwritable home: the command itself reports it in one line
        pass


def main() -> None:
    os.umask(UMASK)
    _private_data_dir()
    if level := os.environ.get("IVR_LOG_LEVEL"):  # e.g. DEBUG: every command logs to stderr
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _register()
    from ivr.audio import BadAudio
    from ivr.models import ModelError

    try:
        app()
    except (BadAudio, ModelError) as e:  # a bad audio file / missing model from any command: one line, exit 2
        raise SystemExit(fail(str(e)).exit_code) from None
