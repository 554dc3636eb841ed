"""WAV reading (ivr/audio.py `read_wav`, the console's ivr/web/waveform.py) under hostile files.

Anything a caller recording or a studio prompt file can be — arbitrary bytes, a RIFF header with
one field wrong, chunk sizes that lie, a file cut anywhere — gives `BadAudio` / `RecordingError`
(ValueError subclasses, one line starting with the file name) or a valid result: never another
exception, and never memory out of proportion to the file (a header may claim 4 GB).  A WAV the
stdlib writes reads back to the same samples.
"""

from __future__ import annotations

import struct
import tempfile
import tracemalloc
import wave
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ivr.audio import Audio, BadAudio, read_wav, write_wav
from ivr.codec import CALL_RATES
from ivr.web.waveform import RecordingError, peaks, wav_info

from .budget import fuzz

pytestmark = pytest.mark.timeout(120)

U32 = 0xFFFFFFFF
MEMORY_SLACK = 2 * 1024 * 1024  # bytes of Python allocations a read may take beyond the file itself


@dataclass(frozen=True)
class Riff:
    """A RIFF/WAVE file described field by field, so a test can break exactly one of them."""

    samples: bytes = b"\x01\x00" * 80
    fmt_tag: int = 1
    channels: int = 1
    rate: int = 8000
    bits: int = 16
    fmt_size: int = 16  # declared size of the fmt chunk (the bytes written follow it, up to 64)
    data_size: int | None = None  # declared size of the data chunk (None: the truth)
    riff_size: int | None = None  # declared size of the RIFF chunk (None: the truth)
    extra: bytes = b""  # a chunk between fmt and data (LIST, fact, junk)
    cut: int | None = None  # file truncated to this many bytes

    def bytes(self) -> bytes:
        width = (self.bits + 7) // 8
        block = (self.channels * width) & 0xFFFF
        fmt = struct.pack(
            "<HHIIHH", self.fmt_tag, self.channels, self.rate, (self.rate * block) & U32, block, self.bits
        )
        fmt = fmt.ljust(min(self.fmt_size, 64), b"\0")[: max(min(self.fmt_size, 64), 0)]
        data_size = len(self.samples) if self.data_size is None else self.data_size
        body = (
            b"WAVE"
            + b"fmt "
            + struct.pack("<I", self.fmt_size)
            + fmt
            + self.extra
            + b"data"
            + struct.pack("<I", data_size)
            + self.samples
        )
        riff = len(body) if self.riff_size is None else self.riff_size
        raw = b"RIFF" + struct.pack("<I", riff) + body
        return raw if self.cut is None else raw[: self.cut]


def chunk(tag: bytes, payload: bytes, declared: int | None = None) -> bytes:
    size = len(payload) if declared is None else declared
    return tag + struct.pack("<I", size) + payload + (b"\0" if len(payload) % 2 else b"")


SIZES = st.one_of(st.integers(0, 200), st.sampled_from([U32, U32 - 1, 2**31, 2**31 - 1, 1 << 24]))
riffs = st.builds(
    Riff,
    samples=st.binary(max_size=400),
    fmt_tag=st.one_of(st.sampled_from([1, 3, 6, 7, 0xFFFE]), st.integers(0, 0xFFFF)),
    channels=st.one_of(st.integers(0, 8), st.just(0xFFFF)),
    rate=st.one_of(st.sampled_from([*CALL_RATES, 0, 1, 11025, 44100, 48000, U32]), st.integers(0, U32)),
    bits=st.one_of(st.sampled_from([0, 1, 8, 12, 16, 24, 32, 64]), st.integers(0, 0xFFFF)),
    fmt_size=st.one_of(st.sampled_from([16, 18, 40]), SIZES),
    data_size=st.one_of(st.none(), SIZES),
    riff_size=st.one_of(st.none(), SIZES),
    extra=st.one_of(
        st.just(b""),
        st.builds(chunk, st.sampled_from([b"LIST", b"fact", b"JUNK", b"\0\0\0\0"]), st.binary(max_size=20)),
        st.builds(chunk, st.just(b"LIST"), st.binary(max_size=8), SIZES),
    ),
    cut=st.one_of(st.none(), st.integers(0, 600)),
)


def one_line_naming(err: Exception, path: Path) -> None:
    text = str(err)
    assert str(path) in text, f"error does not name the file: {text!r}"
    assert "\n" not in text, f"error is not one line: {text!r}"


