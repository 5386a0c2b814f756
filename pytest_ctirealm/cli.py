"""The `ctirealm` command: the things that are not tests (querying, generating telemetry)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pytest_ctirealm import __version__
from pytest_ctirealm.engines import EmbeddedEngine, EngineError, QueryLimits, QueryResult
from pytest_ctirealm.engines.choice import EngineChoice, dataset_version
from pytest_ctirealm.engines.kusto_values import to_json_value
from pytest_ctirealm.telemetry.export import FORMATS, export
from pytest_ctirealm.telemetry.files import TelemetryFileError, read_jsonl_tables
from pytest_ctirealm.telemetry.schema import benchmark_tables
from pytest_ctirealm.telemetry.simulator import generate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctirealm", description="pytest-ctirealm command-line tools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    query = commands.add_parser(
        "query",
        help="run a KQL query on the embedded engine",
        description="Run a KQL query over the 12 benchmark tables: the simulated telemetry "
        "(--telemetry), JSON-lines files (--data), or empty tables for self-contained KQL "
        "(datatable, print, range).",
    )
    query.add_argument("kql", help="the KQL query ('-' reads it from standard input)")
    query.add_argument("--format", choices=["table", "json"], default="table")
    source = query.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="directory of <Table>.jsonl files to load first")
    source.add_argument(
        "--telemetry",
        action="store_true",
        help="query the benchmark's simulated telemetry (see --seed and --scale)",
    )
    _telemetry_options(query)
    query.add_argument("--max-rows", type=int, default=100, help="rows to print (default 100)")
    query.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    generate = commands.add_parser(
        "generate",
        help="write the benchmark telemetry to files",
        description="Generate the benchmark's telemetry and write one file per table, plus "
        "labels.json (the events of every attack stage), lookalikes.json (the benign "
        "look-alike events), instances.json (what each campaign instance drew) and "
        "manifest.json.",
    )
    generate.add_argument("--out", type=Path, required=True, help="output directory")
    generate.add_argument("--format", choices=FORMATS, default="jsonl")
    _telemetry_options(generate)
    _load_parser(commands)
    return parser


def _load_parser(commands: Any) -> None:
    load = commands.add_parser(
        "load",
        help="load the benchmark telemetry into a Kusto cluster",
        description="Load the benchmark's telemetry (or JSON-lines files) into a Kusto "
        "database: an Azure Data Explorer cluster (Azure AD: az login, managed identity, or "
        "AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET) or, with --no-auth, the "
        "Kusto emulator. Tables already loaded with the same dataset version are skipped.",
    )
    load.add_argument(
        "--cluster", required=True, help="cluster URL, e.g. https://x.y.kusto.windows.net"
    )
    load.add_argument("--database", required=True, help="database name")
    load.add_argument("--data", type=Path, help="directory of <Table>.jsonl files to load instead")
    _telemetry_options(load)
    load.add_argument("--tables", nargs="+", metavar="TABLE", help="load only these tables")
    load.add_argument(
        "--no-auth", action="store_true", help="send no credentials (the emulator, a local server)"
    )


def _telemetry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="telemetry seed (default 0)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="benign volume factor (default 1: two days)"
    )


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
    limits = QueryLimits(max_rows=args.max_rows, timeout=args.timeout)
    now = None
    if args.telemetry:
        telemetry = generate(seed=args.seed, scale=args.scale)
        tables, now = telemetry.tables, telemetry.end
    else:
        tables = read_jsonl_tables(args.data) if args.data else {}
    with EmbeddedEngine(limits=limits, now=now) as engine:
        for name in benchmark_tables():
            engine.load_table(name, tables.get(name, []))
        result = engine.query(kql)
    if args.format == "json":
        print(json.dumps(result.to_json_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_table(result))
    return 0


def _run_generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    telemetry = generate(seed=args.seed, scale=args.scale)
    generated = time.perf_counter() - started
    paths = export(telemetry, args.out, args.format)
    print(
        f"{telemetry.row_count:,} rows in {len(telemetry.tables)} tables "
        f"(simulator {telemetry.version}, seed {telemetry.seed}, scale {telemetry.scale:g}): "
        f"generated in {generated:.2f} s ({telemetry.row_count / generated:,.0f} rows/s), "
        f"written to {args.out} in {time.perf_counter() - started - generated:.2f} s"
    )
    for path in paths:
        print(f"  {path}")
    return 0


def _files_version(directory: Path) -> str:
    """A dataset version for JSON-lines files: a hash of their names and contents."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.jsonl")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "files-" + digest.hexdigest()[:16]


def _run_load(args: argparse.Namespace) -> int:
    try:
        choice = EngineChoice.parse("adx", args.cluster, args.database)
    except ValueError as exc:
        print(f"ctirealm: {str(exc).replace('--ctirealm-', '--')}", file=sys.stderr)
        return 2
    if args.data:
        tables = read_jsonl_tables(args.data)
        version = _files_version(args.data)
        available = sorted(tables)
    else:
        telemetry = generate(seed=args.seed, scale=args.scale)
        tables, version = telemetry.tables, dataset_version(telemetry)
        available = sorted(benchmark_tables())
    wanted = args.tables or available
    unknown = [name for name in wanted if name not in tables]
    if unknown:
        where = f"in {args.data}" if args.data else "among the benchmark tables"
        print(
            f"ctirealm: table '{unknown[0]}' is not {where} (expected one of: "
            f"{', '.join(available)})",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    try:
        from pytest_ctirealm.engines.kusto_rest import KustoRestEngine, load_telemetry

        with KustoRestEngine(choice.cluster or "", args.database, no_auth=args.no_auth) as engine:
            loaded = load_telemetry(engine, SimpleNamespace(tables=tables), version, tables=wanted)
    except (EngineError, ImportError) as exc:
        print(f"ctirealm: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    width = max(len(name) for name in wanted)
    print(f"{engine.cluster} / {args.database}, dataset version {version}:")
    for name in wanted:
        if loaded[name]:
            status = f"loaded {loaded[name]:,} row{'s' if loaded[name] != 1 else ''}"
        elif tables[name]:
            status = "skipped (already loaded at this version)"
        else:
            status = "empty (no rows to load)"
        print(f"  {name.ljust(width)}  {status}")
    skipped = sum(1 for name in wanted if tables[name] and not loaded[name])
    print(
        f"{len(wanted)} tables: {len(wanted) - skipped} loaded ({sum(loaded.values()):,} rows), "
        f"{skipped} skipped, in {time.perf_counter() - started:.1f} s"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            return _run_generate(args)
        if args.command == "load":
            return _run_load(args)
        return _run_query(args)
    except EngineError as exc:
        print(f"ctirealm: {exc}", file=sys.stderr)
        return 1
    except TelemetryFileError as exc:
        print(f"ctirealm: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
