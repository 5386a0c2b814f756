"""Benchmark runs as a user sees them: collection and selection, outcomes per task and
checkpoint, JUnit properties, xdist, floors and the fail-under gate, baselines,
resuming, reports, failures of one task, and usage errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SMALL = ("--ctirealm-scale=0.25",)
TWO_TASKS = ("-k", "linux_003 or aks_004")

#: A user's own agent: answers linux_003 with a lazy query, fails on aks_004, and counts
#: its runs in agent_runs.txt.
AGENT_MODULE = '''
from pathlib import Path
from pytest_ctirealm.agent.models import ModelError, ModelTurn

RULE = """title: Any curl
logsource: {product: linux, category: process_creation}
detection:
  sel:
    Image|endswith: /curl
  condition: sel
"""


class Lazy:
    name = "lazy"

    def __init__(self, task):
        self.task = task

    def respond(self, messages, tools):
        with open(Path(__file__).parent / "agent_runs.txt", "a") as log:
            log.write(self.task.id + "\\n")
        if self.task.id == "aks_004":
            raise ModelError("HTTP 503 after 5 attempts")
        import json
        return ModelTurn(text=json.dumps({
            "sigma_rule": RULE,
            "kql_query": "DeviceProcessEvents | where FileName == 'curl'",
            "query_results": [{"FileName": "curl"}],
        }))


def factory(task):
    return Lazy(task)
'''


def junit_cases(path: Path) -> dict[str, dict[str, str]]:
    root = ET.parse(path).getroot()
    cases = {}
    for case in root.iter("testcase"):
        properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        cases[f"{case.get('classname')}.{case.get('name')}"] = properties
    return cases


def suite_properties(path: Path) -> dict[str, str]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    block = suite.find("properties")
    assert block is not None
    return {p.get("name", ""): p.get("value", "") for p in block.iter("property")}


def test_tasks_and_checkpoints_are_collected_as_tests(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle", "--ctirealm-suite=25", "--co", "-q"
    )
    result.stdout.fnmatch_lines(
        [
            "ctirealm::linux_001::reward",
            "ctirealm::linux_001::C0-cti-analysis",
            "ctirealm::linux_001::C4-detection-quality",
            "*150 tests collected*",
        ]
    )
    only_aks = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle", "--ctirealm-suite=25", "--co", "-q", "-m", "aks"
    )
    only_aks.stdout.fnmatch_lines(["*54/150 tests collected (96 deselected)*"])
    c4 = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle", "--co", "-q", "-k", "C4 and cloud"
    )
    c4.stdout.fnmatch_lines(["*8/300 tests collected*"])


def test_project_tests_are_left_out_unless_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = pytester.runpytest_subprocess("--ctirealm-model=oracle", "--co", "-q", *TWO_TASKS)
    assert "test_mine" not in result.stdout.str()
    named = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle", "--co", "-q", "test_mine.py", "-k", "linux_003 or mine"
    )
    named.stdout.fnmatch_lines(["*7/* tests collected*"])


def test_the_oracle_passes_with_rewards_in_junit_and_a_summary(pytester: pytest.Pytester) -> None:
    junit = pytester.path / "out.xml"
    result = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle", *TWO_TASKS, *SMALL, "-v", f"--junitxml={junit}"
    )
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(
        [
            "*[[]ctirealm[]] linux_003 epoch 0: submitted after * tool calls*",
            "*[[]ctirealm[]] linux_003 epoch 0: reward 1.000*",
            "*ctirealm::linux_003::reward PASSED 1.00*",
            "*ctirealm benchmark*",
            "mean reward   1.000 ± 0.000*(n=2)",
            "  C4 detection quality  1.000*",
            "  aks *1 tasks",
        ]
    )
    cases = junit_cases(junit)
    reward = cases["ctirealm.linux_003.reward"]
    assert float(reward["reward"]) == 1.0
    assert float(reward["f1"]) == 1.0
    assert int(reward["tool_calls"]) > 3
    c4 = cases["ctirealm.aks_004.C4-detection-quality"]
    assert (c4["checkpoint"], float(c4["score"]), float(c4["weight"])) == ("C4", 1.0, 0.65)
    assert json.loads(c4["details"])["kql"]["recall"] == 1.0
    suite = suite_properties(junit)
    assert float(suite["ctirealm_mean_reward"]) == 1.0
    assert suite["ctirealm_model"] == "oracle"
    assert suite["ctirealm_suite"] == "ctirealm-50"


def test_xdist_runs_each_agent_once_and_gathers_results(pytester: pytest.Pytester) -> None:
    report = pytester.path / "report"
    junit = pytester.path / "out.xml"
    result = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle",
        "-k",
        "linux_003 or aks_004 or cloud_002",
        *SMALL,
        "-n",
        "2",
        f"--ctirealm-report={report}",
        f"--junitxml={junit}",
    )
    result.assert_outcomes(passed=18)
    result.stdout.fnmatch_lines(["mean reward   1.000*(n=3)"])
    results = json.loads((report / "results.json").read_text())
    assert sorted(r["task_id"] for r in results["tasks"]) == ["aks_004", "cloud_002", "linux_003"]
    assert results["summary"]["reward"]["mean"] == 1.0
    transcripts = sorted(p.name for p in (report / "transcripts").iterdir())
    assert transcripts == ["aks_004.e0.jsonl", "cloud_002.e0.jsonl", "linux_003.e0.jsonl"]
    html = (report / "report.html").read_text()
    assert "linux_003" in html and "<svg" in html
    assert float(suite_properties(junit)["ctirealm_mean_reward"]) == 1.0


def test_a_failing_task_errors_alone_and_a_low_score_fails_with_reasons(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(myagent=AGENT_MODULE)
    result = pytester.runpytest_subprocess("--ctirealm-agent=myagent:factory", *TWO_TASKS, *SMALL)
    result.assert_outcomes(failed=6, errors=6)
    output = result.stdout.str()
    assert "Traceback" not in output and "HookCallError" not in output
    assert "aks_004 could not be scored: epoch 0: model failed: HTTP 503 after 5 attempts" in output
    # The lazy agent did no analysis, and its query pays in precision; the reasons are
    # spelled out.
    assert "C4 detection quality: " in output and "is below the floor 0.50" in output
    assert "KQL: F1" in output and "false positives" in output
    assert "C3 query iteration: 0.000 is below the floor 1.00" in output
    result.stdout.fnmatch_lines(["errors: 1 runs could not be scored:", "  aks_004 epoch 0: *503*"])


def test_fail_under_gates_on_the_mean_not_on_one_task(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(myagent=AGENT_MODULE)
    args = ("--ctirealm-agent=myagent:factory", "-k", "linux_003", *SMALL)
    lenient = pytester.runpytest_subprocess(*args, "--ctirealm-fail-under=0.01")
    assert lenient.ret == pytest.ExitCode.OK
    lenient.assert_outcomes(failed=6)
    lenient.stdout.fnmatch_lines(["fail-under 0.010: mean reward * passes"])
    strict = pytester.runpytest_subprocess(*args, "--ctirealm-fail-under=0.5")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines(["fail-under 0.500: mean reward * FAILS"])


def test_submissions_are_scored_without_an_agent(pytester: pytest.Pytester) -> None:
    answers = pytester.mkdir("answers")
    (answers / "linux_003.json").write_text(
        json.dumps(
            {
                "sigma_rule": "title: x",
                "kql_query": "DeviceProcessEvents | take 0",
                "query_results": [],
            }
        )
    )
    (answers / "aks_004.json").write_text("{not json")
    result = pytester.runpytest_subprocess(
        "--ctirealm-submissions=answers", *TWO_TASKS, *SMALL, "--ctirealm-floor=reward=0"
    )
    output = result.stdout.str()
    # No trajectory: C0-C3 are 0; the empty query finds nothing; a broken file scores 0.
    result.assert_outcomes(passed=2, failed=10)
    assert "aks_004" in output and "not JSON" in output


def _pinned_answer(task_id: str, seed: int = 0, scale: float = 0.25) -> dict[str, object]:
    """The laziest answer that solved the old benchmark: the ids of the events seen while
    exploring, with the reference Sigma rule (which detects the behaviour)."""
    from pytest_ctirealm.dataset import load_benchmark
    from pytest_ctirealm.telemetry.simulator import generate

    benchmark = load_benchmark()
    task = benchmark.tasks[task_id]
    positives = generate(seed=seed, scale=scale).positives(list(task.positives))
    ((table, keys),) = positives.items()
    ids = ", ".join(str(report) for _, report in keys)
    return {
        "kql_query": f"{table} | where ReportId in ({ids})",
        "sigma_rule": benchmark.references[task_id].sigma,
        "query_results": [],
    }


def test_detections_are_scored_on_telemetry_the_agent_never_saw(
    pytester: pytest.Pytester,
) -> None:
    """C4 is the mean over unseen telemetries: pinning the explored event ids scores on
    the explored one only, and the gap is reported everywhere."""
    answers = pytester.mkdir("answers")
    (answers / "linux_001.json").write_text(json.dumps(_pinned_answer("linux_001")))
    junit = pytester.path / "out.xml"
    args = (
        "--ctirealm-submissions=answers",
        "-k",
        "linux_001",
        *SMALL,
        "--ctirealm-floor=reward=0",
    )
    held_out = pytester.runpytest_subprocess(*args, f"--junitxml={junit}", "--ctirealm-report=rep")
    held_out.stdout.fnmatch_lines(
        [
            "*holdout 2*",
            "generalisation (2 unseen telemetries): C4 explored 1.000 -> unseen 0.231*",
            "  linux: C4 explored 1.000 -> unseen 0.231, gap 0.769",
        ]
    )
    reward = junit_cases(junit)["ctirealm.linux_001.reward"]
    assert float(reward["f1_explored"]) == 1.0
    assert float(reward["f1"]) == 0.0  # the pinned ids are other events elsewhere
    # The Sigma rule (the reference's) detects the behaviour: its share is all that is left.
    assert float(reward["c4_unseen"]) == pytest.approx(1.5 / 6.5, abs=1e-6)
    assert float(reward["generalisation_gap"]) == pytest.approx(5.0 / 6.5, abs=1e-6)
    c4 = json.loads(junit_cases(junit)["ctirealm.linux_001.C4-detection-quality"]["details"])
    assert c4["scored_on"] == "unseen" and len(c4["unseen"]) == 2
    assert {u["seed"] for u in c4["unseen"]}.isdisjoint({0})
    assert float(suite_properties(junit)["ctirealm_generalisation_gap"]) == pytest.approx(
        5 / 6.5, abs=1e-6
    )
    record = json.loads((pytester.path / "rep" / "results.json").read_text())["tasks"][0]
    assert record["detection"]["telemetries"] == "unseen"
    assert record["detection"]["explored"]["f1"] == 1.0
    assert "generalisation gap" in (pytester.path / "rep" / "report.html").read_text()

    explored_only = pytester.runpytest_subprocess(
        *args, "--ctirealm-holdout=0", f"--junitxml={junit}"
    )
    assert "generalisation" not in explored_only.stdout.str()
    reward = junit_cases(junit)["ctirealm.linux_001.reward"]
    assert float(reward["C4"]) == pytest.approx(1.0)
    assert "c4_unseen" not in reward


def test_baselines_record_and_catch_drops(pytester: pytest.Pytester) -> None:
    baseline = pytester.path / "baseline.json"
    recorded = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle",
        "-k",
        "linux_003",
        *SMALL,
        f"--ctirealm-baseline={baseline}",
        "--ctirealm-update-baseline",
    )
    recorded.assert_outcomes(passed=6)
    assert json.loads(baseline.read_text())["tasks"] == {"linux_003": 1.0}
    pytester.makepyfile(myagent=AGENT_MODULE)
    worse = pytester.runpytest_subprocess(
        "--ctirealm-agent=myagent:factory",
        "-k",
        "linux_003",
        *SMALL,
        f"--ctirealm-baseline={baseline}",
        "--ctirealm-floor=reward=0",
        "--ctirealm-fail-under=0",
    )
    assert worse.ret == pytest.ExitCode.TESTS_FAILED
    worse.stdout.fnmatch_lines(
        [
            "*reward fell from 1.000 to * against the baseline*",
            "baseline: mean reward fell from 1.000*",
        ]
    )
    other_suite = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle", "--ctirealm-suite=25", f"--ctirealm-baseline={baseline}"
    )
    assert other_suite.ret == pytest.ExitCode.USAGE_ERROR
    other_suite.stderr.fnmatch_lines(
        ["*recorded on suite 'ctirealm-50', this run is 'ctirealm-25'*"]
    )


def test_resume_keeps_finished_runs_and_retries_failed_ones(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(myagent=AGENT_MODULE)
    args = ("--ctirealm-agent=myagent:factory", *TWO_TASKS, *SMALL)
    log = pytester.path / "agent_runs.txt"
    pytester.runpytest_subprocess(*args)
    assert sorted(log.read_text().split()) == ["aks_004", "linux_003"]
    log.unlink()
    resumed = pytester.runpytest_subprocess(*args, "--ctirealm-resume")
    resumed.assert_outcomes(failed=6, errors=6)
    # The finished run was kept; the failed one was tried again.
    assert log.read_text().split() == ["aks_004"]
    log.unlink()
    pytester.runpytest_subprocess(*args)
    assert sorted(log.read_text().split()) == ["aks_004", "linux_003"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--ctirealm-model=oracle", "--ctirealm-suite=12"],
            "*--ctirealm-suite: '12' is not a suite*",
        ),
        (
            ["--ctirealm-model=gpt-4"],
            "*--ctirealm-model: model spec 'gpt-4' is not provider/model*",
        ),
        (
            ["--ctirealm-model=oracle", "--ctirealm-agent=a:b"],
            "*choose one way to produce answers*",
        ),
        (["--ctirealm-agent=no_such_module:f"], "*cannot import 'no_such_module'*"),
        (["--ctirealm-submissions=missing"], "*missing is not a folder*"),
        (
            ["--ctirealm-model=oracle", "--ctirealm-floor=C9=1"],
            "*--ctirealm-floor: 'C9=1' must be NAME=VALUE*",
        ),
        (["--ctirealm-model=oracle", "--ctirealm-variant=huge"], "*--ctirealm-variant: 'huge'*"),
        (["--ctirealm-model=oracle", "--ctirealm-engine=adx"], "*needs --ctirealm-cluster*"),
        (["--ctirealm-model=oracle", "--ctirealm-holdout=-1"], "*--ctirealm-holdout: -1 is not*"),
        (["--ctirealm-model=oracle", "--ctirealm-holdout=11"], "*--ctirealm-holdout: 11 is not*"),
    ],
)
def test_bad_settings_are_usage_errors(
    pytester: pytest.Pytester, arguments: list[str], message: str
) -> None:
    result = pytester.runpytest_subprocess(*arguments)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_settings_come_from_the_ini_file_too(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nctirealm_model = oracle\nctirealm_suite = 25\n")
    result = pytester.runpytest_subprocess("--co", "-q")
    result.stdout.fnmatch_lines(["*150 tests collected*"])


#: An agent that answers aks_004 at once and is interrupted (Ctrl-C) on linux_003.
INTERRUPTED_MODULE = """
import json
from pathlib import Path
from pytest_ctirealm.agent.models import ModelTurn


