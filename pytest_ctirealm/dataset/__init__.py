"""The benchmark's dataset: tasks, CTI reports and reference detections."""

from pytest_ctirealm.dataset.catalog import Benchmark, load_benchmark
from pytest_ctirealm.dataset.cti import Report, load_reports
from pytest_ctirealm.dataset.errors import DatasetError
from pytest_ctirealm.dataset.ground_truth import ReferenceDetection
from pytest_ctirealm.dataset.tasks import PLATFORMS, SUITES, Task

__all__ = [
    "PLATFORMS",
    "SUITES",
    "Benchmark",
    "DatasetError",
    "ReferenceDetection",
    "Report",
    "Task",
    "load_benchmark",
    "load_reports",
]
