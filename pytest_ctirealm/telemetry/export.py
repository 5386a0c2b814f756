"""Writing generated telemetry to files for use outside pytest (JSON lines or Parquet),
with a manifest that says what produced it, the labels of the attack stages, the benign
look-alike families (what a precise detection must leave out) and the values each
campaign instance drew."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pytest_ctirealm.engines.kusto_values import to_json_value
from pytest_ctirealm.engines.loading import rows_to_arrow
from pytest_ctirealm.telemetry.schema import benchmark_tables
from pytest_ctirealm.telemetry.simulator import Telemetry

FORMATS = ("jsonl", "parquet")


def _json_row(row: dict[str, Any]) -> str:
    return json.dumps({k: to_json_value(v) for k, v in row.items()}, default=str)


def export(telemetry: Telemetry, directory: Path, file_format: str = "jsonl") -> list[Path]:
    """Write one file per table, `labels.json`, `lookalikes.json`, `instances.json` and
    `manifest.json`; return the paths."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}: expected one of {', '.join(FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    schemas = benchmark_tables()
    for table, rows in telemetry.tables.items():
        path = directory / f"{table}.{file_format}"
        if file_format == "jsonl":
            with path.open("w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(_json_row(row) + "\n")
        else:
            pq.write_table(rows_to_arrow(schemas[table], rows), path)
        written.append(path)
    for name, groups in (("labels", telemetry.stages), ("lookalikes", telemetry.lookalikes)):
        keys_by_group = {
            group: {table: [list(key) for key in keys] for table, keys in tables.items()}
            for group, tables in sorted(groups.items())
        }
        (directory / f"{name}.json").write_text(json.dumps(keys_by_group, indent=1, default=str))
    (directory / "instances.json").write_text(json.dumps(telemetry.instances, indent=1))
    manifest = {
        "simulator_version": telemetry.version,
        "seed": telemetry.seed,
        "scale": telemetry.scale,
        "start": to_json_value(telemetry.start),
        "end": to_json_value(telemetry.end),
        "content_hash": telemetry.content_hash(),
        "rows": {table: len(rows) for table, rows in telemetry.tables.items()},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
    extras = ("labels.json", "lookalikes.json", "instances.json", "manifest.json")
    return [*written, *(directory / name for name in extras)]
