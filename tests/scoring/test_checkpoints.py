"""C0-C4 on real and hand-made runs: what each checkpoint rewards, what it ignores, and
how failed or empty runs come out."""

from __future__ import annotations

import json

import pytest

from pytest_ctirealm.agent.transcript import Message, ToolCall, Transcript
from pytest_ctirealm.scoring.checkpoints import WEIGHTS, Scorer, jaccard
from pytest_ctirealm.scoring.trajectory import technique_ids
from pytest_ctirealm.workspace import Workspace
from tests.scoring.conftest import submitted

REFERENCE_TASKS = ["linux_003", "aks_004", "cloud_002"]


def reference(workspace: Workspace, task_id: str) -> dict[str, object]:
    ref = workspace.benchmark.references[task_id]
    return {"sigma_rule": ref.sigma, "kql_query": ref.kql, "query_results": []}


def test_weights_are_the_references_points_out_of_ten() -> None:
    assert WEIGHTS == {"C0": 0.125, "C1": 0.075, "C2": 0.10, "C3": 0.05, "C4": 0.65}
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_the_oracle_scores_one_on_every_task(
    scorer: Scorer, workspace: Workspace, oracle_runs: dict[str, Transcript]
) -> None:
    for task_id, transcript in oracle_runs.items():
        score = scorer.score(workspace.benchmark.tasks[task_id], transcript)
        assert score.reward == pytest.approx(1.0), (task_id, score.checkpoints)
        assert score.fabrication is not None and not score.fabrication.fabricated


@pytest.mark.parametrize("task_id", REFERENCE_TASKS)
def test_submitting_the_reference_alone_earns_c4_and_nothing_else(
    scorer: Scorer, workspace: Workspace, task_id: str
) -> None:
    task = workspace.benchmark.tasks[task_id]
    score = scorer.score(task, submitted(task_id, reference(workspace, task_id)))
    assert score.checkpoints["C4"].score == pytest.approx(1.0)
    assert [score.checkpoints[c].score for c in ("C0", "C2", "C3")] == [0, 0, 0]
    assert score.checkpoints["C0"].details["reason"] == "no CTI tool was called"
    # The rule's ATT&CK tags are techniques the agent stated.
    tags = technique_ids(workspace.benchmark.references[task_id].sigma)
    c1 = jaccard(tags, set(task.techniques))
    assert score.checkpoints["C1"].score == pytest.approx(c1)
    assert score.reward == pytest.approx(0.65 + 0.075 * c1)


def test_a_lazy_query_has_full_recall_and_pays_in_precision(
    scorer: Scorer, workspace: Workspace
) -> None:
    task = workspace.benchmark.tasks["linux_003"]
    lazy = {**reference(workspace, "linux_003"), "kql_query": "DeviceProcessEvents"}
    details = scorer.score(task, submitted(task.id, lazy)).checkpoints["C4"].details["kql"]
    assert details["recall"] == 1.0
    assert details["precision"] < 0.01
    assert details["false_positives"] > 1000


def test_no_submission_scores_zero_c4_with_the_reason(scorer: Scorer, workspace: Workspace) -> None:
    task = workspace.benchmark.tasks["aks_004"]
    transcript = submitted(task.id, None, error="no valid answer within 70 messages")
    score = scorer.score(task, transcript)
    assert score.status == "scored"
    assert score.checkpoints["C4"].score == 0.0
    assert "70 messages" in score.checkpoints["C4"].details["reason"]
    assert score.reward == 0.0


def test_a_failed_model_is_an_error_not_a_zero(scorer: Scorer, workspace: Workspace) -> None:
    task = workspace.benchmark.tasks["aks_004"]
    transcript = Transcript(task.id, status="error", error="model failed: HTTP 429 x5")
    score = scorer.score(task, transcript)
    assert score.status == "error"
    assert score.reward is None
    assert all(c.score is None and "429" in (c.error or "") for c in score.checkpoints.values())


