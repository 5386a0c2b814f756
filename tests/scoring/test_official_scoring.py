"""Scoring over the official CTI-REALM layout (the fixture in tests/official_fixture.py):
the workspace the tools and scorer see, C4 from the re-run query's rows against the regex
ground truth (lab gates on), fabricated rows that never raise a score, Sigma rules run
and scored the same way, and C0 without and with a judge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ctirealm.agent.loop import run_task
from pytest_ctirealm.agent.models import ModelTurn, ScriptedModel, ToolRequest
from pytest_ctirealm.agent.tools import ToolBox
from pytest_ctirealm.agent.transcript import Transcript
from pytest_ctirealm.dataset import Task
from pytest_ctirealm.official_workspace import (
    NoSimulatedTelemetryError,
    OfficialWorkspace,
    task_title,
)
from pytest_ctirealm.scoring.checkpoints import TaskScore
from pytest_ctirealm.scoring.detection import KQL_SHARE, SIGMA_SHARE
from pytest_ctirealm.scoring.judge import Judge
from pytest_ctirealm.scoring.official import OfficialScorer
from pytest_ctirealm.sigma.library import index_rule
from tests.official_fixture import AKS_MARKER, LINUX_MARKER, write_official_fixture
from tests.scoring.conftest import submitted

#: linux_001's attack (row 101): apt-get starts sh with the marker in its command line.
PRECISE = "DeviceProcessEvents | where InitiatingProcessFileName == 'apt-get' and FileName == 'sh'"
#: Every process row: the attack and two rows that match none of linux_001's patterns.
NOISY = "DeviceProcessEvents"
MARKER_RULE = f"""title: APT hook shell
logsource: {{product: linux, category: process_creation}}
detection:
  sel:
    CommandLine|contains: {LINUX_MARKER}
  condition: sel
"""
ANY_PROCESS_RULE = """title: Any process of a user
logsource: {product: linux, category: process_creation}
detection:
  sel:
    User|startswith: a
  condition: sel
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfficialWorkspace]:
    ws = OfficialWorkspace.load(write_official_fixture(tmp_path_factory.mktemp("official")))
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def scorer(workspace: OfficialWorkspace) -> OfficialScorer:
    return OfficialScorer(workspace)


def task(workspace: OfficialWorkspace, task_id: str) -> Task:
    return workspace.benchmark.tasks[task_id]


def answer(kql: str, sigma: str = "", rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"sigma_rule": sigma, "kql_query": kql, "query_results": rows or []}


def scripted_run(
    workspace: OfficialWorkspace, task_id: str, calls: list[tuple[str, dict[str, Any]]], final: Any
) -> Transcript:
    """A run that makes *calls* (one turn each) and then submits *final*."""
    turns = [
        ModelTurn(tool_requests=(ToolRequest(f"c{i}", name, args),))
        for i, (name, args) in enumerate(calls)
    ]
    turns.append(ModelTurn(text=json.dumps(final)))
    return run_task(task(workspace, task_id), workspace, ScriptedModel(turns))


# -- the workspace -------------------------------------------------------------------


def test_official_tasks_become_benchmark_tasks(workspace: OfficialWorkspace) -> None:
    linux = task(workspace, "linux_001")
    assert (linux.platform, linux.tables) == ("linux", ("DeviceProcessEvents",))
    assert linux.techniques == ("T1546", "T1059.004")
    assert (linux.reports, linux.positives) == ((), ())
    assert linux.title.startswith("Package-manager hooks on our Linux servers may be")
    assert linux.title.endswith(" each...") and len(linux.title) <= 80
    assert linux.path.name == "dataset_samples_stratified_50.jsonl"
    assert [t.id for t in workspace.benchmark.suite("ctirealm-25")] == ["aks_001", "linux_001"]
    assert len(workspace.benchmark.suite("all")) == 4
    assert workspace.benchmark.references == {}
    assert task_title("Short one. Then more.") == "Short one."


def test_tables_end_and_now_come_from_the_loaded_files(workspace: OfficialWorkspace) -> None:
    tools = ToolBox(workspace)
    listing = json.loads(tools.call("list_kusto_tables"))
    rows = {t["name"]: t["rows"] for t in listing["tables"]}
    assert (rows["DeviceProcessEvents"], rows["AKSAuditAdmin"], len(rows)) == (3, 2, 12)
    # The latest TimeGenerated of the 12 files is AKSAuditAdmin's a-3.
    assert listing["data_ends"] == "2025-10-31T16:30:00Z"
    now = json.loads(tools.call("execute_kql_query", {"query": "print now()"}))
    assert now["rows"] == [{"print_0": "2025-10-31T16:30:00Z"}]
    with pytest.raises(NoSimulatedTelemetryError, match="no simulated telemetry"):
        _ = workspace.telemetry


