"""Vosk models: where they live, how they are installed and verified, one loaded copy per process.

`find_model(lang)` looks at IVR_VOSK_MODEL first, then `<models_dir>/<lang>`.  `fetch()` installs a
model from its official URL (or any URL / local zip / directory for offline installs), checks the
zip's sha256 and the per-file manifest (from ../shared/models/SOURCE.md) and only then moves it into
place, so a half-downloaded or tampered model is never picked up.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ivr.settings import Settings


class ModelError(RuntimeError):
    """No usable model, or a download/verification failed (message is one clear line)."""


@dataclass(frozen=True)
class ModelSource:
    name: str
    url: str
    size: int | None
    sha256: str | None
    manifest: dict[str, tuple[str, int]] = field(default_factory=dict)  # relative path → (sha256, bytes)


def _manifest(text: str) -> dict[str, tuple[str, int]]:
    rows = (line.split() for line in text.strip().splitlines())
    return {path.split("/", 1)[1]: (sha, int(size)) for sha, size, path in rows}


# Reference values from ../shared/models/SOURCE.md (official zip sha256 + per-file manifest).
SOURCES: dict[str, ModelSource] = {
    "zh-CN": ModelSource(
        name="vosk-model-small-cn-0.22",
        url="https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip",
        size=43_898_754,
        sha256="3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba",
        manifest=_manifest("""
