"""The benchmark run inside a pytest session: which items exist, how each is judged,
and what the controller does at the end (summary, JUnit suite properties, report,
baseline, the fail-under gate).

Workers and the controller each build this object; only the controller writes shared
files at the start (a fresh run folder) and at the end (reports, baseline).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_ctirealm.bench import baseline as bench_baseline
from pytest_ctirealm.bench import summary as terminal
from pytest_ctirealm.bench.agents import AgentSpecError, model_factory
from pytest_ctirealm.bench.items import ROOT_NAME, BenchmarkRun, property_value
from pytest_ctirealm.bench.runner import TaskResult, TaskRunner
from pytest_ctirealm.bench.settings import BenchSettings
from pytest_ctirealm.bench.store import RunStore
from pytest_ctirealm.dataset import DatasetError, Task
from pytest_ctirealm.engines.choice import stop_shared_engine
from pytest_ctirealm.official_workspace import OfficialWorkspace
from pytest_ctirealm.report.html import write_html
from pytest_ctirealm.report.results import build_results, read_results, write_results
from pytest_ctirealm.rules.baseline import BaselineError
from pytest_ctirealm.scoring.checkpoints import TITLES, Scorer, TaskScorer
from pytest_ctirealm.scoring.generalisation import holdout_seeds
from pytest_ctirealm.scoring.judge import Judge, make_judge
from pytest_ctirealm.scoring.official import OfficialScorer
from pytest_ctirealm.workspace import Workspace


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _judge(settings: BenchSettings) -> Judge | None:
    """The LLM judge --ctirealm-grader asks for; its verdicts are cached in the run folder."""
    if settings.grader is None:
        return None
    try:
        return make_judge(settings.grader, settings.run_dir / "judge")
    except ValueError as exc:
        raise pytest.UsageError(f"--ctirealm-grader: {exc}") from None


def _official_workspace(config: pytest.Config, settings: BenchSettings) -> OfficialWorkspace:
    """The official files as a workspace, every table checked up front so that a
    malformed file is a usage error naming it, not a failure of every task: a process
    that runs tasks loads its engine now; an xdist controller (its workers load their
    own) reads the tables through once; collecting only checks nothing more."""
    assert settings.dataset is not None
    try:
        workspace = OfficialWorkspace.load(settings.dataset, settings.official_suite)
        if not config.getoption("collectonly", default=False):
            if _is_worker(config) or config.getoption("dist", default="no") == "no":
                workspace.engine()
            else:
                workspace.dataset.check_tables()
    except DatasetError as exc:
        raise pytest.UsageError(f"--ctirealm-dataset: {exc}") from None
    return workspace


class BenchmarkSession:
    """Registered as a plugin when a benchmark run is asked for."""

    def __init__(self, config: pytest.Config, settings: BenchSettings) -> None:
        self.config = config
        self.settings = settings
        self.store = RunStore(settings.run_dir)
        try:
            self.factory = model_factory(settings.agent, config.rootpath)
        except AgentSpecError as exc:
            raise pytest.UsageError(str(exc)) from None
        judge = _judge(settings)
        self.baseline: dict[str, Any] | None = None
        if settings.baseline_path and not settings.update_baseline:
            try:
                self.baseline = bench_baseline.load(settings.baseline_path, settings.suite)
            except BaselineError as exc:
                raise pytest.UsageError(str(exc)) from None
        self.notes: list[str] = []
        #: The telemetries C4 is scored on besides the explored one (never the agent's).
        self.unseen: list[Workspace] = []
        scorer: TaskScorer
        if settings.dataset is not None:
            official = _official_workspace(config, settings)
            self.notes += [f"official dataset: {w}" for w in official.dataset.warnings]
            self.workspace: Workspace = official
            scorer = OfficialScorer(official, judge=judge)
        else:
            self.workspace = Workspace(
                seed=settings.seed,
                scale=settings.scale,
                engine_choice=settings.engine,
                shared_dir=settings.run_dir / "shared",
                cache_dir=settings.telemetry_cache,
            )
            # The unseen telemetries come from the same shared cache, always through the
            # embedded engine: a cluster holds one telemetry at a time.
            self.unseen = [
                Workspace(seed=seed, scale=settings.scale, cache_dir=settings.telemetry_cache)
                for seed in holdout_seeds(settings.seed, settings.holdout)
            ]
            scorer = Scorer(self.workspace, judge=judge, unseen=self.unseen)
        try:
            self.tasks: list[Task] = self.workspace.benchmark.suite(settings.suite)
        except DatasetError as exc:
            raise pytest.UsageError(f"the benchmark's tasks do not load: {exc}") from None
        submissions = None
        if settings.agent.startswith("submissions:"):
            submissions = Path(config.rootpath, settings.agent.split(":", 1)[1])
        self.runner = TaskRunner(
            settings,
            self.workspace,
            self.store,
            self.factory,
            scorer,
            submissions,
            progress=self._progress,
        )
        self.ran: set[str] = set()
        self.summary: dict[str, Any] | None = None
        self.records: list[dict[str, Any]] = []
        self.gate_failed = False
        #: Failures of tests that are not the benchmark's: the gate never hides them.
        self.other_failures = 0
        if not _is_worker(config):
            self.store.begin_session(resume=settings.resume)

    # -- collection --------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        run = BenchmarkRun.from_parent(session, name=ROOT_NAME, nodeid=ROOT_NAME, bench=self)
        # Through the collection protocol, so reporters count the items as collected.
        items.extend(session.genitems(run))

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """`-n` with the default distribution: keep a task's items on one worker (grouped
        by scope, `ctirealm::<task>`), so its agent runs there without anyone waiting."""
        if config.getvalue("dist") != "load":
            return None
        from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

        return LoadScopeScheduling(config, log)

    # -- judging -----------------------------------------------------------------------

    def judge_checkpoint(
        self, result: TaskResult, checkpoint: str, properties: list[tuple[str, Any]]
    ) -> str:
        score = result.checkpoint_mean(checkpoint)
        floor = self.settings.floors[checkpoint]
        properties += [
            ("checkpoint", checkpoint),
            ("score", property_value(score)),
            ("weight", property_value(result.scores[0].checkpoints[checkpoint].weight)),
            ("floor", floor),
        ]
        if len(result.scores) > 1:
            epochs = [s.checkpoints[checkpoint].score for s in result.scores]
            properties.append(("epoch_scores", property_value(epochs)))
        details = result.scores[0].checkpoints[checkpoint].details
        properties.append(("details", property_value(details)))
        if score >= floor:
            return ""
        return (
            f"{checkpoint} {TITLES[checkpoint]}: {score:.3f} is below the floor {floor:.2f}\n"
            + terminal.explain_checkpoint(checkpoint, details)
        )

    def judge_reward(self, result: TaskResult, properties: list[tuple[str, Any]]) -> str:
        reward = result.reward_mean()
        floor = self.settings.floors["reward"]
        record = result.records[0]
        properties += [("reward", property_value(reward)), ("floor", floor)]
        properties += [(name, property_value(result.checkpoint_mean(name))) for name in TITLES]
        detection = record.get("detection") or {}
        for key in ("f1", "precision", "recall", "false_positives", "sigma_f1"):
            if key in detection:
                properties.append((key, property_value(detection[key])))
        if detection.get("telemetries") == "unseen":
            properties += [
                ("holdout", detection["holdout"]),
                ("c4_explored", property_value(detection["explored"]["c4"])),
                ("c4_unseen", property_value(detection["unseen_c4"])),
                ("generalisation_gap", property_value(detection["generalisation_gap"])),
                ("f1_explored", property_value(detection["explored"]["f1"])),
            ]
        properties += [
            ("tokens_input", sum(r["tokens"]["input"] for r in result.records)),
            ("tokens_output", sum(r["tokens"]["output"] for r in result.records)),
            ("tool_calls", sum(r["tool_calls"] for r in result.records)),
            ("duration", property_value(sum(r["duration"] for r in result.records))),
        ]
        if len(result.scores) > 1:
            properties.append(("epoch_rewards", property_value([s.reward for s in result.scores])))
        problems = []
        if reward < floor:
            breakdown = ", ".join(f"{n} {result.checkpoint_mean(n):.2f}" for n in TITLES)
            problems.append(f"reward {reward:.3f} is below the floor {floor:.2f} ({breakdown})")
        if self.baseline is not None:
            drop = bench_baseline.task_drop(
                self.baseline, result.task.id, reward, self.settings.tolerance
            )
            if drop:
                problems.append(drop)
        return "\n".join(problems)

    # -- reporting ---------------------------------------------------------------------

    def _progress(self, text: str) -> None:
        if self.config.get_verbosity() < 1 or _is_worker(self.config):
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            return
        if capture is None:
            reporter.write_line(f"[ctirealm] {text}")
            return
        # Runs happen inside a test's setup, where output is captured: show it live.
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[ctirealm] {text}")

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == "ctirealm_task":
                self.ran.add(str(value))
        if report.failed and not report.nodeid.startswith(ROOT_NAME + "::"):
            self.other_failures += 1

    @pytest.hookimpl
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        if report.when != "call" or not report.nodeid.startswith(ROOT_NAME + "::"):
            return None
        properties = dict(report.user_properties)
        value = properties.get("reward", properties.get("score"))
        if not isinstance(value, int | float):
            return None
        word = f"{report.outcome.upper()} {value:.2f}"
        markup = {"green": True} if report.passed else {"red": True}
        letter = "." if report.passed else "F"
        return report.outcome, letter, (word, markup)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.workspace.close()
        for workspace in self.unseen:
            workspace.close()
        if _is_worker(self.config):
            return
        self._stop_emulator()
        if not self.ran:
            return
        self.records = self.store.load_records(self.ran)
        metadata = self.settings.metadata()
        try:
            results = build_results(self.records, metadata)
        except ValueError as exc:
            self.notes.append(f"results could not be summarised: {exc}")
            return
        self.summary = results["summary"]
        self._junit_properties(metadata)
        if self.settings.report_dir is not None:
            self._write_report(metadata)
        self._compare_and_gate(session)

    def _stop_emulator(self) -> None:
        problem = stop_shared_engine(self.settings.engine, self.workspace.shared_dir)
        if problem:
            self.notes.append(problem)

    def _junit_properties(self, metadata: dict[str, Any]) -> None:
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None or self.summary is None:
            return
        reward = self.summary["reward"]
        for name, value in (
            ("ctirealm_mean_reward", reward["mean"]),
            ("ctirealm_stderr", reward["stderr"]),
            ("ctirealm_ci95_low", reward["ci_low"]),
            ("ctirealm_ci95_high", reward["ci_high"]),
            ("ctirealm_tasks_scored", self.summary["counts"]["tasks_scored"]),
            ("ctirealm_errors", self.summary["counts"]["errors"]),
            ("ctirealm_compat_mean", self.summary["compat"]["mean"]),
            *self._generalisation_properties(),
            *((f"ctirealm_{k}", property_value(v)) for k, v in metadata.items()),
        ):
            xml.add_global_property(name, "" if value is None else property_value(value))

    def _generalisation_properties(self) -> list[tuple[str, Any]]:
        held_out = (self.summary or {}).get("generalisation")
        if not held_out:
            return []
        return [
            ("ctirealm_c4_explored", held_out["explored_c4"]["mean"]),
            ("ctirealm_c4_unseen", held_out["unseen_c4"]["mean"]),
            ("ctirealm_generalisation_gap", held_out["gap"]["mean"]),
        ]

    def _write_report(self, metadata: dict[str, Any]) -> None:
        directory = self.settings.report_dir
        assert directory is not None
        transcripts = directory / "transcripts"
        transcripts.mkdir(parents=True, exist_ok=True)
        for record in self.records:
            source = self.store.transcript_path(record["task_id"], record["epoch"])
            if source.is_file():
                shutil.copyfile(source, directory / record["transcript"])
            else:
                record["transcript"] = None
        # The page shows what the file holds (transcript links included).
        write_html(directory, read_results(write_results(directory, self.records, metadata)))
        self.notes.append(f"report written to {directory}")

    def _compare_and_gate(self, session: pytest.Session) -> None:
        assert self.summary is not None
        mean = self.summary["reward"]["mean"]
        per_task = terminal.task_rewards(self.records)
        settings = self.settings
        if settings.update_baseline and settings.baseline_path:
            bench_baseline.write(settings.baseline_path, settings.suite, mean, per_task)
            self.notes.append(f"baseline written to {settings.baseline_path}")
        elif self.baseline is not None:
            changes = bench_baseline.compare(self.baseline, mean, per_task, settings.tolerance)
            self.notes += changes.lines
            if changes.mean_dropped:
                self.gate_failed = True
        if settings.fail_under is not None:
            passed = mean is not None and mean >= settings.fail_under
            shown = "no task scored" if mean is None else f"{mean:.3f}"
            self.notes.append(
                f"fail-under {settings.fail_under:.3f}: mean reward {shown} "
                + ("passes" if passed else "FAILS")
            )
            # The gate decides: one hard task failing its floor does not fail the run.
            failed = self.gate_failed or not passed or self.other_failures > 0
            session.exitstatus = pytest.ExitCode.TESTS_FAILED if failed else pytest.ExitCode.OK
        elif self.gate_failed:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if _is_worker(self.config) or (self.summary is None and not self.notes):
            return
        terminalreporter.write_sep("=", "ctirealm benchmark")
        if self.summary is not None:
            for line in terminal.summary_lines(self.summary, self.settings.metadata()):
                terminalreporter.write_line(line)
        for note in self.notes:
            terminalreporter.write_line(note)
