"""The optional LLM judge through a real provider model (the OpenAI SDK against a local
stand-in server): verdicts parsed, failures left unscored with their reason (never 0),
verdicts cached, judged and deterministic scores side by side, and a benchmark run with
``--ctirealm-grader`` showing the judge in JUnit."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ctirealm.agent.loop import run_task
from pytest_ctirealm.agent.models import ModelTurn, ScriptedModel
from pytest_ctirealm.agent.oracle import OracleModel
from pytest_ctirealm.agent.transcript import Transcript
from pytest_ctirealm.dataset import Task
from pytest_ctirealm.scoring.checkpoints import Scorer, TaskScore
from pytest_ctirealm.scoring.detection import KQL_SHARE, SIGMA_SHARE
from pytest_ctirealm.scoring.judge import (
    PROMPT_VERSION,
    Judge,
    JudgeError,
    make_judge,
    parse_verdict,
)
from pytest_ctirealm.scoring.judge import (
    RELEVANCE_SYSTEM as RELEVANCE,
)
from pytest_ctirealm.workspace import Workspace
from tests.agent.standin_servers import Recorded, Reply, StandinServer, clean_environment
from tests.scoring.conftest import submitted

JUDGE = "openai/judge"
TASK = "linux_003"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    """An OpenAI-protocol stand-in, with no real provider reachable from the environment."""
    clean_environment(monkeypatch)
    standin = StandinServer("openai")
    try:
        yield standin
    finally:
        standin.close()


@pytest.fixture(scope="module")
def oracle_run(workspace: Workspace) -> Transcript:
    """The oracle's run of linux_003: it reads CTI reports and submits the reference."""
    task = workspace.benchmark.tasks[TASK]
    return run_task(task, workspace, OracleModel(task, workspace.benchmark))


@pytest.fixture
def task(workspace: Workspace) -> Task:
    return workspace.benchmark.tasks[TASK]


def judge_on(server: StandinServer, cache: Path | None, spec: str = JUDGE) -> Judge:
    """A judge on the stand-in: one retry, and no real waiting between attempts."""
    return make_judge(spec, cache, base_url=server.base_url, max_retries=1, sleep=lambda _: None)


def verdict(score: float, reason: str) -> str:
    return json.dumps({"score": score, "reason": reason})


# -- the reply format ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"score": 0.8, "reason": "on topic"}', (0.8, "on topic")),
        ('```json\n{"score": 1, "reason": "exact"}\n```', (1.0, "exact")),
        ('Here it is:\n```\n{"score": 0, "reason": " none "}\n```\nThanks', (0.0, "none")),
        ('  {"score": 0.5, "reason": "", "extra": true}  ', (0.5, "")),
    ],
)
def test_a_verdict_is_json_bare_or_fenced(reply: str, expected: tuple[float, str]) -> None:
    assert parse_verdict(reply) == expected


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("", "empty"),
        ("The rule is quite specific, I would say 0.9.", "not a JSON object"),
        ('Score: {"score": 0.9, "reason": "x"}', "not a JSON object"),
        ("```json\n{score: 0.9}\n```", "fenced reply is not JSON"),
        ("[0.9]", "not an object"),
        ('{"reason": "no score"}', "no numeric 'score'"),
        ('{"score": "0.9", "reason": "text score"}', "no numeric 'score'"),
        ('{"score": true, "reason": "a boolean"}', "no numeric 'score'"),
        ('{"score": 1.5, "reason": "too high"}', "outside [0, 1]"),
        ('{"score": -0.1, "reason": "too low"}', "outside [0, 1]"),
        ('{"score": NaN, "reason": "not a number"}', "outside [0, 1]"),
        ('{"score": 0.9}', "no 'reason'"),
    ],
)
def test_anything_else_is_a_judge_error_saying_why(reply: str, why: str) -> None:
    with pytest.raises(JudgeError, match=re.escape(why)):
        parse_verdict(reply)


# -- scoring with a judge --------------------------------------------------------------


