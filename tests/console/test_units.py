"""Console building blocks without a server: masking, waveform peaks, charts, users CLI."""

from __future__ import annotations

import wave

import numpy as np
import pytest
from typer.testing import CliRunner


@pytest.mark.parametrize(
    "text, expected",
    [
        ("请打13812345678找我", "请打138****5678找我"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("座机010-87654321", "座机010-****4321"),
        ("身份证11010119900307123X", "身份证1101**********123X"),
        ("号码是一三八一二三四五六七八", "号码是一三八＊＊＊＊五六七八"),
        ("欠款3500元，逾期30天，热线12356", "欠款3500元，逾期30天，热线12356"),  # amounts and short numbers stay
        ("2026-11-27还两千", "2026-11-27还两千"),
    ],
)
def test_mask_text(text, expected):
    from ivr.web.masking import mask_text

    assert mask_text(text) == expected


def test_mask_value_masks_sensitive_keys_and_nested_text():
    from ivr.web.masking import mask_value

    got = mask_value({"phone": "13900001111", "name": "张伟", "notes": ["回拨13700002222"], "amount": 4800})
    assert got == {"phone": "139****1111", "name": "张伟", "notes": ["回拨137****2222"], "amount": 4800}


def write_wav(path, samples: np.ndarray, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def test_peaks_follow_loud_and_quiet_halves(tmp_path):
    from ivr.web.waveform import peaks

    t = np.arange(8000) / 8000
    loud = 16384 * np.sin(2 * np.pi * 440 * t)  # half scale
    write_wav(tmp_path / "a.wav", np.concatenate([loud, loud / 8]))
    w = peaks(tmp_path / "a.wav", buckets=10)
    assert w["duration_s"] == 2.0 and w["sample_rate"] == 8000
    assert all(0.49 < p < 0.51 for p in w["peaks"][:5])
    assert all(0.06 < p < 0.07 for p in w["peaks"][5:])


def test_peaks_of_bad_files_name_the_file(tmp_path):
    from ivr.web.waveform import RecordingError, peaks

    (tmp_path / "x.wav").write_text("hello")
    with pytest.raises(RecordingError, match=r"x\.wav: not a PCM WAV"):
        peaks(tmp_path / "x.wav")
    with pytest.raises(RecordingError, match=r"none\.wav: file not found"):
        peaks(tmp_path / "none.wav")
    write_wav(tmp_path / "empty.wav", np.zeros(0))
    assert peaks(tmp_path / "empty.wav")["peaks"] == []


def test_bar_chart_lengths_are_proportional():
    import re

    from ivr.web.charts import bars

    svg = str(bars([("甲", 10), ("乙", 5), ("<x>", 0)], "t"))
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1]) and widths[2] == 0
    assert "&lt;x&gt;" in svg and "<x>" not in svg  # labels are escaped


def test_timeline_marks_points_over_threshold_and_trigger():
    from ivr.web.charts import timeline

    svg = str(timeline([("1", 0.1), ("2", 0.9)], "情绪", threshold=0.7, marked=1))
    assert svg.count('fill="#dc2626"') == 1 and "转人工" in svg


def test_production_password_hashes_use_argon2id_defaults(store):
    from argon2 import PasswordHasher

    import ivr.auth as auth

    auth._HASHER = PasswordHasher()  # undo the tests' cheap parameters (monkeypatch restores it)
    user = auth.add_user(store, "li", "agent", "long-password")
    assert user.password_hash.startswith("$argon2id$") and "m=65536,t=3" in user.password_hash
    assert auth.authenticate(store, "li", "long-password").username == "li"
    assert auth.authenticate(store, "li", "wrong-password") is None
    assert auth.authenticate(store, "nobody", "long-password") is None


def test_users_cli_add_and_list(settings, store, monkeypatch):
    from ivr.cli.users import users_app  # the `ivr users` group, without touching the shared CLI app

    runner = CliRunner()
    r = runner.invoke(users_app, ["add", "boss", "--role", "admin", "--password-stdin"], input="very-secret\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(users_app, ["add", "boss", "--role", "admin", "--password-stdin"], input="very-secret\n")
    assert r.exit_code == 2 and "username 'boss' already exists" in r.output
    r = runner.invoke(users_app, ["add", "bob", "--role", "owner", "--password-stdin"], input="very-secret\n")
    assert r.exit_code == 2 and "role 'owner': expected one of agent, supervisor, admin" in r.output
    r = runner.invoke(users_app, ["add", "bob", "--password-stdin"], input="short\n")
    assert r.exit_code == 2 and "at least 10 characters" in r.output
    r = runner.invoke(users_app, ["list"])
    assert r.exit_code == 0 and r.output.startswith("boss\tadmin\tactive")
    from ivr.auth import authenticate

    assert authenticate(store, "boss", "very-secret").role == "admin"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("/calls?page=2", "/calls?page=2"),
        ("//evil.example", "/queue"),
        ("/\\evil.example", "/queue"),
        ("https://evil.example", "/queue"),
        (None, "/queue"),
    ],
)
def test_login_redirect_stays_on_site(url, expected):
    from ivr.web.pages import safe_next

    assert safe_next(url) == expected
