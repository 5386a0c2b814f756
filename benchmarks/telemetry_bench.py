"""Simulator figures: rows per table, generation speed, and load time into the embedded
engine, at the scales given (default 1 and 10).

    python benchmarks/telemetry_bench.py [--scales 1 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.telemetry.simulator import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for scale in args.scales:
        started = time.perf_counter()
        telemetry = generate(seed=args.seed, scale=scale)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        with EmbeddedEngine.with_tables(telemetry.tables, now=telemetry.end) as engine:
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            engine.query("DeviceProcessEvents | where ProcessCommandLine has 'crontab' | count")
            first_query = time.perf_counter() - started
        days = (telemetry.end - telemetry.start).days
        print(
            f"scale {scale:g} ({days} days): {telemetry.row_count:,} rows; generate "
            f"{generated:.2f} s ({telemetry.row_count / generated:,.0f} rows/s); load "
            f"{loaded:.2f} s ({telemetry.row_count / loaded:,.0f} rows/s); first query "
            f"{first_query:.2f} s"
        )
        for table, rows in sorted(telemetry.tables.items()):
            print(f"    {table:32} {len(rows):>10,}")


if __name__ == "__main__":
    main()
