"""What keeps an untrusted query inside the database: DuckDB locked down, one read-only
statement per query, and a deadline that cancels a query that runs too long.

Agents write the queries, so nothing here trusts the translator either: even SQL that
escaped its quoting could not write, read a file, reach the network or change settings.
"""

from __future__ import annotations

import threading
from types import TracebackType

import duckdb
from duckdb import DuckDBPyConnection

from pytest_ctirealm.engines.errors import QueryNotAllowedError


def lock_down(con: DuckDBPyConnection, memory_limit: str, threads: int | None) -> None:
    """Bound memory, cut off files, extensions and network, then freeze all settings.

    Extensions the translator needs (json, icu) are already loaded by DuckDB itself;
    loading any other afterwards is refused.
    """
    settings = [
        "SET TimeZone = 'UTC'",
        f"SET memory_limit = '{memory_limit}'",
        "SET max_temp_directory_size = '0B'",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET allow_community_extensions = false",
        "SET enable_external_access = false",
    ]
    if threads is not None:
        settings.append(f"SET threads = {int(threads)}")
    for statement in [*settings, "SET lock_configuration = true"]:
        con.execute(statement)


def check_read_only(sql: str) -> None:
    """Refuse anything but exactly one SELECT (a query, not a write, copy, attach or set)."""
    statements = duckdb.extract_statements(sql)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kinds = ", ".join(str(s.type).rsplit(".", 1)[-1] for s in statements) or "none"
        raise QueryNotAllowedError(
            "Only read-only queries are allowed on this engine.",
            hint=f"The query translated to statement(s) of kind {kinds}; write a query "
            "that reads tables, without control or ingestion commands.",
        )


class Deadline:
    """Interrupts the connection's running query when *seconds* pass.

    The timer and the query finishing race; a lock makes sure the interrupt only
    lands while the guarded block is still running, never on the next query.
    """

    def __init__(self, con: DuckDBPyConnection, seconds: float | None) -> None:
        self._con = con
        self._seconds = seconds
        self._lock = threading.Lock()
        self._active = False
        self.expired = False
        self._timer: threading.Timer | None = None

    def _fire(self) -> None:
        with self._lock:
            if self._active:
                self.expired = True
                self._con.interrupt()

    def __enter__(self) -> Deadline:
        self._active = True
        if self._seconds is not None:
            self._timer = threading.Timer(self._seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._active = False
        if self._timer is not None:
            self._timer.cancel()