def test_judge_scores_sit_beside_the_deterministic_ones(
    server: StandinServer,
    workspace: Workspace,
    task: Task,
    oracle_run: Transcript,
    scorer: Scorer,
    tmp_path: Path,
) -> None:
    server.script(
        server.text(verdict(0.8, "the reports describe this crew")),
        server.text("```json\n" + verdict(0.4, "matches any curl to /tmp") + "\n```"),
    )
    judged = Scorer(workspace, judge=judge_on(server, tmp_path)).score(task, oracle_run)
    plain = scorer.score(task, oracle_run)

    c0 = judged.checkpoints["C0"]
    assert c0.score == 0.8
    assert c0.details["deterministic"] == plain.checkpoints["C0"].score == 1.0
    assert c0.details["judge"] == {
        "model": JUDGE,
        "score": 0.8,
        "reason": "the reports describe this crew",
    }
    c4 = judged.checkpoints["C4"]
    sigma = c4.details["sigma"]
    assert sigma["deterministic"] == 1.0
    assert sigma["judge"]["score"] == 0.4
    # 0.25 x syntax + 0.75 x mean(executed F1 1.0, judge 0.4)
    assert sigma["quality"] == pytest.approx(0.25 + 0.75 * 0.7)
    c4_expected = KQL_SHARE + SIGMA_SHARE * 0.775
    assert c4.score == pytest.approx(c4_expected)
    for name in ("C1", "C2", "C3"):
        assert judged.checkpoints[name].score == plain.checkpoints[name].score == 1.0
    assert judged.reward == pytest.approx(0.125 * 0.8 + 0.225 + 0.65 * c4_expected)
    # compat grades the Sigma rule as the reference did: 0.25 syntax + 0.75 judge.
    drop = plain.compat_details["compat_c4"] - judged.compat_details["compat_c4"]
    assert drop == pytest.approx(1.5 * (1.0 - (0.25 + 0.75 * 0.4)))

    relevance, specificity = server.bodies
    for body in (relevance, specificity):
        assert body["model"] == "judge"
        assert body["temperature"] == 0
        assert "tools" not in body
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert task.objective.strip() in body["messages"][1]["content"]
    asked = relevance["messages"][1]["content"]
    for report in task.reports:
        assert report in asked
        assert workspace.benchmark.reports[report].title in asked
    rule = oracle_run.submission["sigma_rule"] if oracle_run.submission else ""
    assert rule.strip() in specificity["messages"][1]["content"]


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("The analyst read the right reports.", "not a JSON object"),
        (verdict(7, "great"), "outside [0, 1]"),
    ],
)
def test_an_unusable_reply_leaves_the_checkpoint_unscored(
    server: StandinServer,
    workspace: Workspace,
    task: Task,
    oracle_run: Transcript,
    tmp_path: Path,
    reply: str,
    why: str,
) -> None:
    server.script(server.text(reply), server.text(verdict(1.0, "specific")))
    score = Scorer(workspace, judge=judge_on(server, tmp_path)).score(task, oracle_run)
    c0 = score.checkpoints["C0"]
    assert c0.score is None
    assert c0.error is not None and why in c0.error and JUDGE in c0.error
    assert c0.details["judge"]["error"] and c0.details["deterministic"] == 1.0
    assert score.checkpoints["C4"].score == pytest.approx(1.0)
    _assert_error_outcome(score, "C0: relevance judge", why)
    # Only C4's verdict is cached: a failure is asked again next time.
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_a_provider_failing_after_its_retries_leaves_the_checkpoint_unscored(
    server: StandinServer, workspace: Workspace, task: Task, oracle_run: Transcript
) -> None:
    server.script(
        server.error(500, "upstream exploded"),
        server.error(500, "upstream exploded"),
        server.text(verdict(0.9, "specific")),
    )
    score = Scorer(workspace, judge=judge_on(server, None)).score(task, oracle_run)
    assert len(server.requests) == 3  # two attempts for C0, one for C4
    c0 = score.checkpoints["C0"]
    assert c0.score is None
    assert c0.error is not None and "500" in c0.error and "2 attempts" in c0.error
    assert score.checkpoints["C4"].details["sigma"]["judge"]["score"] == 0.9
    _assert_error_outcome(score, "C0: relevance judge", "upstream exploded")


