"""Campaigns generalise, on every platform: every seed holds a fresh instance of every
attack and of its look-alikes, the reports describe the campaign without quoting any
instance, and the lazy answers that solved the benchmark before (the report's indicators,
the event ids seen while exploring) find nothing on telemetry they were not written on."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from pytest_ctirealm.dataset import Benchmark, Report, Task, load_benchmark
from pytest_ctirealm.scoring.events import EventRef, EventScore, positive_refs, score_events
from pytest_ctirealm.scoring.lazy import lazy_answers
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS
from pytest_ctirealm.telemetry.scenarios import LOOKALIKES, SCENARIOS
from pytest_ctirealm.telemetry.simulator import Telemetry
from tests.conftest import World

BENCHMARK = load_benchmark()
TASKS = BENCHMARK.suite("all")
CAMPAIGNS = sorted(SCENARIOS)
#: The explored seed, and two telemetries a detection written on it never saw.
EXPLORED, UNSEEN = 0, (1, 7)
SEEDS = (EXPLORED, *UNSEEN)
#: What tells one event of a table from another beyond ids and time: what ran, who did
#: what to which object, from where, with which client.
SIGNATURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "DeviceProcessEvents": ("DeviceName", "ProcessCommandLine"),
    "DeviceFileEvents": ("DeviceName", "FolderPath"),
    "AKSAudit": ("User", "RequestUri", "UserAgent", "SourceIps"),
    "AKSAuditAdmin": ("User", "RequestUri", "UserAgent", "SourceIps"),
    "SigninLogs": ("UserPrincipalName", "AppDisplayName", "IPAddress", "UserAgent"),
    "AADServicePrincipalSignInLogs": (
        "ServicePrincipalName",
        "ResourceDisplayName",
        "IPAddress",
        "ServicePrincipalCredentialKeyId",
    ),
    "AuditLogs": ("OperationName", "InitiatedBy", "TargetResources"),
    "AzureActivity": ("OperationNameValue", "Caller", "CallerIpAddress", "ResourceId"),
    "AzureDiagnostics": ("OperationName", "CallerIPAddress", "requestUri_s"),
    "MicrosoftGraphActivityLogs": ("UserId", "AppId", "RequestUri", "IPAddress", "UserAgent"),
    "OfficeActivity": ("Operation", "UserId", "ClientIP"),
    "StorageBlobLogs": ("OperationName", "Uri", "CallerIpAddress", "UserAgentHeader"),
}
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


def _reports(benchmark: Benchmark) -> list[Report]:
    """Every report: those behind tasks and the decoys."""
    return list(benchmark.reports.values())


def _events(telemetry: Telemetry, labels: dict[str, dict[str, list[Any]]], names: Iterable[str]):
    """The rows of the events labelled *names* (stages or look-alike families)."""
    wanted = {(t, k) for n in names for t, keys in labels.get(n, {}).items() for k in keys}
    tables = {table for table, _ in wanted}
    for table in sorted(tables):
        for row in telemetry.tables[table]:
            if (table, tuple(row[c] for c in EVENT_KEYS[table])) in wanted:
                yield table, row


def _signature(table: str, row: dict[str, Any]) -> str:
    return json.dumps([row.get(c) for c in SIGNATURE_COLUMNS[table]], default=str)


def _text(row: dict[str, Any]) -> str:
    """Every value of *row*, as one lower-case text an indicator could hide in."""
    return json.dumps(row, default=str).lower()


def _positives(telemetry: Telemetry, task: Task) -> set[EventRef]:
    return positive_refs(telemetry.positives(list(task.positives)))


def _score(w: World, kql: str, positives: set[EventRef]) -> EventScore:
    rows = w.engine.query(kql, max_rows=1_000_000).records()
    return score_events(w.tracer.trace(rows, kql).events, positives)


# -- campaigns and instances ---------------------------------------------------------------


@pytest.mark.parametrize("campaign", CAMPAIGNS)
def test_every_seed_draws_a_fresh_instance(campaign: str, world: Callable[[int], World]) -> None:
    """Infrastructure, names and command lines differ from one telemetry to the next."""
    instances = [world(seed).telemetry.instances.get(campaign, {}) for seed in SEEDS]
    assert all(instances), f"{campaign} records no instance values"
    assert instances[0] != instances[1] and instances[0] != instances[2]
    stages = [f"{campaign}.{stage}" for stage in SCENARIOS[campaign].stages]
    signatures = [
        {
            _signature(t, r)
            for t, r in _events(world(s).telemetry, world(s).telemetry.stages, stages)
        }
        for s in SEEDS
    ]
    assert signatures[0] != signatures[1] and signatures[0] != signatures[2]


def test_same_seed_same_instances(world: Callable[[int], World]) -> None:
    from pytest_ctirealm.telemetry.simulator import generate

    again = generate(seed=1, scale=1.0)
    assert again.instances == world(1).telemetry.instances
    assert again.lookalikes == world(1).telemetry.lookalikes


# -- tasks: several positives, several look-alike families ---------------------------------


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_task_has_several_positives_and_three_lookalike_families(
    task: Task, world: Callable[[int], World]
) -> None:
    assert len(task.lookalikes) >= 3, f"{task.id} names {len(task.lookalikes)} look-alike families"
    for seed in SEEDS:
        telemetry = world(seed).telemetry
        assert len(_positives(telemetry, task)) >= 2, f"seed {seed}: a single positive event"
        for family in task.lookalikes:
            rows = [
                r for t, r in _events(telemetry, telemetry.lookalikes, [family]) if t in task.tables
            ]
            assert len(rows) >= 3, (
                f"seed {seed}: {family} has {len(rows)} events in the task's tables"
            )


@pytest.mark.parametrize("campaign", sorted(LOOKALIKES))
def test_lookalikes_vary_across_seeds(campaign: str, world: Callable[[int], World]) -> None:
    """Which hosts, how often and with which command lines or paths."""
    for family in LOOKALIKES[campaign].families:
        name = f"{campaign}.{family}"
        signatures = [
            Counter(
                _signature(t, r)
                for t, r in _events(world(s).telemetry, world(s).telemetry.lookalikes, [name])
            )
            for s in SEEDS
        ]
        assert signatures[0], f"{name} emits nothing"
        assert signatures[0] != signatures[1], f"{name} is the same on seeds 0 and 1"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_naive_detection_finds_everything_and_pays_in_precision(
    task: Task, seed: int, benchmark: Benchmark, world: Callable[[int], World]
) -> None:
    """The behaviour without its distinguishing condition: the look-alikes cost it."""
    naive = benchmark.references[task.id].naive
    assert naive, f"{task.id} ships no naive.kql"
    w = world(seed)
    score = _score(w, naive, _positives(w.telemetry, task))
    assert score.recall == 1.0
    assert score.precision < 0.8, f"precision {score.precision:.2f}"


# -- reports and objectives ----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_no_report_indicator_occurs_in_any_attack_event(
    seed: int, benchmark: Benchmark, world: Callable[[int], World]
) -> None:
    telemetry = world(seed).telemetry
    attack: dict[str, list[str]] = {}
    for table, row in _events(telemetry, telemetry.stages, telemetry.stages):
        attack.setdefault(table, []).append(_text(row))
    for report in _reports(benchmark):
        assert report.indicators, f"{report.id} lists no indicators"
        quoted = set(report.indicator_values) | set(_IPV4.findall(report.content))
        for indicator in quoted:
            # An address is found whole (192.0.2.23 is not in 192.0.2.238).
            pattern = re.escape(indicator.lower())
            if _IPV4.fullmatch(indicator):
                pattern = rf"(?<![\d.]){pattern}(?![\d])"
            for table, texts in attack.items():
                found = re.search(pattern, " \n ".join(texts))
                assert not found, f"{report.id}: {indicator!r} in an attack event of {table}"


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_objective_names_no_instance_value(task: Task, world: Callable[[int], World]) -> None:
    objective = task.objective.lower()
    for seed in SEEDS:
        instances = world(seed).telemetry.instances
        # The task's campaigns, and what several campaigns share (an operator's kit).
        campaigns = {p.partition(".")[0] for p in task.positives} | set(instances) - set(SCENARIOS)
        for campaign in campaigns:
            for key, value in instances.get(campaign, {}).items():
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str) and len(text) >= 4:
                        assert text.lower() not in objective, f"{campaign}.{key} = {text!r}"


# -- lazy answers score nothing on unseen telemetry ----------------------------------------


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_lazy_answers_score_nothing_on_unseen_telemetry(
    task: Task, benchmark: Benchmark, world: Callable[[int], World]
) -> None:
    """Pinned ids (in-list, datatable) and the report's indicators: F1 <= 0.1 on every
    unseen telemetry; the unfiltered tables stay under 0.2."""
    explored = world(EXPLORED)
    answers = lazy_answers(task, explored.telemetry, benchmark.reports)
    assert set(answers) >= {"in-list", "datatable", "report indicators", "take 10"}
    assert _score(explored, answers["in-list"], _positives(explored.telemetry, task)).f1 == 1.0
    for seed in UNSEEN:
        w = world(seed)
        positives = _positives(w.telemetry, task)
        for name, kql in answers.items():
            f1 = _score(w, kql, positives).f1
            limit = 0.2 if name in ("take 10", "whole table") else 0.1
            assert f1 <= limit, f"{name} on seed {seed}: F1 {f1:.2f}"