def test_the_sigma_tool_searches_the_official_index(workspace: OfficialWorkspace) -> None:
    tools = ToolBox(workspace)

    def titles(**arguments: Any) -> list[str]:
        result = json.loads(tools.call("search_sigma_rules", arguments))
        for rule in result["rules"]:  # the shape the library's results have
            assert set(rule) == {"title", "id", "description", "tags", "logsource", "level", "rule"}
        return [r["title"] for r in result["rules"]]

    assert titles(keyword="apt") == ["Shell spawned by APT hook"]
    assert titles(technique_id="T1566") == ["Device code sign-in"]  # T1566.002 by parent
    assert titles(platform="cloud") == ["Device code sign-in"]  # its platform is azure
    assert titles(platform="linux", keyword="device") == []
    # The packaged library is not what this workspace searches.
    assert titles(keyword="kubectl") == []


def test_an_index_entry_carrying_sigma_yaml_shows_it() -> None:
    rule = index_rule(
        {
            "title": "t",
            "description": "d",
            "techniques": ["T1105"],
            "platform": "Linux",
            "rule": MARKER_RULE,
        },
        Path("sigma_rules.json"),
    )
    assert rule.text == MARKER_RULE
    assert (rule.product, rule.techniques) == ("linux", {"T1105"})


# -- C4: the re-run query against the regex ground truth ------------------------------


def score(
    scorer: OfficialScorer, task_id: str, submission: dict[str, Any] | None, **kwargs: Any
) -> TaskScore:
    workspace = scorer.workspace
    return scorer.score(task(workspace, task_id), submitted(task_id, submission, **kwargs))


def test_a_precise_query_and_rule_score_full_marks(scorer: OfficialScorer) -> None:
    outcome = score(scorer, "linux_001", answer(PRECISE, MARKER_RULE))
    c4 = outcome.checkpoints["C4"]
    # One row, matching all three patterns: row F1 1.0 (x 1.05 bonus, capped at 1).
    assert c4.details["kql"]["rows"] == 1
    assert c4.details["kql"]["score"] == 1.0
    # The rule converts, runs and returns the same row: 0.25 x 1 + 0.75 x 1.
    assert c4.details["sigma"]["quality"] == 1.0
    assert c4.score == pytest.approx(1.0)
    assert outcome.detection is not None
    assert outcome.detection["scoring"] == "row-regex"
    assert (outcome.detection["precision"], outcome.detection["recall"]) == (1.0, 1.0)
    assert outcome.status == "scored" and outcome.reward == pytest.approx(0.65)


def test_a_noisy_query_scores_lower_precision(scorer: OfficialScorer) -> None:
    precise = score(scorer, "linux_001", answer(PRECISE))
    noisy = score(scorer, "linux_001", answer(NOISY))
    assert precise.detection is not None and noisy.detection is not None
    # Three rows, one of which matches any pattern: row precision 1/3, recall 1, row F1
    # 0.5, one perfect row: x 1.05 = 0.525.
    assert noisy.detection["precision"] == pytest.approx(1 / 3)
    assert noisy.detection["recall"] == 1.0
    assert noisy.detection["false_positives"] == 2
    assert noisy.checkpoints["C4"].details["kql"]["score"] == pytest.approx(0.525)
    assert noisy.detection["precision"] < precise.detection["precision"]
    precise_c4, noisy_c4 = precise.checkpoints["C4"].score, noisy.checkpoints["C4"].score
    assert precise_c4 is not None and noisy_c4 is not None
    assert noisy_c4 == pytest.approx(KQL_SHARE * 0.525) and noisy_c4 < precise_c4


def test_the_lab_gate_zeroes_rows_from_outside_the_lab(scorer: OfficialScorer) -> None:
    # The attack's row, with DeviceName projected away: every pattern matches, yet the
    # released scorer wants a row from the lab's Linux VM.
    kql = f"{PRECISE} | project FileName, ProcessCommandLine, InitiatingProcessFileName"
    outcome = score(scorer, "linux_001", answer(kql))
    kql_details = outcome.checkpoints["C4"].details["kql"]
    assert kql_details["f1"] == 1.0 and kql_details["score"] == 0.0
    assert "DeviceName" in kql_details["lab_gate"]
    # AKS rows must fall on the lab day: a-2 does, re-run times are ISO text as shown.
    aks = score(scorer, "aks_001", answer(f"AKSAuditAdmin | where UserAgent has '{AKS_MARKER}'"))
    assert aks.checkpoints["C4"].details["kql"]["score"] == 1.0


