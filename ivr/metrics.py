"""Prometheus metrics of the IVR.  The engine, sessions and transports import the objects below and
increment them; `/metrics` (ivr.web) exposes them together with DB-derived gauges.

In-process metrics only count what this process saw.  Calls served by other processes (SIP workers,
`ivr simulate`) are covered by the `ivr_db_*` gauges, read from the shared database at scrape time.
Labels are kept low-cardinality: reasons, menus and outcomes are small fixed sets, never ids.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ivr.store import Call, Escalation, Store

disable_created_metrics()  # no *_created series: half the lines, nothing a dashboard uses
REGISTRY = CollectorRegistry()  # own registry: importing twice (tests, reload) never double-registers

CALLS_TOTAL = Counter("ivr_calls", "Calls started by this process", registry=REGISTRY)
CALLS_ACTIVE = Gauge("ivr_calls_active", "Calls in progress in this process", registry=REGISTRY)
ESCALATIONS_TOTAL = Counter("ivr_escalations", "Escalations to a human agent by reason", ["reason"], registry=REGISTRY)
TURN_LATENCY_SECONDS = Histogram(
    "ivr_turn_latency_seconds",
    "Caller end of speech to first bot audio",
    buckets=(0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0),
    registry=REGISTRY,
)
STORE_WRITE_ERRORS = Counter(
    "ivr_store_write_errors", "Calls ended early because the store could not write (disk full...)", registry=REGISTRY
)
NO_MATCH_TOTAL = Counter("ivr_no_match", "Caller turns not understood, by menu", ["menu"], registry=REGISTRY)
NO_INPUT_TOTAL = Counter("ivr_no_input", "Caller silences (no input), by menu", ["menu"], registry=REGISTRY)
ASR_DECODE_SECONDS = Histogram(
    "ivr_asr_decode_seconds",
    "Time to decode one utterance (final result)",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 4.0),
    registry=REGISTRY,
)
EARLY_ENDPOINTS = Counter(
    "ivr_early_endpoints",
    "Turns ended early: the partial result was already a whole grammar phrase, by menu",
    ["menu"],
    registry=REGISTRY,
)
# hit rate = (memory + disk) / all; "synthesized" pieces were rendered during a call
PROMPT_PIECES = Counter(
    "ivr_prompt_pieces",
    "Prompt audio pieces served, by where they came from (memory|disk|synthesized)",
    ["source"],
    registry=REGISTRY,
)

LOGIN_FAILURES = Counter("ivr_login_failures", "Console logins refused for a wrong name or password", registry=REGISTRY)
LOGIN_REFUSED = Counter(
    "ivr_login_refused",
    "Console logins refused before verification: throttled or locked (account|address), or busy",
    ["scope"],
    registry=REGISTRY,
)
# media transports (issue 13): recordings stopped by a write error; media connections refused
# (auth, Origin, per-source cap, bad peer id); caller audio dropped as faster than real time
RECORDING_ERRORS = Counter("ivr_recording_errors", "Call recordings stopped by a write error", registry=REGISTRY)
MEDIA_REFUSED = Counter(
    "ivr_media_refused", "Media connections refused, by transport and why", ["transport", "why"], registry=REGISTRY
)
MEDIA_DROPPED_BYTES = Counter(
    "ivr_media_dropped_bytes", "Caller audio dropped as faster than real time (floods)", registry=REGISTRY
)


class DatabaseCollector(Collector):
    """Gauges computed from the shared database at scrape time (two indexed GROUP BY queries)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.store.session() as s:
            by_outcome = s.execute(select(Call.outcome, func.count()).group_by(Call.outcome)).all()
            active = s.scalar(select(func.count()).select_from(Call).where(Call.status == "active")) or 0
            waiting = s.execute(
                select(Escalation.reason, func.count())
                .where(Escalation.status != "resolved")
                .group_by(Escalation.reason)
            ).all()
        calls = GaugeMetricFamily("ivr_db_calls", "Calls stored in the database by outcome", labels=["outcome"])
        for outcome, n in by_outcome:
            calls.add_metric([outcome or "none"], n)
        yield calls
        yield GaugeMetricFamily("ivr_db_calls_active", "Calls in progress in any process", value=active)
        open_esc = GaugeMetricFamily(
            "ivr_db_escalations_open", "Escalations waiting or claimed, by reason", labels=["reason"]
        )
        for reason, n in waiting:
            open_esc.add_metric([reason], n)
        yield open_esc


def exposition(store: Store | None = None) -> bytes:
    """Prometheus text format: this process's metrics, then the DB-derived gauges."""
    out = generate_latest(REGISTRY)
    if store is not None:
        db = CollectorRegistry(auto_describe=False)
        db.register(DatabaseCollector(store))
        out += generate_latest(db)
    return out
