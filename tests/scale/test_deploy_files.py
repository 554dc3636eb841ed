"""The files of deploy/ are accepted by the programs that read them (kamailio, systemd, ivr settings)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sip_site import KAMAILIO_CFG, REPO

from ivr.settings import load_settings

DEPLOY = REPO / "deploy"


@pytest.mark.skipif(shutil.which("kamailio") is None, reason="kamailio not installed (apt-get install kamailio)")
def test_kamailio_accepts_the_config_with_the_defines_of_the_systemd_drop_in() -> None:
    dropin = (DEPLOY / "kamailio" / "kamailio.service.d" / "ivr.conf").read_text()
    defines = re.search(r"IVR_KAMAILIO_DEFINES=([^']*)'", dropin).group(1).split()
    check = subprocess.run(["kamailio", "-c", "-f", str(KAMAILIO_CFG), *defines], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-1500:]
    assert "udp: 10.0.0.1 [10.0.0.1]:5060" in check.stdout + check.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_verify_cleanly(tmp_path: Path) -> None:
    # the units name the install location /opt/ivr; point them at this checkout to verify
    for unit in (DEPLOY / "systemd").iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/ivr", str(REPO)))
    units = [tmp_path / "ivr-worker@5070.service", tmp_path / "ivr-console.service", tmp_path / "ivr-workers.target"]
    done = subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_example_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("IVR_DATA_DIR", "IVR_DB_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("IVR_CONFIG", str(DEPLOY / "ivr.toml"))
    for line in (DEPLOY / "ivr.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            monkeypatch.setenv(key, value)
    s = load_settings()
    assert s.sip_allow == ["10.0.0.1/32"] and s.data_dir == Path("/var/lib/ivr")
    assert s.database_url.startswith("postgresql+psycopg://ivr:") and s.secret_key == "CHANGE-ME"
