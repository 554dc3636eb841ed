"""Fixtures of the scale-out tests: a throwaway PostgreSQL cluster (SIP processes: sip_site.py).

The cluster is a real `postgres` server started with the Debian binaries as a plain process on
127.0.0.1 (no systemd, no system cluster touched).  PostgreSQL refuses to run as root, so under
root the server runs as the unprivileged `postgres` account in a directory it owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # sip_site.py, also used by bench/bench_scale.py
from sip_site import free_tcp_port  # noqa: E402

PG_BIN = Path(os.environ.get("IVR_PG_BIN", "/usr/lib/postgresql/15/bin"))


@dataclass
class PgCluster:
    port: int
    datadir: Path

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A fresh, empty database on the cluster; returns its SQLAlchemy URL."""
        import psycopg

        name = f"ivr_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run_as() -> str | None:
    """The account the server runs as: None = the current user, else an unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.skip("running as root and neither a `postgres` nor a `nobody` account exists to run PostgreSQL")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    for tool in ("initdb", "pg_ctl"):
        if not (PG_BIN / tool).exists():
            pytest.skip(f"PostgreSQL binaries missing: {PG_BIN / tool} (apt-get install postgresql, or set IVR_PG_BIN)")
    user = _run_as()
    # Not under pytest's tmp dir: that is 0700 root-only and the server account must reach it.
    root = Path(tempfile.mkdtemp(prefix="ivr-pg-"))
    root.chmod(0o755)
    datadir = root / "data"
    datadir.mkdir()
    if user:
        pw = pwd.getpwnam(user)
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
    port = free_tcp_port()
    run = {"user": user, "check": True, "capture_output": True, "text": True}

    subprocess.run(
        [str(PG_BIN / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        **run,
    )
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {datadir} -c fsync=off -c max_connections=200"
    try:
        subprocess.run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(datadir),
                "-o",
                opts,
                "-l",
                str(datadir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            **run,
        )
    except subprocess.CalledProcessError as e:
        log = (datadir / "server.log").read_text(errors="replace") if (datadir / "server.log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {e.stderr.strip()} {log[-2000:]}") from e
    try:
        yield PgCluster(port=port, datadir=datadir)
    finally:
        subprocess.run(
            [str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"],
            user=user,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh database per test."""
    return pg_cluster.create_database()
