"""The query process: a stuck or dead process costs one query, never the session."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from pytest_ctirealm.engines import EmbeddedEngine, QueryResourceError, QueryTimeoutError, embedded

SLOW = (
    "range a from 1 to 100000 step 1 | extend k = 1 "
    "| join kind=inner (range b from 1 to 100000 step 1 | extend k = 1) on k | count"
)


def _pid(engine: EmbeddedEngine) -> int:
    engine.query("print 1")  # make sure the process is up
    assert engine._worker is not None
    return engine._worker.pid


def test_a_process_that_stops_answering_is_killed_and_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embedded, "_KILL_GRACE", 0.2)
    with EmbeddedEngine() as engine:
        pid = _pid(engine)
        os.kill(pid, signal.SIGSTOP)  # as stuck as an uninterruptible operation
        started = time.perf_counter()
        with pytest.raises(QueryTimeoutError):
            engine.query("print 1", timeout=0.3)
        assert time.perf_counter() - started < 5
        assert engine.query("print 2").rows == [(2,)]
        assert _pid(engine) != pid


def test_a_process_that_dies_mid_query_costs_only_that_query() -> None:
    with EmbeddedEngine.with_tables({"AKSAudit": [{"Verb": "get"}]}) as engine:
        pid = _pid(engine)
        threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()
        with pytest.raises(QueryResourceError):
            engine.query(SLOW, timeout=30)
        assert engine.query("AKSAudit | project Verb").rows == [("get",)]
