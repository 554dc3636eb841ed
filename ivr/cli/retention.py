"""`ivr retention apply`: delete old recordings and blank old transcripts (issue 13 #8).

Dry run by default: it says what it would remove; `--apply` removes it and writes an audit entry."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Optional

import typer

from ivr.cli.common import DbUrl, fail

retention_app = typer.Typer(help="Retention of recordings and transcripts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")


@retention_app.command("apply")
def apply_(
    recordings_days: Optional[int] = typer.Option(
        None, "--recordings-days", help="delete recordings of calls that started more than N days ago"
    ),
    transcripts_days: Optional[int] = typer.Option(
        None, "--transcripts-days", help="blank the caller/bot texts of calls that started more than M days ago"
    ),
    apply: bool = typer.Option(False, "--apply", help="do it (default: only report what would be removed)"),
    db_url: DbUrl = None,
) -> None:
    """Report (or with --apply remove) recordings and transcripts older than the given ages."""
    from ivr.settings import load_settings
    from ivr.store import Store, utcnow

    if recordings_days is None and transcripts_days is None:
        raise fail("retention apply: expected --recordings-days N and/or --transcripts-days M, got neither")
    for flag, days in (("--recordings-days", recordings_days), ("--transcripts-days", transcripts_days)):
        if days is not None and not 0 <= days <= 36500:
            raise fail(f"{flag}: expected a number of days from 0 to 36500, got {days}")
    settings = load_settings(db_url=db_url)
    now = utcnow()

    def before(days: int | None) -> dt.datetime | None:
        return None if days is None else now - dt.timedelta(days=days)

    report = Store(settings.database_url).retention(
        before(recordings_days),
        before(transcripts_days),
        recordings_dir=settings.recordings_dir,
        apply=apply,
        by=f"cli:{_user()}",
        spoken_dir=settings.cache_dir / "tts",  # ivr/tts.py: per-case pieces, synthesised again on demand
    )
    verb = "removed" if apply else "would remove"
    if recordings_days is not None:
        print(
            f"recordings older than {recordings_days} days: {verb} {report['recordings']} linked to calls and "
            f"{report['stray_recordings']} stray, {report['recording_bytes'] / 1e6:.1f} MB"
        )
    if transcripts_days is not None:
        print(
            f"transcripts older than {transcripts_days} days: {verb} the texts of {report['transcript_calls']} calls "
            f"and {report['spoken_pieces']} synthesised per-case pieces"
        )
    print("applied; audited as action 'retention'" if apply else "dry run: nothing changed (add --apply to do it)")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in a container
        return "unknown"
