"""The ReAct loop with scripted models: limits, bad tool calls, bad answers, failures,
replays, and the oracle on one task of each platform."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pytest_ctirealm.agent.loop import extract_answer, run_task
from pytest_ctirealm.agent.models import ModelTurn, ScriptedModel, ToolRequest, replay_model
from pytest_ctirealm.agent.oracle import OracleModel
from pytest_ctirealm.dataset import Task
from pytest_ctirealm.workspace import Workspace

RULE = (
    "title: Curl to tmp\nlogsource: {product: linux, category: process_creation}\n"
    "detection:\n  sel:\n    Image|endswith: /curl\n  condition: sel\n"
)
ANSWER = json.dumps(
    {
        "sigma_rule": RULE,
        "kql_query": "DeviceProcessEvents | take 1",
        "query_results": [{"DeviceName": "vm-web01"}],
    }
)


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    ws = Workspace(seed=0, scale=0.5)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def task(workspace: Workspace) -> Task:
    return workspace.benchmark.tasks["linux_003"]


def call(name: str, **arguments: object) -> ModelTurn:
    return ModelTurn(tool_requests=(ToolRequest(f"c-{name}", name, dict(arguments)),))


def test_tool_calls_then_an_answer_submits(workspace: Workspace, task: Task) -> None:
    model = ScriptedModel(
        [
            call("list_kusto_tables"),
            call("execute_kql_query", query="DeviceProcessEvents | take 3"),
            ModelTurn(text=f"Here it is:\n```json\n{ANSWER}\n```", output_tokens=42),
        ]
    )
    transcript = run_task(task, workspace, model)
    assert transcript.status == "submitted" and transcript.error is None
    assert transcript.submission == json.loads(ANSWER)
    assert [c.name for c in transcript.tool_calls] == ["list_kusto_tables", "execute_kql_query"]
    assert [m.role for m in transcript.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert transcript.output_tokens == 42


def test_message_limit_ends_a_run_that_never_stops(workspace: Workspace, task: Task) -> None:
    model = ScriptedModel([call("list_kusto_tables")] * 50)
    transcript = run_task(task, workspace, model, message_limit=9)
    assert transcript.status == "message_limit"
    assert len(transcript.messages) <= 10 and transcript.submission is None


def test_malformed_arguments_and_unknown_tools_come_back_as_results(
    workspace: Workspace, task: Task
) -> None:
    model = ScriptedModel(
        [
            ModelTurn(tool_requests=(ToolRequest("a", "execute_kql_query", '{"query": "Device'),)),
            call("drop_all_tables"),
            call("get_table_schema", table="DeviceProcessEvents"),
            ModelTurn(text=ANSWER),
        ]
    )
    transcript = run_task(task, workspace, model)
    assert transcript.status == "submitted"
    results = [json.loads(m.content) for m in transcript.messages if m.role == "tool"]
    assert [r.get("error") for r in results] == [
        "invalid_arguments",
        "unknown_tool",
        "invalid_arguments",
    ]


def test_an_invalid_answer_gets_a_second_chance(workspace: Workspace, task: Task) -> None:
    bad = json.dumps({"sigma_rule": "title: x", "kql_query": ""})
    model = ScriptedModel(
        [ModelTurn(text=bad), ModelTurn(text="I think I am done."), ModelTurn(text=ANSWER)]
    )
    transcript = run_task(task, workspace, model)
    assert transcript.status == "submitted"
    nudges = [m.content for m in transcript.messages if m.role == "user"][1:]
    assert len(nudges) == 2 and "query_results" in nudges[0] and "holds no JSON object" in nudges[1]


def test_a_model_that_never_answers_hits_the_limit(workspace: Workspace, task: Task) -> None:
    model = ScriptedModel([ModelTurn(text="Let me think.")] * 40)
    transcript = run_task(task, workspace, model, message_limit=12)
    assert transcript.status == "message_limit" and transcript.submission is None


def test_a_failing_model_ends_as_an_error_not_a_score(workspace: Workspace, task: Task) -> None:
    transcript = run_task(task, workspace, ScriptedModel([call("list_kusto_tables")]))
    assert transcript.status == "error" and "model failed" in (transcript.error or "")
    assert len(transcript.tool_calls) == 1  # what happened before the failure is kept


def test_a_recorded_run_replays_to_the_same_calls_and_answer(
    workspace: Workspace, task: Task
) -> None:
    first = run_task(task, workspace, OracleModel(task, workspace.benchmark))
    again = run_task(task, workspace, replay_model([first]))
    assert again.status == "submitted"
    assert [(c.name, c.arguments) for c in again.tool_calls] == [
        (c.name, c.arguments) for c in first.tool_calls
    ]
    assert again.submission == first.submission


@pytest.mark.parametrize("task_id", ["linux_003", "aks_005", "cloud_002"])
def test_the_oracle_works_like_an_analyst_and_submits_the_reference(
    workspace: Workspace, task_id: str
) -> None:
    task = workspace.benchmark.tasks[task_id]
    transcript = run_task(task, workspace, OracleModel(task, workspace.benchmark))
    assert transcript.status == "submitted"
    assert transcript.submission is not None
    assert transcript.submission["kql_query"] == workspace.benchmark.references[task_id].kql
    assert transcript.submission["query_results"], "it reports the rows it saw"
    names = [c.name for c in transcript.tool_calls]
    assert {"get_cti_reports_by_tag", "search_mitre_techniques", "get_table_schema"} <= set(names)
    queries = {c.arguments["query"] for c in transcript.tool_calls if c.name == "execute_kql_query"}
    assert len(queries) >= 2 and all(not c.error for c in transcript.tool_calls)


def test_the_oracle_in_the_minimal_variant_skips_the_removed_tools(
    workspace: Workspace, task: Task
) -> None:
    transcript = run_task(
        task, workspace, OracleModel(task, workspace.benchmark), variant="minimal"
    )
    assert transcript.status == "submitted"
    assert not {"get_cti_reports_by_tag", "search_mitre_techniques"} & {
        c.name for c in transcript.tool_calls
    }


def test_answers_are_found_bare_or_fenced() -> None:
    assert extract_answer('text {"a": 1} more') == {"a": 1}
    assert extract_answer('```json\n{"b": [1, 2]}\n```') == {"b": [1, 2]}
    assert extract_answer("no answer here") is None
