"""A separate process that writes calls, turns and escalations through ivr.store, the way a SIP
worker's sessions do.  Used by test_postgres.py: `python store_writer.py DB_URL WORKER N_CALLS`.
Prints the call ids it wrote, one per line."""

from __future__ import annotations

import sys
import uuid

from ivr.flow import bundled_flow
from ivr.store import Store

FLOW = bundled_flow()
REASONS = list(FLOW.reasons)


def main(url: str, worker: str, n_calls: int) -> None:
    store = Store(url)  # every worker creates the schema at start: must be race-free
    for i in range(n_calls):
        call_id = uuid.uuid4().hex
        store.start_call(call_id, transport="sip", worker=worker, case={"debtor": "张三", "amount": 3000 + i})
        for idx, (menu, text) in enumerate([("opening", "是我"), ("purpose", "知道"), ("income_source", "打零工")], 1):
            store.add_turn(
                call_id,
                idx=idx,
                menu=menu,
                input_kind="speech",
                caller_text=text,
                slots={"turn": idx},
                timing={"latency_ms": 300 + idx},
            )
        store.add_escalation(
            call_id,
            REASONS[i % len(REASONS)],
            FLOW.priority(REASONS[i % len(REASONS)]),
            trigger_turn=3,
            summary={"worker": worker, "narrative": "客户已确认本人"},
        )
        store.update_call(call_id, status="ended", outcome="escalated")
        print(call_id, flush=True)
    store.engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
