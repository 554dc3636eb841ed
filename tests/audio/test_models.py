"""Model lookup and installation: a real zip served over HTTP on 127.0.0.1, checksums, manifest,
offline installs, and clear errors instead of tracebacks."""

from __future__ import annotations

import functools
import hashlib
import http.server
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest

from ivr import models
from ivr.models import ModelError, ModelSource, fetch, find_model, require_model

REPO = Path(__file__).resolve().parents[2]
IVR = REPO / ".venv" / "bin" / "ivr"

FILES = {"am/final.mdl": b"acoustic model bytes", "conf/model.conf": b"--min-active=200\n", "README": b"test model\n"}


def make_zip(d: Path, files: dict[str, bytes] = FILES, top: str = "vosk-model-test") -> Path:
    z = d / "model.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for rel, data in files.items():
            zf.writestr(f"{top}/{rel}", data)
    return z


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def http_dir(tmp_path: Path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None  # type: ignore[assignment]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def test_source(monkeypatch: pytest.MonkeyPatch):
    """Register a 'xx' language whose official manifest is FILES (like zh-CN's from SOURCE.md)."""
    src = ModelSource(
        "vosk-model-test",
        "http://127.0.0.1:9/none.zip",
        None,
        None,
        {rel: (sha(data), len(data)) for rel, data in FILES.items()},
    )
    monkeypatch.setitem(models.SOURCES, "xx", src)
    return src


def test_fetch_over_http_verifies_and_installs(settings, http_dir, test_source) -> None:
    www, base = http_dir
    z = make_zip(www)
    report = fetch("xx", settings=settings, url=f"{base}/model.zip", sha256=sha(z.read_bytes()))
    assert report.path == settings.models_dir / "xx"
    assert (report.path / "am" / "final.mdl").read_bytes() == FILES["am/final.mdl"]
    assert find_model("xx", settings) == report.path
    assert any("sha256" in v for v in report.verified)


def test_official_manifest_checked_when_the_official_checksum_is_used(
    settings, http_dir, test_source, monkeypatch
) -> None:
    www, base = http_dir
    z = make_zip(www)
    monkeypatch.setitem(
        models.SOURCES,
        "xx",
        ModelSource(test_source.name, f"{base}/model.zip", None, sha(z.read_bytes()), test_source.manifest),
    )
    report = fetch("xx", settings=settings)  # official URL + official sha256 + manifest
    assert any("3 files match" in v for v in report.verified)


def test_checksum_mismatch_installs_nothing(settings, http_dir, test_source) -> None:
    www, base = http_dir
    make_zip(www)
    with pytest.raises(ModelError, match="sha256 mismatch: expected 0{64}, got [0-9a-f]{64}"):
        fetch("xx", settings=settings, url=f"{base}/model.zip", sha256="0" * 64)
    assert find_model("xx", settings) is None
    assert not list(settings.models_dir.glob(".xx-*")), "temporary files are cleaned up"


def test_tampered_file_fails_the_manifest(settings, tmp_path, test_source) -> None:
    bad = dict(FILES, **{"am/final.mdl": b"tampered"})
    d = tmp_path / "src"
    d.mkdir()
    z = make_zip(d, bad)
    with pytest.raises(ModelError, match=r"am/final.mdl: size: expected 20 bytes, got 8"):
        fetch("xx", settings=settings, from_path=z, sha256=None)
    assert find_model("xx", settings) is None


def test_offline_install_from_directory_says_what_was_not_verified(settings, tmp_path, test_source) -> None:
    d = tmp_path / "unpacked"
    with zipfile.ZipFile(make_zip(tmp_path)) as zf:
        zf.extractall(d)
    report = fetch("xx", settings=settings, from_path=d)
    assert find_model("xx", settings) == report.path
    assert any("zip sha256" in u for u in report.unverified)
    assert any("manifest" in v for v in report.verified)


def test_download_failure_is_one_line(settings, test_source) -> None:
    with pytest.raises(ModelError, match=r"download of http://127.0.0.1:9/none.zip failed"):
        fetch("xx", settings=settings)


def test_env_var_wins_over_models_dir(settings, tmp_path, monkeypatch, korean_model_path) -> None:
    assert find_model("zh-CN", settings) is None
    monkeypatch.setenv("IVR_VOSK_MODEL", str(korean_model_path))
    assert find_model("zh-CN") == korean_model_path
    with pytest.raises(ModelError, match="no Vosk model for zh-CN: run `ivr models fetch zh-CN`"):
        require_model("zh-CN", settings)


def test_cli_fetch_and_list(data_dir, http_dir, test_source) -> None:
    www, base = http_dir
    z = make_zip(www)
    ok = subprocess.run(
        [str(IVR), "models", "fetch", "zh-CN", "--url", f"{base}/model.zip", "--sha256", sha(z.read_bytes())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "installed zh-CN model" in ok.stdout
    listed = subprocess.run([str(IVR), "models", "list"], capture_output=True, text=True, timeout=60)
    assert str(data_dir / "models" / "zh-CN") in listed.stdout
    bad = subprocess.run(
        [str(IVR), "models", "fetch", "zh-CN", "--url", f"{base}/model.zip", "--sha256", "1" * 64],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "sha256 mismatch" in bad.stderr and "Traceback" not in bad.stderr
    offline = subprocess.run(
        [str(IVR), "models", "fetch", "zh-CN", "--from", str(data_dir / "missing.zip")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert offline.returncode == 2 and "missing.zip: not found" in offline.stderr
