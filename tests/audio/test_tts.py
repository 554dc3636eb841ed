"""Prompt audio: pre-rendered static pieces at both call rates, studio recordings override TTS,
dynamic pieces cached by text, slower delivery."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ivr.audio import read_wav, write_wav
from ivr.codec import to_int16
from ivr.events import PromptSegment, Say
from ivr.prompts import PromptBook
from ivr.tts import PromptAudio, Synthesizer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    d = tmp_path / "audio_prompts"
    d.mkdir()
    (d / "prompts.yaml").write_text(
        "prompts:\n"
        '  greet:\n    variants: ["您好，这里是客服中心。", "您好。"]\n'
        '  owe:\n    rate: 0.7\n    variants: ["您的欠款是{amount}，请按1。"]\n',
        encoding="utf-8",
    )
    return d


def test_build_renders_every_static_piece_at_both_rates(prompts_dir, tmp_path, monkeypatch) -> None:
    book = PromptBook.load(prompts_dir)
    audio = PromptAudio(prompts_dir, tmp_path / "cache")
    report = audio.build(book.static_segments(), {p: s.rate for p, s in book.prompts.items()})
    assert report.rendered == 2 * 4  # greet.0.0, greet.1.0, owe.0.0, owe.0.2 at 8 and 16 kHz
    for f in report.files:
        assert read_wav(f).rate in (8000, 16000) and read_wav(f).seconds > 0.2
    speeds = {p: s.rate for p, s in book.prompts.items()}
    again = audio.build(book.static_segments(), speeds)
    assert again.rendered == 0 and again.cached == 8
    faster = audio.build(book.static_segments())  # 'owe' at normal speed is different audio
    assert faster.rendered == 4 and faster.cached == 4
    # at call time a static piece is never synthesised: the synthesiser is not even called
    monkeypatch.setattr(audio.synth, "synth", lambda *a, **k: pytest.fail("synthesised on the hot path"))
    pcm = audio.audio(book.render("greet", variant=0), 8000)
    assert len(pcm) == len(read_wav(audio.static_path(book.render("greet", variant=0).segments[0], 8000, 1.0)).pcm)


def test_studio_recording_overrides_tts(prompts_dir, tmp_path) -> None:
    book = PromptBook.load(prompts_dir)
    say = book.render("greet", variant=1)
    t = np.arange(44100) / 44100
    studio = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).tobytes()  # 1 s at 44.1 kHz
    write_wav(prompts_dir / "recordings" / "greet.1.wav", studio, 44100)
    prompt_audio = PromptAudio(prompts_dir, tmp_path / "cache")
    pcm = prompt_audio.audio(say, 8000)
    assert len(pcm) == 2 * 8000  # the 1 s recording, resampled to the call rate
    # one process serves 8 kHz (AudioSocket) and 16 kHz (SIP) calls: each gets its own rate
    assert len(prompt_audio.audio(say, 16000)) == 2 * 16000 and prompt_audio.audio(say, 8000) == pcm
    spectrum = np.abs(np.fft.rfft(to_int16(pcm)))
    assert np.argmax(spectrum) * 8000 / (len(pcm) // 2) == pytest.approx(440, abs=3)
    # a piece-level recording (<segment key>.wav) works for prompts with placeholders
    owe = book.render("owe", {"amount": "三千元"})
    shutil.copy(prompts_dir / "recordings" / "greet.1.wav", prompts_dir / "recordings" / f"{owe.segments[0].key}.wav")
    pcm2 = PromptAudio(prompts_dir, tmp_path / "cache").audio(owe, 8000)
    assert pcm2.startswith(pcm)


def test_dynamic_pieces_cached_by_text_and_rate_changes_audio(prompts_dir, tmp_path) -> None:
    audio = PromptAudio(prompts_dir, tmp_path / "cache")
    seg = PromptSegment("三千五百元", "dyn:三千五百元", dynamic=True)
    normal = audio.segment(seg, 16000, 1.0)
    slow = audio.segment(seg, 16000, 0.6)
    assert len(slow) > 1.3 * len(normal)
    assert audio.dynamic_path(seg.text, 16000, 1.0) != audio.dynamic_path(seg.text, 16000, 0.6)
    assert audio.dynamic_path(seg.text, 16000, 1.0).is_file()
    say = Say("x", 0, "三千五百元", (seg,), rate=0.6)
    assert audio.audio(say, 16000) == slow


def test_same_text_renders_identically_in_every_process() -> None:
    # Prompt timing must not depend on which process rendered it (pyttsx3's espeak driver varies).
    import subprocess
    import sys

    code = "import sys,hashlib; from ivr.tts import Synthesizer; print(hashlib.sha256(Synthesizer().synth('请问您是张伟本人吗', 8000)).hexdigest())"
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    here = Synthesizer()
    assert here.backend == "espeak-ng"
    assert here.synth("请问您是张伟本人吗", 8000) == here.synth("请问您是张伟本人吗", 8000)
    assert len(digests) == 1


def test_pyttsx3_backend_renders_mandarin(monkeypatch) -> None:
    synth = Synthesizer()
    synth.backend = "pyttsx3"  # as on a machine without the espeak-ng program
    pcm = synth.synth("您好，请问您是张伟本人吗", 16000)
    assert synth.backend == "pyttsx3" and 16000 * 2 < len(pcm) < 16000 * 2 * 10


def test_espeak_fallback_when_pyttsx3_fails(tmp_path, monkeypatch) -> None:
    synth = Synthesizer()
    synth.backend = "pyttsx3"
    monkeypatch.setattr(synth, "_pyttsx3", lambda *a: (_ for _ in ()).throw(RuntimeError("no driver")))
    pcm = synth.synth("您好", 8000)
    assert synth.backend == "espeak-ng" and len(pcm) > 8000


@pytest.mark.slow
def test_prompts_build_cli(data_dir) -> None:
    import subprocess

    r = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ivr"), "prompts", "build"], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    n = len(PromptBook.load(REPO / "audio_prompts").static_segments())
    assert f"{n} static pieces" in r.stdout
    assert len(list((data_dir / "cache" / "prompts" / "8000").glob("*.wav"))) >= n - 5


def test_broken_recording_falls_back_to_tts(prompts_dir, tmp_path, caplog) -> None:
    book = PromptBook.load(prompts_dir)
    say = book.render("greet", variant=0)
    (prompts_dir / "recordings").mkdir(exist_ok=True)
    (prompts_dir / "recordings" / "greet.0.wav").write_text("not audio")
    (prompts_dir / "recordings" / f"{say.segments[0].key}.wav").write_bytes(b"RIFF")
    pcm = PromptAudio(prompts_dir, tmp_path / "cache").audio(say, 16000)
    assert len(pcm) > 16000  # the synthetic voice still speaks the prompt
    assert sum("ignoring recording" in r.message for r in caplog.records) == 2


def test_transport_rates_and_cache_hit_rate(prompts_dir, tmp_path) -> None:
    """A 48 kHz transport gets prompts derived once from the 16 kHz cache (never synthesised per
    call); every piece served is counted by source for the hit-rate metric."""
    from ivr.metrics import REGISTRY

    def served(source: str) -> float:
        return REGISTRY.get_sample_value("ivr_prompt_pieces_total", {"source": source}) or 0.0

    book = PromptBook.load(prompts_dir)
    audio = PromptAudio(prompts_dir, tmp_path / "cache")
    audio.build(book.static_segments())
    say = book.render("greet", variant=1)
    before = {s: served(s) for s in ("memory", "disk", "synthesized")}
    pcm16 = audio.audio(say, 16000)
    pcm48 = audio.audio(say, 48000)
    assert len(pcm48) == pytest.approx(3 * len(pcm16), abs=8)
    assert not (tmp_path / "cache" / "prompts" / "48000").exists()
    for _ in range(3):
        assert audio.audio(say, 48000) == pcm48
    after = {s: served(s) - before[s] for s in before}
    assert after == {"memory": 3, "disk": 2, "synthesized": 0}
    audio.audio(Say("x", 0, "五千元", (PromptSegment("五千元", "dyn:五千元", True),)), 16000)
    assert served("synthesized") - before["synthesized"] == 1


class _TinyVoice(Synthesizer):
    """A synthesiser without espeak: 10 ms of a text-dependent level (fast enough for thousands)."""

    def synth(self, text: str, rate: int, speed: float = 1.0) -> bytes:
        return (np.full(rate // 100, sum(map(ord, text)) % 30000, dtype=np.int16)).tobytes()


def test_dynamic_pieces_in_memory_are_bounded(prompts_dir, tmp_path, monkeypatch) -> None:
    """A long-lived engine host calls one case after another: every name and amount is a new dynamic
    piece, so their in-memory copies must not grow with the number of cases (static pieces stay)."""
    import ivr.tts

    monkeypatch.setattr(ivr.tts, "DYNAMIC_MEMORY_PIECES", 50, raising=False)
    audio = PromptAudio(prompts_dir, tmp_path / "cache", synthesizer=_TinyVoice())
    static = PromptSegment("您好。", "greet.1.0")
    first = PromptSegment("一千零一元", "dyn:一千零一元", dynamic=True)
    first_pcm = audio.segment(first, 8000)
    audio.segment(static, 8000)
    for case in range(400):
        audio.segment(PromptSegment(f"{case}元", f"dyn:{case}元", dynamic=True), 8000)
        audio.segment(static, 8000)
    kept = len(audio._memory) + len(getattr(audio, "_dynamic", {}))
    assert kept <= 50 + 1, f"{kept} pieces in memory after 400 cases"
    assert len(audio._memory) == 1  # the static piece stays
    assert audio.segment(first, 8000) == first_pcm  # dropped from memory, read again from its disk cache
