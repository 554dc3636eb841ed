"""`ivr models fetch|ensure|list`, `ivr prompts build`, `ivr mic`: the audio area's commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer

from ivr.cli.common import fail

models_app = typer.Typer(help="Vosk speech models: download/install and list.", no_args_is_help=True)
prompts_app = typer.Typer(help="Prompt audio: pre-render every static prompt piece.", no_args_is_help=True)


@models_app.command("fetch")
def models_fetch(
    lang: str = typer.Argument("zh-CN", help="language of the model (zh-CN: vosk-model-small-cn-0.22)"),
    from_: Optional[Path] = typer.Option(None, "--from", help="install from a local zip or model directory (offline)"),
    url: Optional[str] = typer.Option(None, "--url", help="download from this URL instead of the official one"),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="expected sha256 of the zip (with --url/--from)"),
) -> None:
    """Download (or copy), verify (zip sha256 + per-file manifest) and install a model."""
    from ivr.models import ModelError, fetch

    try:
        with _download_bar(lang) as progress:
            report = fetch(lang, url=url, sha256=sha256, from_path=from_, progress=progress)
    except ModelError as e:
        raise fail(str(e)) from None
    print(f"installed {lang} model in {report.path}")
    _print_checks(report)


@contextmanager
def _download_bar(lang: str) -> Iterator[Callable[[int, int | None], None]]:
    """A transient download progress bar (drawn on a terminal only); yields the progress callback."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=True
    ) as bar:
        task = bar.add_task(lang, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _print_checks(report: Any) -> None:
    for line in report.verified:
        print(f"  verified: {line}")
    for line in report.unverified:
        print(f"  not verified: {line}")


@models_app.command("ensure")
def models_ensure(
    lang: str = typer.Argument("zh-CN", help="language of the model (zh-CN: vosk-model-small-cn-0.22)"),
    timeout: float = typer.Option(
        10.0, "--timeout", help="seconds to get an answer from the download site (and longest stall) before giving up"
    ),
    max_time: float = typer.Option(900.0, "--max-time", help="seconds for the whole download"),
    retry_after: float = typer.Option(
        3600.0, "--retry-after", help="after a failed download, seconds before `ensure` tries again"
    ),
    force: bool = typer.Option(False, "--force", help="try now even if a download failed recently"),
    url: Optional[str] = typer.Option(None, "--url", help="download from this URL instead of the official one"),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="expected sha256 of the zip (with --url)"),
) -> None:
    """Install the model unless it is there (what `make demo` runs): a failed or impossible download
    only warns, once, saying how to get the model, and exits 0; checksums as `fetch`."""
    from ivr.models import ensure

    with _download_bar(lang) as progress:
        result = ensure(
            lang,
            url=url,
            sha256=sha256,
            timeout=timeout,
            max_time=max_time,
            retry_after=retry_after,
            force=force,
            progress=progress,
        )
    if result.status in ("present", "installed"):
        print(result.message)
        if result.report is not None:
            _print_checks(result.report)
    else:
        print(f"ivr: warning: {result.message}", file=sys.stderr)


@models_app.command("list")
def models_list(json_out: bool = typer.Option(False, "--json")) -> None:
    """Known languages, where their model is (if installed) and where it was looked for."""
    from ivr.models import SOURCES, find_model
    from ivr.settings import load_settings

    settings = load_settings()
    rows: list[dict[str, Any]] = [
        {
            "lang": lang,
            "model": src.name,
            "installed": str(find_model(lang, settings) or ""),
            "looked_in": [
                str(p) for p in ([settings.vosk_model] if settings.vosk_model else []) + [settings.models_dir / lang]
            ],
        }
        for lang, src in SOURCES.items()
    ]
    if json_out:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['lang']:6} {r['model']:28} {r['installed'] or 'not installed (ivr models fetch ' + r['lang'] + ')'}")


@prompts_app.command("build")
def prompts_build() -> None:
    """Render every static prompt piece (both call rates) into the prompt cache; recordings win."""
    from rich.progress import Progress

    from ivr.prompts import PromptBook, PromptError
    from ivr.settings import load_settings
    from ivr.tts import PromptAudio, TtsError

    settings = load_settings()
    try:
        book = PromptBook.load(settings.prompts_dir)
    except PromptError as e:
        raise fail(str(e)) from None
    segments = book.static_segments()
    speeds = {pid: spec.rate for pid, spec in book.prompts.items()}
    audio = PromptAudio(settings.prompts_dir, settings.cache_dir)
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("rendering prompts", total=len(segments))
            report = audio.build(segments, speeds, progress=lambda seg: bar.advance(task))
    except TtsError as e:
        raise fail(str(e)) from None
    print(
        f"prompts: {len(segments)} static pieces → {report.rendered} files rendered, {report.cached} already cached, "
        f"{report.recorded} from studio recordings (voice: {audio.synth.backend} {audio.synth.voice}); "
        f"cache: {settings.cache_dir / 'prompts'}"
    )


def mic(
    case: Optional[Path] = typer.Option(None, "--case", help="case JSON (default: a demo case)"),
) -> None:
    """A live call on this computer's microphone and speaker."""
    from ivr.case import Case, CaseError
    from ivr.settings import load_settings
    from ivr.transports.mic import NoAudioDevice, find_devices, run

    try:
        the_case = Case.load(case) if case else Case()
        find_devices()
    except (NoAudioDevice, CaseError) as e:
        raise fail(str(e)) from None
    try:
        report = run(load_settings(), the_case, on_partial=lambda text: print(f"  … {text}", flush=True))
    except NoAudioDevice as e:
        raise fail(str(e)) from None
    print(json.dumps({k: report[k] for k in ("outcome", "escalation", "promise")}, ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.add_typer(prompts_app, name="prompts")
    app.command("mic")(mic)