class Agent:
    name = "interrupted"

    def __init__(self, task):
        self.task = task

    def respond(self, messages, tools):
        with open(Path(__file__).parent / "agent_runs.txt", "a") as log:
            log.write(self.task.id + "\\n")
        if self.task.id == "linux_003" and not (Path(__file__).parent / "calm").exists():
            raise KeyboardInterrupt
        return ModelTurn(text=json.dumps({
            "sigma_rule": "title: x\\nlogsource: {product: linux}\\ndetection: {s: {a: b}, condition: s}\\n",
            "kql_query": "AKSAudit | take 1",
            "query_results": [],
        }))


def factory(task):
    return Agent(task)
"""


def test_a_cancelled_run_resumes_without_redoing_finished_tasks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(agent_module=INTERRUPTED_MODULE)
    args = ("--ctirealm-agent=agent_module:factory", *TWO_TASKS, *SMALL)
    log = pytester.path / "agent_runs.txt"
    cancelled = pytester.runpytest_subprocess(*args)
    assert cancelled.ret == pytest.ExitCode.INTERRUPTED
    assert log.read_text().split() == ["aks_004", "linux_003"]
    log.unlink()
    (pytester.path / "calm").touch()
    resumed = pytester.runpytest_subprocess(*args, "--ctirealm-resume")
    resumed.assert_outcomes(failed=12)
    assert log.read_text().split() == ["linux_003"]


def test_epochs_run_apart_and_the_summary_shows_their_spread(pytester: pytest.Pytester) -> None:
    report = pytester.path / "report"
    result = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle",
        "-k",
        "linux_003",
        *SMALL,
        "--ctirealm-epochs=2",
        f"--ctirealm-report={report}",
    )
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["epochs: means 1.000, 1.000; std of epoch means 0.000*"])
    names = sorted(p.name for p in (report / "transcripts").iterdir())
    assert names == ["linux_003.e0.jsonl", "linux_003.e1.jsonl"]


def test_a_broken_task_catalogue_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_ctirealm.dataset import DatasetError, catalog

    def broken(*args: object, **kwargs: object) -> None:
        raise DatasetError(Path("tasks/linux_001.yaml"), "techniques", "'T12' is not an ATT&CK id")

    monkeypatch.setattr(catalog, "load_benchmark", broken)
    monkeypatch.setattr("pytest_ctirealm.workspace.load_benchmark", broken)
    result = pytester.runpytest("--ctirealm-model=oracle", "--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*the benchmark's tasks do not load: *linux_001.yaml*techniques*T12*"]
    )