def test_fabricated_rows_never_raise_a_score(
    workspace: OfficialWorkspace, scorer: OfficialScorer
) -> None:
    empty = "DeviceProcessEvents | where FileName == 'no-such-binary'"
    perfect_row = {
        "DeviceName": "arjunc-cti-vm-3.wqgilo2whriehm0ezwjionoa3a.xx.internal.cloudapp.net",
        "InitiatingProcessFileName": "apt-get",
        "ProcessCommandLine": f"sh -c {LINUX_MARKER}",
        "FileName": "sh",
    }
    honest = score(scorer, "linux_001", answer(empty))
    lying = score(scorer, "linux_001", answer(empty, rows=[perfect_row] * 3))
    assert lying.checkpoints["C4"].score == honest.checkpoints["C4"].score == 0.0
    assert lying.compat == honest.compat == 0.0
    assert lying.fabrication is not None and lying.fabrication.unseen == 3
    # An agent that really ran the query and reports its row gets the compat credit;
    # adding an invented row beside it changes nothing.
    calls = [("execute_kql_query", {"query": PRECISE})]
    shown = {"DeviceName": perfect_row["DeviceName"], "FileName": "sh", "ReportId": "101"}
    real = scorer.score(
        task(workspace, "linux_001"),
        scripted_run(workspace, "linux_001", calls, answer(PRECISE, MARKER_RULE, [shown])),
    )
    padded = scorer.score(
        task(workspace, "linux_001"),
        scripted_run(
            workspace, "linux_001", calls, answer(PRECISE, MARKER_RULE, [shown, perfect_row])
        ),
    )
    assert real.compat_details["rows"] == padded.compat_details["rows"] == 1
    assert real.compat == padded.compat and real.compat is not None and real.compat > 0
    assert real.checkpoints["C4"].score == padded.checkpoints["C4"].score


def test_sigma_rules_are_run_and_their_rows_scored(scorer: OfficialScorer) -> None:
    outcome = score(scorer, "linux_001", answer(PRECISE, ANY_PROCESS_RULE))
    sigma = outcome.checkpoints["C4"].details["sigma"]
    # alice's two rows (ls, curl) match no pattern: row score 0, so quality is syntax only.
    assert (sigma["rows"], sigma["score"], sigma["quality"]) == (2, 0.0, 0.25)
    assert sigma["rules"][0]["table"] == "DeviceProcessEvents"
    broken = score(scorer, "linux_001", answer(PRECISE, "title: [unclosed"))
    assert broken.checkpoints["C4"].details["sigma"]["quality"] == 0.0
    assert outcome.checkpoints["C4"].score == pytest.approx(KQL_SHARE + SIGMA_SHARE * 0.25)


def test_no_submission_scores_zero_with_the_reason(scorer: OfficialScorer) -> None:
    outcome = score(scorer, "cloud_001", None, error="no valid answer within 70 messages")
    assert outcome.checkpoints["C4"].score == 0.0
    assert "no valid answer" in outcome.checkpoints["C4"].details["reason"]
    assert outcome.detection is None and outcome.reward == 0.0


# -- C0 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_id", "tag", "expected"),
    [
        ("linux_001", "linux", 1.0),  # tag "linux": the objective speaks of Linux servers
        ("cloud_001", "linux", 0.0),  # nothing of that report is in a phishing objective
        ("cloud_001", "phishing", 1.0),
    ],
)
def test_c0_needs_a_report_that_shares_something_with_the_task(
    workspace: OfficialWorkspace, scorer: OfficialScorer, task_id: str, tag: str, expected: float
) -> None:
    run = scripted_run(
        workspace, task_id, [("get_cti_reports_by_tag", {"tag": tag})], answer(NOISY, MARKER_RULE)
    )
    c0 = scorer.score(task(workspace, task_id), run).checkpoints["C0"]
    assert c0.score == expected
    assert bool(c0.details["sharing"]) == bool(expected)


def test_c0_is_zero_without_a_cti_tool(scorer: OfficialScorer) -> None:
    c0 = score(scorer, "linux_001", answer(PRECISE)).checkpoints["C0"]
    assert (c0.score, c0.details["reason"]) == (0.0, "no CTI tool was called")


def test_with_a_judge_c0_and_sigma_specificity_are_the_judges(
    workspace: OfficialWorkspace,
) -> None:
    verdicts = [
        ModelTurn(text='{"score": 0.4, "reason": "partly on topic"}'),
        ModelTurn(text='{"score": 0.5, "reason": "broad"}'),
    ]
    judged = OfficialScorer(workspace, judge=Judge(ScriptedModel(verdicts, name="judge")))
    run = scripted_run(
        workspace,
        "linux_001",
        [("get_cti_reports_by_tag", {"tag": "linux"})],
        answer(PRECISE, ANY_PROCESS_RULE),
    )
    outcome = judged.score(task(workspace, "linux_001"), run)
    c0 = outcome.checkpoints["C0"]
    assert (c0.score, c0.details["deterministic"], c0.details["scored"]) == (0.4, 1.0, "judge")
    # 0.25 x syntax 1 + 0.75 x mean(row score 0, judge 0.5).
    assert outcome.checkpoints["C4"].details["sigma"]["quality"] == pytest.approx(0.4375)
    # A judge without a verdict leaves the run unscored, never 0.
    silent = OfficialScorer(workspace, judge=Judge(ScriptedModel([], name="judge")))
    failed = silent.score(task(workspace, "linux_001"), run)
    assert failed.status == "error" and failed.reward is None
    assert "relevance judge" in (failed.error or "")
