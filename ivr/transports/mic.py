"""Microphone transport: a live call on this computer's microphone and speaker (sounddevice).

A PortAudio duplex stream calls back every 20 ms on its own real-time thread; the callback only
pushes the captured frame into the engine and copies the engine's bot audio out, as any transport.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

RATE = 16000
BLOCK_MS = 20


class NoAudioDevice(RuntimeError):
    """No usable microphone or speaker."""


def find_devices() -> tuple[int, int]:
    """(input, output) device indices, or NoAudioDevice with one clear line."""
    try:
        import sounddevice as sd
    except OSError as e:  # PortAudio library missing
        raise NoAudioDevice(f"no audio system: PortAudio could not be loaded ({e}); install libportaudio2") from None
    devices = sd.query_devices()
    inputs = [i for i, d in enumerate(devices) if d["max_input_channels"] > 0]
    outputs = [i for i, d in enumerate(devices) if d["max_output_channels"] > 0]
    if not inputs or not outputs:
        missing = " and ".join(n for n, found in (("microphone", inputs), ("speaker", outputs)) if not found)
        raise NoAudioDevice(
            f"no {missing} found (sounddevice lists {len(devices)} audio devices); "
            "use `ivr simulate CALLER.wav` on a machine without audio hardware"
        )
    default_in, default_out = sd.default.device
    return (default_in if default_in in inputs else inputs[0], default_out if default_out in outputs else outputs[0])


def run(settings: Any, case: Any = None, now: dt.datetime | None = None, on_partial=None) -> dict[str, Any]:
    """Run one call until the bot hangs up or Ctrl-C; returns the session report."""
    import sounddevice as sd

    from ivr.store import Store
    from ivr.wiring import wiring_for

    dev_in, dev_out = find_devices()
    done = threading.Event()
    engine = wiring_for(settings).call(
        Store(settings.database_url),
        RATE,
        transport="mic",
        case=case,
        now=now,
        on_hangup=lambda outcome: done.set(),
        on_transfer=lambda t: done.set(),
        on_partial=on_partial,
    )

    def callback(indata, outdata, frames, _time, _status) -> None:  # PortAudio thread: keep it tiny
        engine.push_audio(bytes(indata))
        outdata[:] = engine.pull_audio(len(outdata))

    try:
        stream = sd.RawStream(
            samplerate=RATE,
            blocksize=RATE * BLOCK_MS // 1000,
            channels=1,
            dtype="int16",
            device=(dev_in, dev_out),
            callback=callback,
        )
    except sd.PortAudioError as e:
        engine.hangup()
        raise NoAudioDevice(f"cannot open the audio device at {RATE} Hz mono: {e}") from None
    try:
        with stream:
            while not done.wait(0.2):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        engine.hangup()
        engine.join(5)
    return engine.session.report()
