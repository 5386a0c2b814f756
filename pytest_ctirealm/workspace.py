"""What a pytest session works against: the task catalogue, the telemetry for the chosen
seed and scale, and an engine holding it. Built on first use, once per process (each
xdist worker has its own), and closed when the session ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pytest_ctirealm.dataset import Benchmark, load_benchmark
from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.scoring.events import EventRef, positive_refs
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS
from pytest_ctirealm.telemetry.simulator import Telemetry, generate


@dataclass
class Workspace:
    seed: int = 0
    scale: float = 1.0
    _engine: EmbeddedEngine | None = field(default=None, init=False, repr=False)
    _indexes: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )

    @cached_property
    def benchmark(self) -> Benchmark:
        return load_benchmark()

    @cached_property
    def telemetry(self) -> Telemetry:
        return generate(seed=self.seed, scale=self.scale)

    @cached_property
    def attack_events(self) -> set[EventRef]:
        """Every event any attack stage produced (what is not benign)."""
        return positive_refs(self.telemetry.positives(list(self.telemetry.stages)))

    def rows_by_key(self, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
        """*table*'s rows by event key, built once per table (failure messages look
        events up here)."""
        if table not in self._indexes:
            columns = EVENT_KEYS[table]
            self._indexes[table] = {
                tuple(row[c] for c in columns): row for row in self.telemetry.tables[table]
            }
        return self._indexes[table]

    def engine(self) -> EmbeddedEngine:
        if self._engine is None:
            self._engine = EmbeddedEngine.with_tables(self.telemetry.tables, now=self.telemetry.end)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
