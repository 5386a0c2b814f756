"""Assembles the benchmark's telemetry: benign background from every generator, every
attack scenario, then event ids, ingestion times and labels.

The result depends only on (version, seed, scale): the same triple gives byte-identical
tables, checked through `Telemetry.content_hash`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_ctirealm.telemetry.benign import (
    aks,
    azure_activity,
    entra,
    graph,
    keyvault,
    office,
    storage,
)
from pytest_ctirealm.telemetry.benign import linux as benign_linux
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import TENANT_ID
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS
from pytest_ctirealm.telemetry.scenarios import LOOKALIKES, SCENARIOS
from pytest_ctirealm.telemetry.schema import benchmark_tables

#: Bump when any generator's output changes: caches and ground truth are keyed by it.
SIMULATOR_VERSION = "3"

Row = dict[str, Any]
EventKey = tuple[Any, ...]
Generator = Callable[[SimContext], dict[str, list[Row]]]

BENIGN_GENERATORS: tuple[Generator, ...] = (
    benign_linux.generate,
    aks.generate,
    entra.generate,
    graph.generate,
    office.generate,
    azure_activity.generate,
    keyvault.generate,
    storage.generate,
)

_STAGE = "_stage"
_LOOKALIKE = "_lookalike"
_DEVICE_TABLES = ("DeviceProcessEvents", "DeviceFileEvents")


@dataclass
class Telemetry:
    """Rows of the 12 tables, and which events each attack stage produced."""

    seed: int
    scale: float
    version: str
    start: dt.datetime
    end: dt.datetime
    tables: dict[str, list[Row]]
    #: "scenario.stage" -> table -> event keys (see event_keys.EVENT_KEYS)
    stages: dict[str, dict[str, list[EventKey]]] = field(default_factory=dict)
    #: "campaign.family" -> table -> event keys of benign look-alikes of that campaign
    lookalikes: dict[str, dict[str, list[EventKey]]] = field(default_factory=dict)
    #: campaign -> the values its instance drew here (never shown to an agent)
    instances: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())

    def positives(self, stage_names: list[str]) -> dict[str, set[EventKey]]:
        """The event keys of *stage_names*, per table (KeyError for an unknown stage)."""
        out: dict[str, set[EventKey]] = {}
        for name in stage_names:
            for table, keys in self.stages[name].items():
                out.setdefault(table, set()).update(keys)
        return out

    def content_hash(self) -> str:
        """SHA-256 over every table's rows in order: equal hashes, equal telemetry."""
        digest = hashlib.sha256()
        for table in sorted(self.tables):
            digest.update(table.encode())
            for row in self.tables[table]:
                digest.update(json.dumps(row, sort_keys=True, default=str).encode())
        return digest.hexdigest()


def generate(seed: int = 0, scale: float = 1.0) -> Telemetry:
    """The telemetry for *seed* at *scale* (1.0 = two days of a small company)."""
    ctx = SimContext(seed, scale)
    tables: dict[str, list[Row]] = {name: [] for name in benchmark_tables()}
    for generator in BENIGN_GENERATORS:
        for table, rows in generator(ctx).items():
            tables[table].extend(rows)
    for name in sorted(LOOKALIKES):
        _add_labelled(ctx, tables, LOOKALIKES[name].run(ctx), name, _LOOKALIKE)
    for name in sorted(SCENARIOS):
        _add_labelled(ctx, tables, SCENARIOS[name].run(ctx), name, _STAGE)
    stages: dict[str, dict[str, list[EventKey]]] = {}
    lookalikes: dict[str, dict[str, list[EventKey]]] = {}
    for table, rows in tables.items():
        _finish(ctx, table, rows)
        _collect_labels(table, rows, _STAGE, stages)
        _collect_labels(table, rows, _LOOKALIKE, lookalikes)
    return Telemetry(
        seed,
        scale,
        SIMULATOR_VERSION,
        ctx.start,
        ctx.end,
        tables,
        stages,
        lookalikes,
        {name: dict(values) for name, values in sorted(ctx.instances.items())},
    )


def _add_labelled(
    ctx: SimContext,
    tables: dict[str, list[Row]],
    groups: dict[str, dict[str, list[Row]]],
    name: str,
    label: str,
) -> None:
    """Add each group's rows, labelled `<name>.<group>` under the private column *label*.
    Rows that start after the window closes fall out, as for the benign background."""
    for group, per_table in groups.items():
        for table, rows in per_table.items():
            for row in rows:
                if row["Timestamp" if "Timestamp" in row else "TimeGenerated"] < ctx.end:
                    row[label] = f"{name}.{group}"
                    tables[table].append(row)


def _finish(ctx: SimContext, table: str, rows: list[Row]) -> None:
    """Columns every record of *table* carries, ingestion delay, ids, time order."""
    columns = set(benchmark_tables()[table].column_names)
    rng = ctx.rng("ingestion", table)
    for row in rows:
        if "Type" in columns:
            row.setdefault("Type", table)
        if "TenantId" in columns:
            row.setdefault("TenantId", TENANT_ID)
        if "TimeGenerated" not in row:
            # Defender streams events to Sentinel within seconds to a few minutes.
            row["TimeGenerated"] = row["Timestamp"] + dt.timedelta(seconds=rng.uniform(2, 120))
    if table in _DEVICE_TABLES:
        _assign_report_ids(rows)
    rows.sort(key=lambda row: row["TimeGenerated"])
    _check_unique(table, rows)


def _assign_report_ids(rows: list[Row]) -> None:
    """Defender's ReportId: a counter per device, increasing with event time."""
    rows.sort(key=lambda row: (row["DeviceId"], row["Timestamp"]))
    device, counter = None, 0
    for row in rows:
        if row["DeviceId"] != device:
            device = row["DeviceId"]
            counter = 10_000 + int(device[:4], 16)
        counter += 1
        row["ReportId"] = counter


def _check_unique(table: str, rows: list[Row]) -> None:
    key_columns = EVENT_KEYS[table]
    seen: set[EventKey] = set()
    for row in rows:
        key = tuple(row.get(column) for column in key_columns)
        if key in seen or None in key:
            raise ValueError(
                f"{table}: event key {dict(zip(key_columns, key, strict=True))} "
                "is missing or not unique"
            )
        seen.add(key)


def _collect_labels(
    table: str, rows: list[Row], label: str, out: dict[str, dict[str, list[EventKey]]]
) -> None:
    """Move the private *label* column of *rows* into *out* (label -> table -> keys)."""
    key_columns = EVENT_KEYS[table]
    for row in rows:
        name = row.pop(label, None)
        if name is not None:
            key = tuple(row[column] for column in key_columns)
            out.setdefault(name, {}).setdefault(table, []).append(key)
