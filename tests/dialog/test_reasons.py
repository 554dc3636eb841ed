"""Escalation reasons are declared once, in grammars/flow.yaml `reasons`: their order is the queue's
priority (distress first), their labels are what the console and the hand-off narrative say, and a
reason the data names but does not declare fails at load with one line naming file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.case import Case
from ivr.cli.records import parse_lines
from ivr.dialog import Dialog
from ivr.flow import FlowError, load_flow
from ivr.grammar import load_grammars
from ivr.session import CallSession
from ivr.web import queries

from .conftest import NOW, REPO

REASONS = """\
reasons:
  distress: {label: 危机（自伤风险）, narrative: 情绪低落、有轻生念头}
  emotional: {label: 情绪激动, narrative: 情绪激动}
  complaint: {label: 投诉, narrative: 客户投诉}
  dispute: {label: 争议, narrative: 对账款有异议}
  requested: {label: 要求人工, narrative: 客户要求人工服务}
  confused: {label: 沟通困难, narrative: 多次未能理解}
"""


def _flow_copy(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """A copy of grammars/ with flow.yaml edited (each `old` must occur exactly once)."""
    grammars = tmp_path / "grammars"
    shutil.copytree(REPO / "grammars", grammars)
    flow = grammars / "flow.yaml"
    text = flow.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    flow.write_text(text, encoding="utf-8")
    return grammars


def test_the_bundled_reasons_serve_distress_first(book):
    flow = load_flow(REPO / "grammars" / "flow.yaml", book)
    assert list(flow.reasons) == ["distress", "emotional", "complaint", "dispute", "requested", "confused"]
    assert [flow.priority(r) for r in flow.reasons] == list(range(6))
    assert (
        flow.reason_label("distress") == "危机（自伤风险）"
        and flow.reasons["requested"].narrative == "客户要求人工服务"
    )


def test_priority_and_labels_come_from_flow_yaml(tmp_path, book, store):
    """Reorder and reword the reasons in the data only: stored priority, the console's queue order
    and labels, and the narrative all follow."""
    reordered = """\
reasons:
  distress: {label: 危机（自伤风险）, narrative: 情绪低落、有轻生念头}
  requested: {label: 客户点名要人工, narrative: 客户坚持要求人工}
  emotional: {label: 情绪激动, narrative: 情绪激动}
  complaint: {label: 投诉, narrative: 客户投诉}
  dispute: {label: 争议, narrative: 对账款有异议}
  confused: {label: 沟通困难, narrative: 多次未能理解}
"""
    grammars = _flow_copy(tmp_path, (REASONS, reordered))
    flow = load_flow(grammars / "flow.yaml", book)
    assert list(flow.reasons) == ["distress", "requested", "emotional", "complaint", "dispute", "confused"]

    for reason, line in (("complaint", "我要投诉你们"), ("requested", "转人工")):
        dialog = Dialog(Case(), load_grammars(grammars), book, NOW, seed=0, flow=flow)
        session = CallSession(store, dialog, transport="text")
        session.start()
        for inp in parse_lines(["是我", line]):
            session.handle(inp)
        assert dialog.trigger is not None and dialog.trigger.reason == reason
    requested = store.list_escalations()[0]  # the store's queue order: priority, then age
    assert (requested.reason, requested.priority) == ("requested", 1)
    assert requested.narrative.endswith("第2轮客户坚持要求人工（“转人工”），转人工。")

    q = queries.queue(store, flow)["open"]
    assert [(e["reason"], e["reason_label"], e["priority"]) for e in q] == [
        ("requested", "客户点名要人工", 1),
        ("complaint", "投诉", 3),
    ]


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (
            ("dispute: {say: [dispute.ack], escalate: dispute}", "dispute: {say: [dispute.ack], escalate: quarrel}"),
            "field menus.purpose.answers.dispute.0.escalate: unknown reason 'quarrel'; "
            "expected one of distress, emotional, complaint, dispute, requested, confused (the `reasons` table)",
        ),
        (
            ("  confused: {label: 沟通困难, narrative: 多次未能理解}\n", ""),
            "field reasons: expected 'confused' (the dialog escalates with it), "
            "got distress, emotional, complaint, dispute, requested",
        ),
        (
            (
                "  distress: {label: 危机（自伤风险）, narrative: 情绪低落、有轻生念头}\n  emotional: {label: 情绪激动, narrative: 情绪激动}\n",
                "  emotional: {label: 情绪激动, narrative: 情绪激动}\n  distress: {label: 危机（自伤风险）, narrative: 情绪低落、有轻生念头}\n",
            ),
            "field reasons: expected 'distress' first (most urgent), "
            "got emotional, distress, complaint, dispute, requested, confused",
        ),
        (
            ("  dispute: {label: 争议, narrative: 对账款有异议}\n", "  dispute: {label: 争议}\n"),
            "field reasons.dispute.narrative: Field required",
        ),
        (
            ("    busy: 正忙\n", ""),
            "field labels.intent: expected a label for 'busy' (used at menus.opening.answers.busy), got none",
        ),
        (
            ("      gave_up: {say: [optional.unknown], goto: plan}\n", ""),
            "field menus.unusual_expense.answers.gave_up: expected a handler (give_up_after is 2), got none",
        ),
    ],
)
def test_a_reason_or_label_missing_from_the_data_is_one_clear_line(tmp_path, book, edit, error):
    grammars = _flow_copy(tmp_path, edit)
    with pytest.raises(FlowError) as e:
        load_flow(grammars / "flow.yaml", book)
    assert str(e.value) == f"{grammars / 'flow.yaml'}: {error}"
    assert "\n" not in str(e.value)