def read_all_ways(path: Path) -> None:
    """read_wav at call rates and at any rate, wav_info and peaks: valid results or their one-line errors;
    Python allocations bounded by the file's size (a lying header must not make us allocate it)."""
    size = path.stat().st_size
    tracemalloc.start()
    try:
        for rates in (CALL_RATES, None):
            try:
                audio = read_wav(path, rates=rates)
            except BadAudio as e:
                one_line_naming(e, path)
            else:
                assert audio.pcm and len(audio.pcm) % 2 == 0 and len(audio.pcm) <= size
                assert rates is None or audio.rate in rates
        try:
            rate, channels, width, frames = wav_info(path)
            info = peaks(path)
        except RecordingError as e:
            one_line_naming(e, path)
        else:
            assert channels >= 1 and width >= 1 and frames >= 0
            assert info["sample_rate"] == rate and all(0 <= p <= 1 for p in info["peaks"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * size + MEMORY_SLACK, f"{peak} bytes allocated to read a {size}-byte file"


# Found by test_arbitrary_bytes: a chunk declared longer than the RIFF chunk holding it made the
# stdlib's chunk reader raise a bare RuntimeError (a traceback from `ivr simulate`, a 500 from the
# console's waveform) instead of the one-line BadAudio / RecordingError.
RIFF_OVERRUN = b"RIFF\x00\x00\x00\x01WAVE\x00\x00\x00\x00\x00\x00\x00\x01"


def test_chunk_larger_than_its_riff_chunk_is_bad_audio(tmp_path):
    path = tmp_path / "overrun.wav"
    path.write_bytes(RIFF_OVERRUN)
    with pytest.raises(BadAudio) as e:
        read_wav(path)
    assert str(e.value) == f"{path}: not a WAV file (a chunk is larger than the RIFF chunk that holds it)"
    with pytest.raises(RecordingError, match="a chunk is larger than the RIFF chunk that holds it"):
        wav_info(path)


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory(prefix="fuzz-wav-") as d:
        yield Path(d)


@given(raw=st.one_of(st.binary(max_size=600), st.binary(max_size=600).map(lambda b: b"RIFF" + b[:4] + b"WAVE" + b[4:])))
@example(raw=RIFF_OVERRUN)
@fuzz(300)
def test_arbitrary_bytes(scratch, raw):
    path = scratch / "caller.wav"
    path.write_bytes(raw)
    read_all_ways(path)


@given(riff=riffs)
@example(riff=Riff(fmt_size=U32))  # found by this test: wave's Chunk raised a bare RuntimeError
@example(riff=Riff(extra=chunk(b"LIST", b"", U32)))
@example(riff=Riff(data_size=U32 - 1))  # claims 4 GB of audio: must not be allocated
@fuzz(400)
def test_structured_but_wrong_headers(scratch, riff):
    path = scratch / "caller.wav"
    path.write_bytes(riff.bytes())
    read_all_ways(path)


def good_riff() -> st.SearchStrategy[Riff]:
    return st.builds(
        Riff,
        samples=st.binary(min_size=1, max_size=200).map(lambda b: b * 2),
        rate=st.sampled_from(CALL_RATES),
    )


WRONG_FIELD = st.one_of(
    st.tuples(st.just("channels"), st.integers(2, 8)),
    st.tuples(st.just("bits"), st.sampled_from([8, 24, 32])),
    st.tuples(st.just("rate"), st.integers(1, 200_000).filter(lambda r: r not in CALL_RATES)),
    st.tuples(st.just("fmt_tag"), st.integers(0, 0xFFFF).filter(lambda t: t != 1)),
)
EXPECTED = {
    "channels": "channels: expected 1 (mono), got {}",
    "bits": "sample width: expected 16-bit, got {}-bit",
    "rate": "sample rate: expected 8000 Hz or 16000 Hz, got {} Hz",
    "fmt_tag": "WAV encoding: expected 16-bit PCM (format 1), got unknown format: {}",
}


@given(riff=good_riff(), wrong=WRONG_FIELD)
@fuzz(150)
def test_one_wrong_field_is_named_with_expected_and_got(scratch, riff, wrong):
    field, value = wrong
    path = scratch / "caller.wav"
    path.write_bytes(replace(riff, **{field: value}).bytes())
    with pytest.raises(BadAudio) as e:
        read_wav(path)
    assert str(e.value) == f"{path}: " + EXPECTED[field].format(value)


@given(riff=good_riff(), cut=st.integers(0, 10_000))
@fuzz(150)
def test_truncated_anywhere(scratch, riff, cut):
    raw = riff.bytes()
    cut %= len(raw)
    path = scratch / "caller.wav"
    path.write_bytes(raw[:cut])
    with pytest.raises(BadAudio) as e:
        read_wav(path)
    one_line_naming(e.value, path)
    if cut > 44:  # the header is whole: the message says how much is missing
        header_frames = len(riff.samples) // 2
        assert (
            str(e.value) == f"{path}: truncated: header declares {header_frames} samples, file holds {(cut - 44) // 2}"
        )


samples16 = st.lists(st.integers(-32768, 32767), min_size=1, max_size=2000).map(
    lambda xs: struct.pack(f"<{len(xs)}h", *xs)
)


@given(pcm=samples16, rate=st.sampled_from(CALL_RATES), extra=st.sampled_from([b"", chunk(b"LIST", b"INFOabc")]))
@fuzz(200)
def test_stdlib_written_wav_round_trips(scratch, pcm, rate, extra):
    path = scratch / "caller.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    if extra:  # a metadata chunk before the audio (what editors add) changes nothing
        raw = path.read_bytes()
        path.write_bytes(Riff(samples=pcm, rate=rate, extra=extra).bytes())
        assert len(path.read_bytes()) == len(raw) + len(extra)
    audio = read_wav(path)
    assert (audio.pcm, audio.rate) == (pcm, rate)
    assert wav_info(path) == (rate, 1, 2, len(pcm) // 2)


@given(pcm=samples16, rate=st.integers(1000, 96000), channels=st.integers(1, 2))
@fuzz(100)
def test_write_wav_round_trips(scratch, pcm, rate, channels):
    pcm = pcm[: len(pcm) // (2 * channels) * 2 * channels] or bytes(2 * channels)
    path = write_wav(scratch / "out" / "rec.wav", pcm, rate, channels)
    if channels == 1:
        assert read_wav(path, rates=None) == Audio(pcm, rate)
    else:
        with pytest.raises(BadAudio, match=f"channels: expected 1 \\(mono\\), got {channels}"):
            read_wav(path, rates=None)
    assert wav_info(path) == (rate, channels, 2, len(pcm) // (2 * channels))
