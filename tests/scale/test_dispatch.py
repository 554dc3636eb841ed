"""`ivr deploy dispatcher-list`: the worker list Kamailio's dispatcher reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr import dispatch
from ivr.cli import _register, app

_register()
runner = CliRunner()


def _destinations(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line and not line.startswith("#")]


def test_host_range_matches_the_ports_of_sip_workers() -> None:
    # the same ports `ivr serve --sip-workers 3` listens on
    from ivr.transports.sip.pool import worker_ports

    workers = dispatch.worker_range("10.0.0.2", 5070, 3)
    assert [w.hostport for w in workers] == ["10.0.0.2:5070", "10.0.0.2:5072", "10.0.0.2:5074"]
    assert [w.port for w in workers] == worker_ports(5070, 3)
    assert [w.port for w in dispatch.worker_range("10.0.0.2", 5070, 3, step=1)] == [5070, 5071, 5072]


def test_rendered_lines_are_dispatcher_format() -> None:
    text = dispatch.render(dispatch.parse_workers("10.0.0.2:5070, sip:[fd00::3]:5071 ,ivr-w1.lan:5070"), set_id=2)
    rows = [line.split() for line in text.splitlines() if not line.startswith("#")]
    assert rows == [
        ["2", "sip:10.0.0.2:5070", "0", "0", "duid=10.0.0.2:5070"],
        ["2", "sip:[fd00::3]:5071", "0", "0", "duid=[fd00::3]:5071"],
        ["2", "sip:ivr-w1.lan:5070", "0", "0", "duid=ivr-w1.lan:5070"],
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("10.0.0.2", "'10.0.0.2': expected HOST:PORT"),
        ("10.0.0.2:sip", "port 'sip' is not a number"),
        ("10.0.0.2:70000", "port 70000 is outside 1-65535"),
        ("bad_host!:5070", "host 'bad_host!' is neither an IP address nor a host name"),
        ("10.0.0.2:5070,10.0.0.2:5070", "10.0.0.2:5070 is listed twice"),
        (" , ", "worker list is empty"),
    ],
)
def test_bad_worker_lists_name_the_entry(spec: str, message: str) -> None:
    with pytest.raises(dispatch.DispatchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dispatch.parse_workers(spec)


def test_cli_writes_the_file_atomically_and_joins_both_forms(tmp_path: Path) -> None:
    out = tmp_path / "kamailio" / "dispatcher.list"
    out.parent.mkdir()
    out.write_text("1 sip:10.9.9.9:5070 0 0\n")  # an older list is replaced, not appended to
    result = runner.invoke(
        app,
        [
            "deploy",
            "dispatcher-list",
            "--workers",
            "10.0.0.3:5070",
            "--host",
            "10.0.0.2",
            "--base-port",
            "5070",
            "--count",
            "2",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert _destinations(out.read_text()) == ["sip:10.0.0.3:5070", "sip:10.0.0.2:5070", "sip:10.0.0.2:5072"]
    assert [p.name for p in out.parent.iterdir()] == ["dispatcher.list"]  # no temp file left behind


def test_cli_prints_to_stdout_by_default() -> None:
    result = runner.invoke(app, ["deploy", "dispatcher-list", "--host", "127.0.0.1", "--count", "2"])
    assert result.exit_code == 0
    assert _destinations(result.stdout) == ["sip:127.0.0.1:5070", "sip:127.0.0.1:5072"]


def test_cli_two_worker_hosts_of_the_documented_layout() -> None:
    result = runner.invoke(
        app, ["deploy", "dispatcher-list", "--host", "10.0.0.2", "--host", "10.0.0.3", "--count", "3"]
    )
    assert result.exit_code == 0, result.output
    assert _destinations(result.stdout) == [f"sip:10.0.0.{h}:{p}" for h in (2, 3) for p in (5070, 5072, 5074)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give the workers"),
        (["--workers", "10.0.0.2:0"], "port 0 is outside 1-65535"),
        (["--host", "10.0.0.2", "--count", "0"], "worker count must be at least 1, got 0"),
        (["--host", "10.0.0.2", "--base-port", "65534", "--count", "2"], "port 65536 is outside 1-65535"),
        (["--workers", "10.0.0.2:5070", "--set-id", "0"], "dispatcher set id must be at least 1"),
        (["--workers", "10.0.0.2:5072", "--host", "10.0.0.2", "--count", "2"], "10.0.0.2:5072 is listed twice"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["deploy", "dispatcher-list", *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivr: error: ") and message in lines[0]


def test_cli_reload_failure_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "deploy",
            "dispatcher-list",
            "--workers",
            "127.0.0.1:5070",
            "-o",
            str(tmp_path / "d.list"),
            "--reload",
            "--ctl-socket",
            f"unix:{tmp_path}/no-such-kamailio",
        ],
    )
    assert result.exit_code == 2
    assert "kamcmd" in result.stderr and len(result.stderr.strip().splitlines()) == 2  # "wrote ..." + the error
