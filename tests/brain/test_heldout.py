"""Intent accuracy over colloquial answers that are NOT in the grammar files (tests/brain/data)."""

from __future__ import annotations

import json
from pathlib import Path

from ivr.textnorm import normalize
from ivr.understanding import Understander

from .conftest import NOW

HELDOUT = Path(__file__).parent / "data" / "heldout.tsv"


def load_heldout() -> list[tuple[str, str, str, dict]]:
    rows = []
    for n, line in enumerate(HELDOUT.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        assert len(parts) in (3, 4), f"{HELDOUT}:{n}: expected menu<TAB>text<TAB>intent[<TAB>slots], got {line!r}"
        rows.append((parts[0], parts[1], parts[2], json.loads(parts[3]) if len(parts) == 4 else {}))
    return rows


def _slots_match(got: dict, want: dict) -> bool:
    norm = lambda v: sorted(v) if isinstance(v, list) else v  # noqa: E731 - categories are a set
    return all(norm(got.get(k)) == norm(v) for k, v in want.items())


def test_heldout_is_large_and_not_copied_from_grammars(grammar_texts: set[str]) -> None:
    rows = load_heldout()
    assert len(rows) >= 150
    copied = [text for _, text, _, _ in rows if normalize(text, fillers=False).text in grammar_texts]
    assert not copied, f"held-out answers copied verbatim into grammars/: {copied}"


def test_heldout_intent_accuracy_at_least_95_percent(nlu: Understander) -> None:
    rows = load_heldout()
    misses = []
    for menu, text, intent, slots in rows:
        u = nlu.understand(menu, text, NOW)
        if u.intent != intent or not _slots_match(u.slots, slots):
            misses.append(f"{menu}: {text!r} → {u.intent} {u.slots} ({u.confidence:.2f}); expected {intent} {slots}")
    accuracy = 1 - len(misses) / len(rows)
    print(f"held-out accuracy {accuracy:.1%} over {len(rows)} answers", *misses, sep="\n  ")
    assert accuracy >= 0.95, "\n".join(misses)
