"""Reading telemetry tables from JSON-lines files, one file per table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_ctirealm.telemetry.schema import TABLE_ALIASES, benchmark_tables


class TelemetryFileError(ValueError):
    """A telemetry file is not a benchmark table or holds a line that is not a JSON object."""


def read_jsonl_tables(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Rows of every `<Table>.jsonl` in *directory*, keyed by benchmark table name."""
    if not directory.is_dir():
        raise TelemetryFileError(f"{directory}: not a directory")
    known = {name.lower(): name for name in [*benchmark_tables(), *TABLE_ALIASES]}
    tables: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        name = known.get(path.stem.lower())
        if name is None:
            raise TelemetryFileError(
                f"{path}: '{path.stem}' is not a benchmark table "
                f"(expected one of: {', '.join(sorted(benchmark_tables()))})"
            )
        rows = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise TelemetryFileError(f"{path}:{number}: not valid JSON ({exc})") from None
                if not isinstance(row, dict):
                    raise TelemetryFileError(f"{path}:{number}: expected a JSON object per line")
                rows.append(row)
        tables[name] = rows
    return tables
