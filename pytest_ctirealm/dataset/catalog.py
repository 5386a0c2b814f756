"""The benchmark as a whole: tasks, their reference detections and the report library,
loaded together so that every cross-reference is checked once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_ctirealm.dataset.cti import Report, load_reports
from pytest_ctirealm.dataset.errors import DatasetError
from pytest_ctirealm.dataset.ground_truth import ReferenceDetection, load_reference
from pytest_ctirealm.dataset.tasks import SUITES, Task, load_task

#: The source tree's root, where `tasks/` and `ground_truth/` live.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Benchmark:
    tasks: dict[str, Task]
    references: dict[str, ReferenceDetection]
    reports: dict[str, Report]

    def suite(self, name: str) -> list[Task]:
        """Tasks of suite *name* ("ctirealm-25", "ctirealm-50" or "all"), in id order."""
        if name == "all":
            return sorted(self.tasks.values(), key=lambda t: t.id)
        if name not in SUITES:
            raise ValueError(f"unknown suite {name!r}: expected one of {', '.join(SUITES)}, all")
        return sorted((t for t in self.tasks.values() if name in t.suites), key=lambda t: t.id)


def load_benchmark(
    tasks_dir: Path | None = None,
    ground_truth_dir: Path | None = None,
    reports_dir: Path | None = None,
) -> Benchmark:
    """Load and cross-check everything; the first malformed file raises DatasetError."""
    tasks_dir = tasks_dir or PROJECT_ROOT / "tasks"
    ground_truth_dir = ground_truth_dir or PROJECT_ROOT / "ground_truth"
    reports = load_reports(reports_dir)
    paths = sorted(tasks_dir.glob("*.yaml")) if tasks_dir.is_dir() else []
    if not paths:
        raise DatasetError(tasks_dir, None, "holds no task files (*.yaml)")
    tasks = {}
    for path in paths:
        task = load_task(path, set(reports))
        tasks[task.id] = task
    references = {task_id: load_reference(ground_truth_dir, task_id) for task_id in tasks}
    return Benchmark(tasks, references, reports)
