"""Tasks, reports and reference detections are validated on load; a malformed file fails
with a message naming the file and the field."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from pytest_ctirealm.dataset import Benchmark, DatasetError, load_benchmark
from pytest_ctirealm.dataset.catalog import PROJECT_ROOT
from pytest_ctirealm.dataset.cti import default_directory


def test_the_linux_half_of_the_suites(benchmark: Benchmark) -> None:
    linux = [t for t in benchmark.suite("all") if t.platform == "linux"]
    assert len(linux) == 25
    assert len([t for t in benchmark.suite("ctirealm-25") if t.platform == "linux"]) == 12
    assert {t.id for t in benchmark.suite("ctirealm-25")} <= {
        t.id for t in benchmark.suite("ctirealm-50")
    }
    with pytest.raises(ValueError, match="unknown suite"):
        benchmark.suite("ctirealm-30")


def test_report_library_gives_a_real_choice(benchmark: Benchmark) -> None:
    reports = benchmark.reports
    used = {r for t in benchmark.tasks.values() for r in t.reports}
    assert used <= set(reports)
    assert len(reports) > len(used)  # decoys exist
    tags = Counter(tag for r in reports.values() for tag in r.tags)
    assert sum(1 for count in tags.values() if count >= 3) >= 5  # shared tags
    assert all(r.word_count >= 400 for r in reports.values())


def test_objectives_do_not_give_the_answer_away(benchmark: Benchmark) -> None:
    for task in benchmark.tasks.values():
        text = task.objective.lower()
        for giveaway in (
            "devicep",
            "devicef",
            "kql",
            "sigma",
            " | where",
            *(t.lower() for t in task.techniques),
        ):
            assert giveaway not in text, (task.id, giveaway)


@pytest.fixture
def dataset(tmp_path: Path) -> dict[str, Path]:
    """A private copy of the dataset to break."""
    paths = {
        "tasks": tmp_path / "tasks",
        "ground_truth": tmp_path / "ground_truth",
        "reports": tmp_path / "reports",
    }
    shutil.copytree(PROJECT_ROOT / "tasks", paths["tasks"], ignore=shutil.ignore_patterns("*.md"))
    shutil.copytree(
        PROJECT_ROOT / "ground_truth", paths["ground_truth"], ignore=shutil.ignore_patterns("*.md")
    )
    shutil.copytree(default_directory(), paths["reports"])
    return paths


def _load(paths: dict[str, Path]) -> Benchmark:
    return load_benchmark(paths["tasks"], paths["ground_truth"], paths["reports"])


def _edit(path: Path, **changes: object) -> None:
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"techniques": ["T105"]}, "techniques", "'T105' is not an ATT&CK technique id"),
        ({"reports": ["rpt-nope"]}, "reports", "'rpt-nope' is not in the report library"),
        ({"positives": ["kinsing_web_compromise.nope"]}, "positives", "has no stage 'nope'"),
        ({"positives": ["nope.stage"]}, "positives", "no scenario named 'nope'"),
        ({"tables": ["DeviceProcessEvent"]}, "tables", "not one of the benchmark tables"),
        ({"platform": "windows"}, "platform", "'windows' is not one of linux, aks, cloud"),
        ({"suites": ["ctirealm-25"]}, "suites", "must also be in ctirealm-50"),
        ({"objective": "Find it."}, "objective", "at least 80 characters"),
        ({"objective": None}, "objective", "is required but missing"),
        ({"scenario": "x"}, "scenario", "is not a known field"),
        ({"id": "linux_099"}, "id", "does not match the file name"),
        ({"techniques": []}, "techniques", "non-empty list"),
    ],
)
def test_malformed_task_names_file_and_field(
    dataset: dict[str, Path], changes: dict[str, object], field: str, message: str
) -> None:
    path = dataset["tasks"] / "linux_003.yaml"
    _edit(path, **changes)
    with pytest.raises(DatasetError) as caught:
        _load(dataset)
    assert str(caught.value).startswith(f"{path}: field '{field}': ")
    assert message in str(caught.value)


def test_invalid_yaml_is_reported_with_its_file(dataset: dict[str, Path]) -> None:
    path = dataset["tasks"] / "linux_007.yaml"
    path.write_text("id: linux_007\ntitle: [unclosed\n")
    with pytest.raises(DatasetError, match=r"linux_007\.yaml: not valid YAML"):
        _load(dataset)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"source": "somewhere"}, "source", "is not a link"),
        ({"published": "last week"}, "published", "is not a date"),
        ({"tags": ["Linux Stuff"]}, "tags", "lowercase words joined by dashes"),
        ({"content": "too short"}, "content", "at least 400 characters"),
    ],
)
def test_malformed_report_names_file_and_field(
    dataset: dict[str, Path], changes: dict[str, object], field: str, message: str
) -> None:
    path = dataset["reports"] / "rpt-kinsing-web-miner.yaml"
    _edit(path, **changes)
    with pytest.raises(DatasetError) as caught:
        _load(dataset)
    assert str(caught.value).startswith(f"{path}: field '{field}': ")
    assert message in str(caught.value)


def test_missing_or_broken_ground_truth_is_named(dataset: dict[str, Path]) -> None:
    kql = dataset["ground_truth"] / "linux_004" / "detection.kql"
    kql.unlink()
    with pytest.raises(
        DatasetError, match=r"linux_004/detection\.kql: task linux_004 has no reference"
    ):
        _load(dataset)
    kql.write_text("DeviceProcessEvents")
    sigma = dataset["ground_truth"] / "linux_004" / "sigma.yml"
    sigma.write_text("title: broken\ndetection: [\n")
    with pytest.raises(DatasetError, match=r"linux_004/sigma\.yml: not valid Sigma"):
        _load(dataset)