7362be411c609f2a1c9d2dfe22c2d72555c15eb90bfe47c41772f49ef94840ce 82 vosk-model-small-cn-0.22/README
91eda2c04c4f599361cb92b0e5298ccdf6b3c7a1fa52bfcefcd2c4e07aa1c131 15901896 vosk-model-small-cn-0.22/am/final.mdl
6c326fea5741c2d78be12f76eb1b36ea2ace040da9e355e4cfe6bb80e5f7d5ab 153 vosk-model-small-cn-0.22/conf/mfcc.conf
468a8125c07530f96adcc219a0a5f993e8e0721ccf18acbd3169b77fc685fb9b 289 vosk-model-small-cn-0.22/conf/model.conf
46d41a9b1723abccdcb354d731a5b58d87c060100d88ada1a3e31220f52b0434 26082259 vosk-model-small-cn-0.22/graph/Gr.fst
798af0d9ba6f2d727747f58e1e7b2305f8618bc8ea7f6c51beecd8a2c965b965 16158762 vosk-model-small-cn-0.22/graph/HCLr.fst
c9200318c2a265549ebfbea7e0176fa62e131e953abd140c9b0b39fe61e24015 234 vosk-model-small-cn-0.22/graph/disambig_tid.int
11ca784b99f03188b451fb54714c2de3dd694e662a5f88e82df435c2789b9aec 7161 vosk-model-small-cn-0.22/graph/phones/word_boundary.int
e33276cbd548c0a03ae5812c98115940614997dff23a6d59968af6eaf7630ff8 168048 vosk-model-small-cn-0.22/ivector/final.dubm
c39d46fbff04efb7baa9660ae7a728b0e2f35a4a1250b56ed3a599e26956df86 9927287 vosk-model-small-cn-0.22/ivector/final.ie
42706d88818070ea0d0182b4d11367ba52a13b9a2be45630f60858a422109ada 44975 vosk-model-small-cn-0.22/ivector/final.mat
b267dc89c1556fdd5bc358f0a480929da1743eeccfa06a67daf8db629ca336bb 1090 vosk-model-small-cn-0.22/ivector/global_cmvn.stats
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 vosk-model-small-cn-0.22/ivector/online_cmvn.conf
9f0c5f7c82d18eaf25d8bce470efa9f7741f88411fe428774bc0a9bb69a24756 35 vosk-model-small-cn-0.22/ivector/splice.conf
"""),
    ),
}


def is_model_dir(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() and (path / "conf" / "model.conf").is_file()


def find_model(lang: str, settings: Settings | None = None) -> Path | None:
    """IVR_VOSK_MODEL (settings.vosk_model) first, then `<models_dir>/<lang>`; None when absent."""
    settings = settings or _fresh_settings()
    candidates = [settings.vosk_model] if settings.vosk_model else []
    candidates.append(settings.models_dir / lang)
    return next((Path(c) for c in candidates if c and is_model_dir(Path(c))), None)


def require_model(lang: str, settings: Settings | None = None) -> Path:
    path = find_model(lang, settings)
    if path is None:
        settings = settings or _fresh_settings()
        raise ModelError(
            f"no Vosk model for {lang}: run `ivr models fetch {lang}` (or `--from PATH_OR_ZIP`) "
            f"or set IVR_VOSK_MODEL (looked in {settings.models_dir / lang})"
        )
    return path


def _fresh_settings() -> Settings:
    from ivr.settings import load_settings

    return load_settings()  # not cached: tests and CLI flags change IVR_* between calls


# ---------------------------------------------------------------- loading (one per process)

_loaded: dict[Path, object] = {}
_load_lock = threading.Lock()


def load_model(path: Path):  # -> vosk.Model (import deferred: vosk is slow to import)
    """The process-wide `vosk.Model` for `path`: loading takes seconds and hundreds of MB, so every
    call shares it (Kaldi models are read-only and thread-safe; recognisers are per call)."""
    import vosk

    path = Path(path).resolve()
    with _load_lock:
        if path not in _loaded:
            if not is_model_dir(path):
                raise ModelError(f"{path}: not a Vosk model directory (expected am/final.mdl and conf/model.conf)")
            vosk.SetLogLevel(-1)
            _loaded[path] = vosk.Model(str(path))
        return _loaded[path]


# ---------------------------------------------------------------- installation


@dataclass
class FetchReport:
    path: Path
    verified: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _open(url: str, timeout: float) -> Any:
    """urlopen with `timeout` bounding the whole answer: name lookup, connect, TLS and the response
    headers together.  The socket timeout alone does not cover the name lookup (getaddrinfo can hang
    for tens of seconds on a machine with no network), so the open runs in a daemon thread that is
    abandoned (its late answer closed) when the deadline passes."""
    box: dict[str, Any] = {}
    lock = threading.Lock()

    def run() -> None:
        try:
            resp = urllib.request.urlopen(url, timeout=timeout)
        except BaseException as e:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = e
            return
        with lock:
            if box.get("abandoned"):
                resp.close()
            else:
                box["resp"] = resp

    worker = threading.Thread(target=run, name="model-download-open", daemon=True)
    worker.start()
    worker.join(timeout)
    with lock:
        if "resp" in box:
            return box["resp"]
        error = box.get("error")
        timed_out = isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError)
        if error is None or timed_out:  # the deadline or the socket timeout, whichever came first
            box["abandoned"] = True
            raise ModelError(f"download of {url} failed: no answer within {timeout:g} s (offline?)")
    raise error


def _download(
    url: str,
    dest: Path,
    progress: Callable[[int, int | None], None] | None,
    timeout: float = 30.0,
    max_time: float | None = None,
) -> None:
    """`timeout`: getting an answer (see `_open`) and any later stall of the transfer; `max_time`:
    the whole download (None: no limit while bytes keep coming)."""
    start = time.monotonic()
    try:
        with _open(url, timeout) as resp, open(dest, "wb") as out:
            total = resp.headers.get("Content-Length")
            total_n = int(total) if total else None
            done = 0
            for block in iter(lambda: resp.read(1 << 16), b""):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total_n)
                if max_time is not None and time.monotonic() - start > max_time:
                    raise ModelError(f"download of {url} failed: not finished within {max_time:g} s ({done} bytes)")
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            reason = f"no data for {timeout:g} s (timed out)"
        raise ModelError(f"download of {url} failed: {reason}") from None


def _model_root(tree: Path) -> Path:
    """The model directory inside an unpacked zip (zips usually hold one top-level folder)."""
    if is_model_dir(tree):
        return tree
    subdirs = [p for p in tree.iterdir() if p.is_dir()]
    if len(subdirs) == 1 and is_model_dir(subdirs[0]):
        return subdirs[0]
    raise ModelError(f"{tree.name}: no Vosk model inside (expected am/final.mdl and conf/model.conf)")


def _check_manifest(root: Path, source: ModelSource | None, report: FetchReport) -> None:
    if source is None or not source.manifest:
        report.unverified.append("per-file manifest (none known for this source)")
        return
    for rel, (sha, size) in source.manifest.items():
        f = root / rel
        if not f.is_file():
            raise ModelError(f"{f}: missing (listed in the {source.name} manifest)")
        if f.stat().st_size != size:
            raise ModelError(f"{f}: size: expected {size} bytes, got {f.stat().st_size}")
        if sha256_file(f) != sha:
            raise ModelError(f"{f}: sha256 does not match the {source.name} manifest")
    report.verified.append(f"{len(source.manifest)} files match the {source.name} manifest")


def fetch(
    lang: str,
    *,
    settings: Settings | None = None,
    url: str | None = None,
    sha256: str | None = None,
    from_path: Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 30.0,
    max_time: float | None = None,
) -> FetchReport:
    """Download (or copy from `from_path`: a zip or a model directory), verify, install atomically.

    Overriding `url` keeps the official checksum unless `sha256` is given; a custom `sha256`
    means a different archive, so the official per-file manifest no longer applies."""
    settings = settings or _fresh_settings()
    official = SOURCES.get(lang)
    if official is None and url is None and from_path is None:
        raise ModelError(f"unknown language {lang!r}: expected one of {', '.join(SOURCES)} (or give --url/--from)")
    want_sha = sha256 or (official.sha256 if official else None)
    manifest_source = official if sha256 is None else None
    dest = settings.models_dir / lang
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.models_dir, prefix=f".{lang}-") as tmp_s:
        tmp = Path(tmp_s)
        report = FetchReport(path=dest)
        if from_path is not None and Path(from_path).is_dir():
            root = _model_root(Path(from_path))
            report.unverified.append("zip sha256 (installed from a directory, not the archive)")
            _check_manifest(root, manifest_source, report)
            staged = tmp / "model"
            shutil.copytree(root, staged)
        else:
            archive = tmp / "model.zip"
            if from_path is not None:
                if not Path(from_path).is_file():
                    raise ModelError(f"{from_path}: not found (expected a model zip or directory)")
                shutil.copyfile(from_path, archive)
            else:
                _download(url or cast(ModelSource, official).url, archive, progress, timeout, max_time)
            if want_sha:
                got = sha256_file(archive)
                if got != want_sha:
                    raise ModelError(
                        f"{from_path or url or cast(ModelSource, official).url}: sha256 mismatch: expected {want_sha}, got {got}"
                    )
                report.verified.append(f"zip sha256 {want_sha}")
            else:
                report.unverified.append("zip sha256 (no reference checksum known)")
            try:
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(tmp / "unzipped")
            except zipfile.BadZipFile:
                raise ModelError(f"{from_path or url}: not a valid zip archive") from None
            root = _model_root(tmp / "unzipped")
            _check_manifest(root, manifest_source, report)
            staged = root
        if dest.exists():
            shutil.rmtree(dest)
        staged.rename(dest)
    return report


# ---------------------------------------------------------------- ensure (make demo)

HOW_TO_GET = (
    "to get it: `ivr models fetch {lang}` where the download site can be reached, "
    "`ivr models fetch {lang} --from PATH_OR_ZIP` from a copy, or set IVR_VOSK_MODEL to a model directory"
)


@dataclass
class EnsureResult:
    status: str  # "present" | "installed" | "failed" | "skipped" (a recent attempt failed: not retried)
    path: Path | None
    message: str  # one line; for failed/skipped it says how to get the model
    report: FetchReport | None = None


def _failure_stamp(settings: Settings, lang: str) -> Path:
    return settings.models_dir / f".{lang}.fetch-failed.json"


def ensure(
    lang: str,
    *,
    settings: Settings | None = None,
    url: str | None = None,
    sha256: str | None = None,
    timeout: float = 10.0,
    max_time: float | None = 900.0,
    retry_after: float = 3600.0,
    force: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> EnsureResult:
    """Install the model unless one is already there, never raising for a failed download: the
    caller warns and carries on (`make demo` runs keypad-only without a model).

    `timeout` bounds getting an answer from the download site (name lookup + connect + headers,
    together) and any stall mid-transfer, so an offline machine gives up within `timeout` seconds;
    `max_time` bounds the whole download.  A failure is remembered in the models directory and
    not retried for `retry_after` seconds (same URL), unless `force`.  The zip is checked against
    the official sha256 (and per-file manifest) exactly as `fetch` does."""
    import json

    settings = settings or _fresh_settings()
    if lang not in SOURCES and url is None:
        raise ModelError(f"unknown language {lang!r}: expected one of {', '.join(SOURCES)} (or give --url)")
    how_to = HOW_TO_GET.format(lang=lang)
    present = find_model(lang, settings)
    if present is not None:
        return EnsureResult("present", present, f"{lang} speech model: {present}")
    the_url = url or SOURCES[lang].url
    stamp = _failure_stamp(settings, lang)
    if not force and stamp.is_file():
        try:
            last = json.loads(stamp.read_text(encoding="utf-8"))
            age = time.time() - float(last["at"])
            if last.get("url") == the_url and 0 <= age < retry_after:
                return EnsureResult(
                    "skipped",
                    None,
                    f"no {lang} speech model: the download failed {age / 60:.0f} min ago ({last['error']}); "
                    f"not retried for {retry_after / 60:.0f} min (--force retries now); {how_to}",
                )
        except (ValueError, KeyError, TypeError, OSError):
            pass  # unreadable stamp: just try again
    try:
        report = fetch(
            lang, settings=settings, url=url, sha256=sha256, progress=progress, timeout=timeout, max_time=max_time
        )
    except ModelError as e:
        try:
            settings.models_dir.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"at": time.time(), "url": the_url, "error": str(e)}), encoding="utf-8")
        except OSError:
            pass  # cannot remember: the next run simply tries again (quickly)
        return EnsureResult("failed", None, f"no {lang} speech model: {e}; {how_to}")
    stamp.unlink(missing_ok=True)
    return EnsureResult("installed", report.path, f"installed {lang} model in {report.path}", report)