def test_a_failing_specificity_judge_leaves_c4_unscored(
    server: StandinServer, workspace: Workspace, task: Task, oracle_run: Transcript
) -> None:
    server.script(server.text(verdict(1.0, "on topic")), server.text("no idea"))
    score = Scorer(workspace, judge=judge_on(server, None)).score(task, oracle_run)
    c4 = score.checkpoints["C4"]
    assert c4.score is None
    assert c4.details["sigma"]["judge"]["error"]
    assert c4.details["kql"]["f1"] == 1.0  # the deterministic evidence is still shown
    _assert_error_outcome(score, "C4: Sigma specificity judge", "not a JSON object")


def _assert_error_outcome(score: TaskScore, where: str, why: str) -> None:
    assert score.status == "error"
    assert score.reward is None and score.compat is None
    assert score.error is not None and where in score.error and why in score.error


def test_verdicts_are_cached_and_a_corrupt_cache_is_ignored(
    server: StandinServer,
    workspace: Workspace,
    task: Task,
    oracle_run: Transcript,
    tmp_path: Path,
) -> None:
    cache = tmp_path / "judge"
    server.script(server.text(verdict(0.7, "close")), server.text(verdict(0.6, "broad")))
    first = Scorer(workspace, judge=judge_on(server, cache)).score(task, oracle_run)
    assert len(server.requests) == 2
    files = sorted(cache.glob("*.json"))
    assert len(files) == 2
    assert {json.loads(f.read_text())["prompt_version"] for f in files} == {PROMPT_VERSION}

    # A new judge over the same folder asks the server nothing.
    again = Scorer(workspace, judge=judge_on(server, cache)).score(task, oracle_run)
    assert len(server.requests) == 2
    assert again.reward == first.reward
    assert again.checkpoints["C0"].details == first.checkpoints["C0"].details
    assert again.checkpoints["C4"].details["sigma"] == first.checkpoints["C4"].details["sigma"]

    # Another judge model is another verdict.
    server.script(server.text(verdict(0.2, "off")), server.text(verdict(0.3, "meh")))
    other = Scorer(workspace, judge=judge_on(server, cache, "openai/other-judge"))
    assert other.score(task, oracle_run).checkpoints["C0"].score == 0.2
    assert len(server.requests) == 4

    # Damaged files are not verdicts: the judge is asked again and the files rewritten.
    files[0].write_text("{not json")
    files[1].write_text(json.dumps({"score": 3, "reason": "tampered"}))
    server.script(server.text(verdict(0.7, "close")), server.text(verdict(0.6, "broad")))
    repaired = Scorer(workspace, judge=judge_on(server, cache)).score(task, oracle_run)
    assert len(server.requests) == 6
    assert repaired.reward == first.reward
    assert all(json.loads(f.read_text())["score"] in (0.7, 0.6) for f in files)
    assert not list(cache.glob(".*"))  # no temporary files left behind


def test_no_cti_call_means_no_relevance_question(
    server: StandinServer, workspace: Workspace, task: Task, tmp_path: Path
) -> None:
    reference = workspace.benchmark.references[TASK]
    submission = {"sigma_rule": reference.sigma, "kql_query": reference.kql}
    server.script(server.text(verdict(0.9, "specific")))
    score = Scorer(workspace, judge=judge_on(server, tmp_path)).score(
        task, submitted(TASK, submission)
    )
    c0 = score.checkpoints["C0"]
    assert (c0.score, c0.details["reason"]) == (0.0, "no CTI tool was called")
    assert "judge" not in c0.details
    assert len(server.requests) == 1  # the Sigma specificity only
    assert "Sigma rule" in server.bodies[0]["messages"][1]["content"]
    assert score.status == "scored" and score.reward is not None


def test_an_empty_rule_is_not_sent_to_the_judge(
    server: StandinServer, workspace: Workspace, task: Task, tmp_path: Path
) -> None:
    reference = workspace.benchmark.references[TASK]
    submission = {"sigma_rule": "  ", "kql_query": reference.kql}
    score = Scorer(workspace, judge=judge_on(server, tmp_path)).score(
        task, submitted(TASK, submission)
    )
    assert server.requests == []
    sigma = score.checkpoints["C4"].details["sigma"]
    assert sigma["judge"]["skipped"] == "no Sigma rule was submitted"
    assert sigma["quality"] == sigma["deterministic"] == 0.0
    assert score.checkpoints["C4"].score == pytest.approx(KQL_SHARE)


