"""The query process: one per embedded engine, holding the database read-only.

Queries run here, not in the caller's process, because DuckDB cannot bound every
allocation a query makes (`range x from 1 to 3000000000` builds a 24 GB list at once,
ignoring `memory_limit`). Under an address-space limit such an allocation fails as an
error; if the process dies anyway, the caller loses a query, not its session.
"""

from __future__ import annotations

import datetime as dt
import resource
from dataclasses import dataclass
from multiprocessing.connection import Connection

import duckdb

from pytest_ctirealm.engines.errors import EngineError, QueryResourceError
from pytest_ctirealm.engines.execution import run_query
from pytest_ctirealm.engines.kql_extensions import install_macros, register_functions
from pytest_ctirealm.engines.sandbox import lock_down


@dataclass(frozen=True)
class WorkerSettings:
    """What the query process needs to open the database and run queries."""

    database: str
    schema: dict[str, list[str]]
    now: dt.datetime | None
    memory_limit: str
    address_space: int
    threads: int | None


def open_database(settings: WorkerSettings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(settings.database, read_only=True)
    install_macros(con)
    lock_down(con, settings.memory_limit, settings.threads)
    return con


def main(pipe: Connection, settings: WorkerSettings) -> None:
    """Serve `("query", kql, max_rows, timeout)` requests until `("close",)` or EOF."""
    resource.setrlimit(resource.RLIMIT_AS, (settings.address_space, settings.address_space))
    register_functions()
    try:
        con = open_database(settings)
    except duckdb.Error as exc:
        pipe.send(("failed", str(exc)))
        return
    pipe.send(("ready", None))
    while True:
        try:
            message = pipe.recv()
        except EOFError:
            break
        if message[0] == "close":
            break
        _, kql, max_rows, timeout = message
        try:
            result = run_query(
                con,
                kql,
                schema=settings.schema,
                now=settings.now,
                max_rows=max_rows,
                timeout=timeout,
            )
            pipe.send(("ok", result))
        except EngineError as exc:
            pipe.send(("error", exc))
        except MemoryError:
            pipe.send(
                (
                    "error",
                    QueryResourceError(
                        "The query's result needed more memory than the engine allows.",
                        hint="Return fewer rows or columns, or summarize.",
                    ),
                )
            )
    con.close()
