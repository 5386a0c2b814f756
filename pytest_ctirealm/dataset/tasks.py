"""Benchmark tasks: one YAML file each, validated on load.

A task gives an analyst's objective (which must not give the answer away), the CTI
reports behind it, the ATT&CK techniques and tables a good answer uses, the suites it
belongs to, and its positives: the attack stages (`scenario.stage`) whose events a
detection must return. `lookalikes` names the benign families (`campaign.family`) that
resemble its attack: what a detection must tell apart from it (documentation and tests;
scoring counts every non-positive event the same).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_ctirealm.dataset import fields
from pytest_ctirealm.dataset.errors import DatasetError
from pytest_ctirealm.telemetry.scenarios import LOOKALIKES, SCENARIOS
from pytest_ctirealm.telemetry.schema import benchmark_tables

PLATFORMS = ("linux", "aks", "cloud")
SUITES = ("ctirealm-25", "ctirealm-50")
_ID = re.compile(r"^(linux|aks|cloud)_\d{3}$")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
_FIELDS = {
    "id",
    "title",
    "platform",
    "suites",
    "objective",
    "reports",
    "techniques",
    "tables",
    "positives",
}
_OPTIONAL = frozenset({"lookalikes"})


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    platform: str
    suites: tuple[str, ...]
    objective: str
    reports: tuple[str, ...]
    techniques: tuple[str, ...]
    tables: tuple[str, ...]
    positives: tuple[str, ...]
    path: Path
    lookalikes: tuple[str, ...] = ()


def load_task(path: Path, report_ids: set[str]) -> Task:
    """Parse and check one task file against the report library and scenario registry."""
    data = fields.load_mapping(path, _FIELDS, _OPTIONAL)
    task_id = fields.text(path, data, "id")
    if not _ID.match(task_id):
        raise DatasetError(
            path, "id", f"{task_id!r} must look like 'linux_001', 'aks_001' or 'cloud_001'"
        )
    if task_id != path.stem:
        raise DatasetError(path, "id", f"{task_id!r} does not match the file name")
    platform = fields.text(path, data, "platform")
    if platform not in PLATFORMS:
        raise DatasetError(path, "platform", f"{platform!r} is not one of {', '.join(PLATFORMS)}")
    if not task_id.startswith(platform + "_"):
        raise DatasetError(path, "id", f"{task_id!r} does not start with its platform {platform!r}")
    suites = fields.text_list(path, data, "suites")
    for suite in suites:
        if suite not in SUITES:
            raise DatasetError(path, "suites", f"{suite!r} is not one of {', '.join(SUITES)}")
    if "ctirealm-25" in suites and "ctirealm-50" not in suites:
        raise DatasetError(path, "suites", "a task of ctirealm-25 must also be in ctirealm-50")
    reports = fields.text_list(path, data, "reports")
    for report in reports:
        if report not in report_ids:
            raise DatasetError(path, "reports", f"{report!r} is not in the report library")
    techniques = fields.text_list(path, data, "techniques")
    for technique in techniques:
        if not _TECHNIQUE.match(technique):
            raise DatasetError(
                path,
                "techniques",
                f"{technique!r} is not an ATT&CK technique id (T1234 or T1234.001)",
            )
    tables = fields.text_list(path, data, "tables")
    known_tables = benchmark_tables()
    for table in tables:
        if table not in known_tables:
            raise DatasetError(path, "tables", f"{table!r} is not one of the benchmark tables")
    positives = fields.text_list(path, data, "positives")
    stages = {name: scenario.stages for name, scenario in SCENARIOS.items()}
    for positive in positives:
        _check_named(path, "positives", positive, stages, "stage")
    lookalikes = fields.text_list(path, data, "lookalikes") if "lookalikes" in data else ()
    families = {name: found.families for name, found in LOOKALIKES.items()}
    for family in lookalikes:
        _check_named(path, "lookalikes", family, families, "look-alike family")
    return Task(
        id=task_id,
        title=fields.text(path, data, "title"),
        platform=platform,
        suites=suites,
        objective=fields.text(path, data, "objective", min_length=80),
        reports=reports,
        techniques=techniques,
        tables=tables,
        positives=positives,
        path=path,
        lookalikes=lookalikes,
    )


def _check_named(
    path: Path, field: str, value: str, known: Mapping[str, tuple[str, ...]], what: str
) -> None:
    """*value* is `<scenario>.<member>`, with *member* one of the scenario's in *known*
    (its stages, or its look-alike families)."""
    campaign, _, member = value.partition(".")
    if campaign not in known:
        raise DatasetError(path, field, f"{value!r}: no scenario named {campaign!r} has {what}s")
    if member not in known[campaign]:
        raise DatasetError(
            path,
            field,
            f"{value!r}: {campaign!r} has no {what} {member!r} "
            f"({what}s: {', '.join(known[campaign])})",
        )
