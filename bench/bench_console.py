"""Console response times with a realistic database: 10,000 calls (~70k turns, ~2,500
escalations, a dozen open) in a SQLite file, served by real uvicorn over HTTP.

Prints p50/p95 per page; target: queue and call-history pages < 200 ms (p95).
Usage: .venv/bin/python bench/bench_console.py [--calls 10000] [--requests 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.auth import add_user  # noqa: E402
from ivr.settings import load_settings  # noqa: E402
from ivr.store import Store  # noqa: E402
from ivr.web.app import create_app  # noqa: E402
from ivr.web.sampledata import populate  # noqa: E402
from ivr.web.threaded import ThreadedServer  # noqa: E402

TARGET_MS = 200.0
TARGETED = ("queue page", "history page")


def timed(client: httpx.Client, path: str, n: int) -> list[float]:
    client.get(path).raise_for_status()  # warm-up (templates compiled, caches filled)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=40)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp), db_url=f"sqlite:///{tmp}/ivr.sqlite3")
        store = Store(settings.database_url)
        t = time.perf_counter()
        counts = populate(store, args.calls)
        print(f"populated {counts} in {time.perf_counter() - t:.1f} s")
        add_user(store, "bench", "supervisor", "bench-password")
        esc_id = store.list_escalations(status="waiting", limit=1)[0].id
        call_id = store.list_calls(limit=1)[0].id
        pages = {
            "queue page": "/queue",
            "queue API": "/api/escalations",
            "history page": "/calls",
            "history page, filtered": "/calls?outcome=escalated&reason=emotional&menu=plan",
            "history page, search": "/calls?q=138",
            "history page 100": "/calls?page=100",
            "history API": "/api/calls",
            "escalation detail": f"/escalations/{esc_id}",
            "call detail": f"/calls/{call_id}",
            "analytics (30 days)": "/analytics",
            "metrics": "/metrics",
        }
        app = create_app(settings, ready=True, store=store)
        failed = []
        with ThreadedServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
            client.post("/api/login", json={"username": "bench", "password": "bench-password"}).raise_for_status()
            print(f"{'page':28} {'p50 ms':>8} {'p95 ms':>8}")
            for name, path in pages.items():
                ms = sorted(timed(client, path, args.requests))
                p50, p95 = statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]
                flag = ""
                if name in TARGETED:
                    flag = "ok" if p95 < TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
                    if p95 >= TARGET_MS:
                        failed.append(name)
                print(f"{name:28} {p50:8.1f} {p95:8.1f}  {flag}")
        store.engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
