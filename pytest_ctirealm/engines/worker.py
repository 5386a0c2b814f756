"""The query process: one per embedded engine, holding the database read-only.

Queries run here, not in the caller's process, because DuckDB cannot bound every
allocation a query makes (`range x from 1 to 3000000000` builds a 24 GB list at once,
ignoring `memory_limit`). Under an address-space limit such an allocation fails as an
error; if the process dies anyway, the caller loses a query, not its session.

It is started as `python -m pytest_ctirealm.engines.worker` and speaks length-prefixed
pickle frames over stdin/stdout, so it never re-imports the caller's `__main__` (as
multiprocessing's spawn would) and works the same from pytest, scripts and notebooks.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import resource
import struct
import sys
from dataclasses import dataclass
from typing import IO, Any

import duckdb

from pytest_ctirealm.engines.errors import EngineError, QueryResourceError
from pytest_ctirealm.engines.execution import run_query
from pytest_ctirealm.engines.kql_extensions import install_macros, register_functions
from pytest_ctirealm.engines.sandbox import lock_down

_LENGTH = struct.Struct("!Q")


@dataclass(frozen=True)
class WorkerSettings:
    """What the query process needs to open the database and run queries."""

    database: str
    schema: dict[str, list[str]]
    now: dt.datetime | None
    memory_limit: str
    address_space: int
    threads: int | None


def write_frame(stream: IO[bytes], message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next message, or EOFError when the other side has gone."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return pickle.loads(payload)


def open_database(settings: WorkerSettings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(settings.database, read_only=True)
    install_macros(con)
    lock_down(con, settings.memory_limit, settings.threads)
    return con


def serve(inbox: IO[bytes], outbox: IO[bytes]) -> None:
    """Open the database named by the first frame, then answer `("query", kql, max_rows,
    timeout)` frames until `("close",)` or end of input."""
    settings: WorkerSettings = read_frame(inbox)
    resource.setrlimit(resource.RLIMIT_AS, (settings.address_space, settings.address_space))
    register_functions()
    try:
        con = open_database(settings)
    except duckdb.Error as exc:
        write_frame(outbox, ("failed", str(exc)))
        return
    write_frame(outbox, ("ready", None))
    while True:
        try:
            message = read_frame(inbox)
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
            reply: tuple[str, Any] = ("ok", result)
        except EngineError as exc:
            reply = ("error", exc)
        except MemoryError:
            reply = (
                "error",
                QueryResourceError(
                    "The query's result needed more memory than the engine allows.",
                    hint="Return fewer rows or columns, or summarize.",
                ),
            )
        try:
            write_frame(outbox, reply)
        except MemoryError:
            write_frame(
                outbox,
                (
                    "error",
                    QueryResourceError(
                        "The query's result is too large to return.",
                        hint="Return fewer rows or columns, or summarize.",
                    ),
                ),
            )
    con.close()


def main() -> None:
    # The protocol owns stdout: anything else that prints goes to stderr instead.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, protocol_out)


if __name__ == "__main__":
    main()