def test_the_cache_key_covers_the_judge_and_the_prompt(tmp_path: Path) -> None:
    def scripted(name: str, *scores: float) -> ScriptedModel:
        turns = [ModelTurn(text=verdict(s, "scripted")) for s in scores]
        return ScriptedModel(turns, name=name)

    first = Judge(scripted("openai/a", 0.1, 0.2), tmp_path)
    assert first.ask("system", "prompt one").score == 0.1
    assert first.ask("system", "prompt one").cached
    assert first.ask("system", "prompt two").score == 0.2
    assert Judge(scripted("openai/b", 0.3), tmp_path).ask("system", "prompt one").score == 0.3
    uncached = Judge(scripted("openai/a", 0.4, 0.5), None)
    assert [uncached.ask("s", "p").score for _ in range(2)] == [0.4, 0.5]
    with pytest.raises(JudgeError, match="the judge openai/a failed: the script has only 2"):
        uncached.ask("s", "p")


# -- a benchmark run with --ctirealm-grader ----------------------------------------------


def _junit(path: Path) -> dict[str, dict[str, str]]:
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        cases[f"{case.get('classname')}.{case.get('name')}"] = properties
    return cases


def _answer_by_task(server: StandinServer) -> Reply:
    """Replies by what is asked: linux_003 gets verdicts, aks_004 an unusable C0 reply."""
    bodies = {
        ("linux", True): server.text(verdict(0.75, "right reports")).body,
        ("linux", False): server.text(verdict(0.5, "broad")).body,
        ("aks", True): server.text("Looks relevant to me.").body,
        ("aks", False): server.text(verdict(1.0, "specific")).body,
    }

    def answer(request: Recorded) -> dict[str, Any]:
        system, prompt = (m["content"] for m in request.body["messages"])
        body = bodies[("aks" if "Objective (aks)" in prompt else "linux", system == RELEVANCE)]
        assert isinstance(body, dict)
        return body

    return Reply(body=answer)


def test_a_benchmark_run_shows_judge_scores_and_judge_failures(
    pytester: pytest.Pytester, server: StandinServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.script(*[_answer_by_task(server)] * 4)
    junit = pytester.path / "out.xml"
    result = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle",
        f"--ctirealm-grader={JUDGE}",
        "-k",
        "linux_003 or aks_004",
        "--ctirealm-scale=0.25",
        f"--junitxml={junit}",
    )
    # linux_003 judged and passing; aks_004 an ERROR naming the judge, not a low score.
    result.assert_outcomes(passed=6, errors=6)
    result.stdout.fnmatch_lines(
        ["*aks_004 could not be scored: epoch 0: C0: relevance judge: openai/judge: *"]
    )
    assert len(server.requests) == 4
    cases = _junit(junit)
    c0 = cases["ctirealm.linux_003.C0-cti-analysis"]
    assert float(c0["score"]) == 0.75
    details = json.loads(c0["details"])
    assert details["deterministic"] == 1.0
    assert details["judge"] == {"model": JUDGE, "score": 0.75, "reason": "right reports"}
    sigma = json.loads(cases["ctirealm.linux_003.C4-detection-quality"]["details"])["sigma"]
    assert (sigma["deterministic"], sigma["judge"]["score"]) == (1.0, 0.5)
    assert sigma["quality"] == pytest.approx(0.25 + 0.75 * 0.75)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["ctirealm_grader"] == JUDGE
    assert properties["ctirealm_errors"] == "1"


@pytest.mark.parametrize(
    ("grader", "message"),
    [
        ("judge", "*--ctirealm-grader: model spec 'judge' is not provider/model*"),
        ("openai/judge", "*--ctirealm-grader: openai/judge: no API key: set OPENAI_API_KEY*"),
    ],
)
def test_a_bad_grader_is_a_usage_error(
    pytester: pytest.Pytester, server: StandinServer, grader: str, message: str
) -> None:
    result = pytester.runpytest_subprocess(
        "--ctirealm-model=oracle", f"--ctirealm-grader={grader}", "--co", "-q"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