@pytest.mark.parametrize(
    ("kql", "sigma", "kql_error", "sigma_error"),
    [
        ("", "", "empty", "empty"),
        ("DeviceProcessEvents | where", "title: [", "fails when re-run", "YAML"),
        ("NoSuchTable | take 1", "just text", "NoSuchTable", "Sigma"),
        (".drop table DeviceProcessEvents", "title: x\n", "fails when re-run", "Sigma"),
    ],
)
def test_garbage_submissions_score_zero_with_a_reason(
    scorer: Scorer, workspace: Workspace, kql: str, sigma: str, kql_error: str, sigma_error: str
) -> None:
    task = workspace.benchmark.tasks["linux_003"]
    submission = {"sigma_rule": sigma, "kql_query": kql, "query_results": "rows"}
    c4 = scorer.score(task, submitted(task.id, submission)).checkpoints["C4"]
    assert c4.score == 0.0
    assert kql_error in c4.details["kql"]["error"]
    assert sigma_error in c4.details["sigma"]["error"]
    assert workspace.engine().row_count("DeviceProcessEvents") > 0


def test_sigma_quality_needs_the_rule_to_run_well(scorer: Scorer, workspace: Workspace) -> None:
    task = workspace.benchmark.tasks["linux_003"]
    broad = (
        "title: Any process\nid: 6f0c3e52-1d3a-4c1e-9a57-0a3c2c7d9b10\nstatus: test\n"
        "level: low\nlogsource: {product: linux, category: process_creation}\n"
        "detection:\n  sel:\n    Image|endswith: /bash\n  condition: sel\n"
    )
    submission = {**reference(workspace, task.id), "sigma_rule": broad}
    sigma = scorer.score(task, submitted(task.id, submission)).checkpoints["C4"].details["sigma"]
    assert sigma["syntax"] == 1.0
    assert sigma["f1"] < 0.1
    assert sigma["quality"] == pytest.approx(0.25 + 0.75 * sigma["f1"], abs=1e-6)


def test_a_multi_table_task_needs_every_table(scorer: Scorer, workspace: Workspace) -> None:
    task = workspace.benchmark.tasks["cloud_002"]
    assert len(task.tables) > 1
    first_rule = workspace.benchmark.references[task.id].sigma.split("\n---")[0]
    submission = {**reference(workspace, task.id), "sigma_rule": first_rule}
    sigma = scorer.score(task, submitted(task.id, submission)).checkpoints["C4"].details["sigma"]
    assert sigma["precision"] == 1.0
    assert 0 < sigma["recall"] < 1


def test_a_broken_sigma_document_costs_only_its_own_rules(
    scorer: Scorer, workspace: Workspace
) -> None:
    """One document that is not YAML (or not a rule) beside good ones: the good rules
    still run and score; syntax says not every rule was sound, and the failure names
    the document."""
    task = workspace.benchmark.tasks["cloud_002"]
    rules = workspace.benchmark.references[task.id].sigma
    whole = scorer.score(task, submitted(task.id, reference(workspace, task.id)))
    for broken in ("title: [unclosed\n", "just a sentence, not a rule\n"):
        answer = {**reference(workspace, task.id), "sigma_rule": f"{rules}\n---\n{broken}"}
        sigma = scorer.score(task, submitted(task.id, answer)).checkpoints["C4"].details["sigma"]
        assert sigma["f1"] == whole.checkpoints["C4"].details["sigma"]["f1"] == 1.0
        assert sigma["syntax"] == 0.5
        assert any(f.startswith(f"document {rules.count('---') + 2} of") for f in sigma["failures"])


def test_a_query_or_rule_of_the_wrong_type_is_named_not_called_empty(
    scorer: Scorer, workspace: Workspace
) -> None:
    task = workspace.benchmark.tasks["linux_003"]
    answer = {
        **reference(workspace, task.id),
        "kql_query": ["DeviceProcessEvents", "take 1"],
        "sigma_rule": {"title": "x"},
    }
    c4 = scorer.score(task, submitted(task.id, answer)).checkpoints["C4"]
    assert c4.details["kql"]["error"] == "the submitted KQL query must be a string, got array"
    assert c4.details["sigma"]["error"] == "the submitted Sigma rule must be a string, got object"
    assert c4.score == 0.0


def tool_call(name: str, result: object, **arguments: object) -> ToolCall:
    return ToolCall(name, dict(arguments), result=result)


