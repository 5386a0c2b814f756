"""The same benchmark run scores the same on the embedded engine and over Kusto REST.

The REST side is `KustoRestEngine` (azure-kusto-data) talking to duckdb-kql's REST server
on 127.0.0.1, serving the benchmark telemetry from a DuckDB file written beforehand with
the embedded engine's loading code (loading it as `datatable` commands would take most
of an hour), with the embedded engine's KQL extensions, as a real cluster has those
functions. The oracle runs a few tasks on each engine (all 50 in
`benchmarks/rest_parity_bench.py`); every score and detection number must match.

Also: `now()` and `ago()` are pinned to the telemetry's end over REST. azure-kusto-data
sends the request properties as JSON text, which duckdb-kql 1.1's server does not read
(it takes only a JSON object, so it ignores every option the real client sends); a small
proxy hands the server the options as Kusto reads them, and records what was sent.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from duckdb_kql.server import check_options

pytest.importorskip("azure.kusto.data", reason="azure-kusto-data is not installed (kusto extra)")

from pytest_ctirealm.agent.loop import run_task
from pytest_ctirealm.agent.oracle import OracleModel
from pytest_ctirealm.dataset import Benchmark
from pytest_ctirealm.engines import EngineError
from pytest_ctirealm.engines.choice import EngineChoice, open_engine
from pytest_ctirealm.engines.kustainer import SharedKustainer
from pytest_ctirealm.engines.kusto_rest import KustoRestEngine
from pytest_ctirealm.engines.local_rest import LocalRestServer, prepare_database
from pytest_ctirealm.scoring.checkpoints import Scorer, TaskScore
from pytest_ctirealm.telemetry.simulator import Telemetry
from pytest_ctirealm.workspace import Workspace
from tests.engines.test_engine_choice import END, FakeCredential, tiny_telemetry
from tests.engines.test_kustainer import LOCAL_SPEC, start_local_server, stop_local_server

#: One task per platform, plus the ones whose queries use `let` + join, mv-expand and
#: parse_json (one of the functions the embedded engine corrects), and guid columns.
PARITY_TASKS = ("aks_001", "aks_009", "cloud_002", "cloud_003", "linux_001", "linux_013")


class _OptionsProxy(ThreadingHTTPServer):
    """Passes requests on to *upstream* with their properties as Kusto reads them: decoded
    from the JSON text the client sends, less the options duckdb-kql refuses
    (`truncationmaxrecords`; the engine caps rows itself). Records each request's options."""

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.sent: list[dict[str, Any]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _OptionsProxy

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        properties = body.get("properties") or {}
        if isinstance(properties, str):
            properties = json.loads(properties)
        options = dict(properties.get("Options") or {})
        self.server.sent.append(options)
        properties["Options"] = {k: v for k, v in options.items() if not check_options({k: v})}
        body["properties"] = properties
        request = urllib.request.Request(
            self.server.upstream + self.path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(server: LocalRestServer) -> Iterator[_OptionsProxy]:
    srv = _OptionsProxy(server.url)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(10)


@pytest.fixture(scope="module")
def server(
    telemetry: Telemetry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRestServer]:
    folder = tmp_path_factory.mktemp("rest-parity")
    try:
        srv = LocalRestServer.start(
            prepare_database(telemetry, folder / "telemetry.duckdb"), folder / "server.log"
        )
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def workspaces(
    telemetry: Telemetry, benchmark: Benchmark, server: LocalRestServer
) -> Iterator[dict[str, Workspace]]:
    embedded = open_engine(EngineChoice(), telemetry)
    rest = server.engine(now=telemetry.end)
    spaces = {
        "embedded": Workspace.with_engine(embedded, telemetry, benchmark),
        "rest": Workspace.with_engine(rest, telemetry, benchmark),
    }
    yield spaces
    for space in spaces.values():
        space.close()


@pytest.fixture(scope="module")
def scorers(workspaces: dict[str, Workspace]) -> dict[str, Scorer]:
    return {name: Scorer(space) for name, space in workspaces.items()}


def digest(score: TaskScore) -> dict[str, Any]:
    """Everything a task's score says: reward, each checkpoint's score, error and details
    (detection counts, traced rows, Sigma quality, fabrication check), the reference's
    formula."""
    return {
        "status": score.status,
        "error": score.error,
        "reward": score.reward,
        "compat": score.compat,
        "compat_details": score.compat_details,
        "checkpoints": {
            name: (c.score, c.error, c.details) for name, c in score.checkpoints.items()
        },
    }


def _answers(transcript: Any) -> list[tuple[str, Any, Any]]:
    """The rows each query the agent ran returned (timings and type labels left out), as
    a multiset: a query without `sort` has no row order, on either engine (DuckDB's
    threads return aks_001's six rows in several orders from run to run)."""
    return [
        (
            call.arguments["query"],
            call.error,
            sorted(map(repr, (call.result or {}).get("rows") or [])),
        )
        for call in transcript.tool_calls
        if call.name == "execute_kql_query"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("task_id", PARITY_TASKS)
def test_oracle_scores_identically_over_rest(
    task_id: str, workspaces: dict[str, Workspace], scorers: dict[str, Scorer]
) -> None:
    scores: dict[str, TaskScore] = {}
    answers: dict[str, list[tuple[str, Any, Any]]] = {}
    for name, space in workspaces.items():
        task = space.benchmark.tasks[task_id]
        transcript = run_task(task, space, OracleModel(task, space.benchmark))
        assert transcript.status == "submitted", f"{name}: {transcript.error}"
        scores[name] = scorers[name].score(task, transcript)
        answers[name] = _answers(transcript)
    assert answers["rest"] == answers["embedded"]
    assert digest(scores["rest"]) == digest(scores["embedded"])
    # Not a comparison of two empty results: the submitted query found the attack.
    query = scores["rest"].query
    assert query is not None and query.error is None and query.score.true_positives > 0
    assert all(rows for _, error, rows in answers["rest"] if error is None)


def test_now_and_ago_are_pinned_to_the_telemetry_end(
    server: LocalRestServer,
    proxy: _OptionsProxy,
    workspaces: dict[str, Workspace],
    telemetry: Telemetry,
) -> None:
    rest = KustoRestEngine(proxy.url, server.database, no_auth=True, now=telemetry.end)
    embedded = workspaces["embedded"].engine()
    try:
        assert rest.query("print now()").rows == [(telemetry.end,)]
        sent = proxy.sent[-1]["query_now"]
        assert sent.endswith("Z")
        assert dt.datetime.fromisoformat(sent.replace("Z", "+00:00")) == telemetry.end
        recent = "DeviceProcessEvents | where Timestamp > ago(1d) | count"
        for kql in ("print now()", "print t = ago(1d)", recent):
            assert rest.query(kql).rows == embedded.query(kql).rows, kql
        total = len(telemetry.tables["DeviceProcessEvents"])
        assert 0 < rest.query(recent).rows[0][0] < total  # the window really cuts the table
    finally:
        rest.close()


def test_a_naive_now_is_utc_and_no_now_is_the_server_clock(
    server: LocalRestServer, proxy: _OptionsProxy, telemetry: Telemetry
) -> None:
    naive = KustoRestEngine(
        proxy.url, server.database, no_auth=True, now=telemetry.end.replace(tzinfo=None)
    )
    unpinned = KustoRestEngine(proxy.url, server.database, no_auth=True)
    try:
        assert naive.now == telemetry.end
        assert naive.query("print now()").rows == [(telemetry.end,)]
        wall = unpinned.query("print now()").rows[0][0]
        assert "query_now" not in proxy.sent[-1]
        assert abs(wall - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    finally:
        naive.close()
        unpinned.close()


def test_open_engine_pins_now_for_the_emulator_and_adx(tmp_path: Path) -> None:
    """The engines `open_engine` builds carry the telemetry's end (what they send with it
    is checked above; the stand-in server here ignores request options)."""
    pytest.importorskip("azure.identity", reason="azure-identity is not installed (kusto extra)")
    shared = SharedKustainer(tmp_path, LOCAL_SPEC, start=start_local_server, stop=stop_local_server)
    try:
        emulator = open_engine(EngineChoice("kustainer"), tiny_telemetry(), kustainer=shared)
        try:
            assert isinstance(emulator, KustoRestEngine) and emulator.now == END
            state = shared.state()
            assert state is not None
            adx = open_engine(
                EngineChoice("adx", state["url"], state["database"]),
                tiny_telemetry(),
                credential=FakeCredential(),
            )
            try:
                assert isinstance(adx, KustoRestEngine) and adx.now == END
            finally:
                adx.close()
        finally:
            emulator.close()
    finally:
        assert shared.stop()


def test_workspace_with_engine_uses_and_closes_it(
    server: LocalRestServer, telemetry: Telemetry
) -> None:
    engine = server.engine(now=telemetry.end)
    space = Workspace.with_engine(engine, telemetry)
    assert (space.seed, space.scale) == (telemetry.seed, telemetry.scale)
    assert space.telemetry is telemetry and space.engine() is engine
    assert "DeviceProcessEvents" in space.engine().tables()
    space.close()
    with pytest.raises(EngineError, match="closed"):
        engine.query("print 1")
