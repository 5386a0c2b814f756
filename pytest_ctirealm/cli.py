"""The `ctirealm` command: the things that are not tests (running a KQL query for now)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_ctirealm import __version__
from pytest_ctirealm.engines import EmbeddedEngine, EngineError, QueryLimits, QueryResult
from pytest_ctirealm.engines.kusto_values import to_json_value
from pytest_ctirealm.telemetry.files import TelemetryFileError, read_jsonl_tables
from pytest_ctirealm.telemetry.schema import benchmark_tables


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctirealm", description="pytest-ctirealm command-line tools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    query = commands.add_parser(
        "query",
        help="run a KQL query on the embedded engine",
        description="Run a KQL query over the 12 benchmark tables (empty unless --data "
        "gives JSON-lines files) or over self-contained KQL (datatable, print, range).",
    )
    query.add_argument("kql", help="the KQL query ('-' reads it from standard input)")
    query.add_argument("--format", choices=["table", "json"], default="table")
    query.add_argument("--data", type=Path, help="directory of <Table>.jsonl files to load first")
    query.add_argument("--max-rows", type=int, default=100, help="rows to print (default 100)")
    query.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    return parser


def _cell(value: Any) -> str:
    value = to_json_value(value)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def format_table(result: QueryResult, max_width: int = 60) -> str:
    """A plain-text grid of the result, long cells cut to *max_width* characters."""
    header = [c.name for c in result.columns]
    body = [[_cell(v) for v in row] for row in result.rows]
    body = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in body]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(header)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
        *("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body),
    ]
    footer = f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"
    footer += ", truncated)" if result.truncated else ")"
    return "\n".join(line.rstrip() for line in lines) + "\n" + footer


def _run_query(args: argparse.Namespace) -> int:
    kql = sys.stdin.read() if args.kql == "-" else args.kql
    tables = read_jsonl_tables(args.data) if args.data else {}
    limits = QueryLimits(max_rows=args.max_rows, timeout=args.timeout)
    with EmbeddedEngine(limits=limits) as engine:
        for name in benchmark_tables():
            engine.load_table(name, tables.get(name, []))
        result = engine.query(kql)
    if args.format == "json":
        print(json.dumps(result.to_json_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_table(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run_query(args)
    except EngineError as exc:
        print(f"ctirealm: {exc}", file=sys.stderr)
        return 1
    except TelemetryFileError as exc:
        print(f"ctirealm: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