def test_techniques_count_when_the_agent_states_them_not_when_a_tool_shows_them(
    scorer: Scorer, workspace: Workspace
) -> None:
    task = workspace.benchmark.tasks["linux_003"]
    report = {"reports": [{"id": task.reports[0], "content": " ".join(task.techniques)}]}
    calls = [tool_call("get_cti_reports_by_tag", report, tag="x")]
    silent = Transcript(task.id, tool_calls=calls, status="message_limit")
    assert scorer.score(task, silent).checkpoints["C1"].score == 0.0
    stated = Transcript(
        task.id,
        messages=[Message("assistant", "This is " + " and ".join(task.techniques) + ".")],
        tool_calls=calls,
        status="message_limit",
    )
    c1 = scorer.score(task, stated).checkpoints["C1"]
    assert c1.score == 1.0 and c1.details["recall"] == 1.0
    # Reading the relevant report earns C0 in both runs.
    assert scorer.score(task, silent).checkpoints["C0"].score == pytest.approx(
        1 / len(task.reports)
    )


def test_exploration_counts_successful_schema_and_sample_calls(
    scorer: Scorer, workspace: Workspace
) -> None:
    task = workspace.benchmark.tasks["cloud_002"]
    calls = [tool_call("get_table_schema", {"table": t}, table_name=t) for t in task.tables[:1]]
    calls.append(tool_call("sample_table_data", {"error": "unknown_table"}, table_name="Nope"))
    calls.append(tool_call("sample_table_data", {"table": "OfficeActivity"}, table_name="x"))
    c2 = scorer.score(task, Transcript(task.id, tool_calls=calls)).checkpoints["C2"]
    explored = {task.tables[0], "OfficeActivity"}
    assert c2.score == pytest.approx(jaccard(explored, set(task.tables)))
    assert "Nope" not in c2.details["explored"]


def test_iteration_needs_two_distinct_queries_with_rows(
    scorer: Scorer, workspace: Workspace
) -> None:
    task = workspace.benchmark.tasks["linux_003"]
    rows = {"rows": [{"a": 1}], "row_count": 1}

    def c3(*calls: ToolCall) -> float | None:
        return (
            scorer.score(task, Transcript(task.id, tool_calls=list(calls))).checkpoints["C3"].score
        )

    q = "execute_kql_query"
    assert c3(tool_call(q, rows, query="T | take 1"), tool_call(q, rows, query="T  |\ntake 1")) == 0
    assert (
        c3(tool_call(q, rows, query="A"), tool_call(q, {"rows": [], "row_count": 0}, query="B"))
        == 0
    )
    assert c3(tool_call(q, rows, query="A"), tool_call(q, rows, query="B")) == 1


def test_fabricated_rows_are_reported_and_change_nothing(
    scorer: Scorer, workspace: Workspace, oracle_runs: dict[str, Transcript]
) -> None:
    task = workspace.benchmark.tasks["linux_003"]
    honest = oracle_runs[task.id]
    assert honest.submission is not None
    invented = [{"DeviceName": "vm-web01", "ProcessCommandLine": "evil --steal"}] * 40
    forged = Transcript.from_jsonl(honest.to_jsonl())
    assert forged.submission is not None
    forged.submission["query_results"] = honest.submission["query_results"] + invented
    before, after = scorer.score(task, honest), scorer.score(task, forged)
    assert after.fabrication is not None
    assert after.fabrication.unseen == 40
    assert after.fabrication.not_from_query == 40
    assert after.checkpoints["C4"].details["query_results"]["unseen_rows"] == 40
    assert after.reward == before.reward


def test_rows_reported_from_a_tool_are_genuine_even_with_fewer_columns(
    scorer: Scorer, workspace: Workspace, oracle_runs: dict[str, Transcript]
) -> None:
    task = workspace.benchmark.tasks["linux_003"]
    run = Transcript.from_jsonl(oracle_runs[task.id].to_jsonl())
    assert run.submission is not None
    rows = run.submission["query_results"]
    assert rows
    run.submission["query_results"] = [{k: r[k] for k in list(r)[:2]} for r in rows]
    check = scorer.score(task, run).fabrication
    assert check is not None
    assert (check.unseen, check.not_from_query, len(check.genuine)) == (0, 0, len(rows))
    # Changing one value makes the row unseen.
    run.submission["query_results"][0] = {
        k: (v + "x" if isinstance(v, str) else v)
        for k, v in run.submission["query_results"][0].items()
    }
    assert json.dumps(run.submission)  # still JSON
    check = scorer.score(task, run).fabrication
    assert check is not None and check.unseen == 1
