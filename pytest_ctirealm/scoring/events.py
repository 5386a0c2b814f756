"""Event-level precision and recall: a result row counts for the telemetry event it came
from, identified by the table's event-key columns (`telemetry.event_keys`).

A row from a `union` names its table in the `Type` column every Log Analytics record
carries; otherwise the row belongs to the table the detection is about. Rows without
the key columns (aggregates, projections that dropped them) cannot be traced and are
counted apart. Events are counted per event family (an AKS write logged in both audit
tables is one event).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_ctirealm.engines.protocol import QueryResult
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS, event_family

#: (table, event key)
EventRef = tuple[str, tuple[Any, ...]]


def traced_events(result: QueryResult, default_table: str | None) -> tuple[set[EventRef], int]:
    """The events *result*'s rows came from, and how many rows could not be traced."""
    found: set[EventRef] = set()
    untraced = 0
    for row in result.records():
        table = row.get("Type") if row.get("Type") in EVENT_KEYS else default_table
        columns = EVENT_KEYS.get(table or "")
        if columns is None or any(row.get(c) is None for c in columns):
            untraced += 1
            continue
        assert table is not None
        found.add((event_family(table), tuple(row[c] for c in columns)))
    return found, untraced


def positive_refs(positives: Mapping[str, Iterable[tuple[Any, ...]]]) -> set[EventRef]:
    """`Telemetry.positives()` output as a set of event references."""
    return {(event_family(table), key) for table, keys in positives.items() for key in keys}


@dataclass(frozen=True)
class EventScore:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        relevant = self.true_positives + self.false_negatives
        return self.true_positives / relevant if relevant else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_events(found: set[EventRef], positives: set[EventRef]) -> EventScore:
    hits = len(found & positives)
    return EventScore(hits, len(found) - hits, len(positives) - hits)
