"""Reference detections: per task, a KQL query and Sigma rule(s) that return exactly the
task's positive events on every telemetry (every seed: every instance of the campaign).
They prove a task is solvable and score 1.0 by construction.

A task may also ship `naive.kql`: the obvious behavioural detection without the condition
that tells the attack from its look-alikes. It documents what the task measures: it
finds every positive, and the look-alikes cost it precision (the tests check both)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError

from pytest_ctirealm.dataset.errors import DatasetError

KQL_FILE = "detection.kql"
SIGMA_FILE = "sigma.yml"
NAIVE_FILE = "naive.kql"


@dataclass(frozen=True)
class ReferenceDetection:
    task_id: str
    kql: str
    #: One or more Sigma rules (a multi-document YAML: one rule per table).
    sigma: str
    #: The detection without its distinguishing condition, when the task ships one.
    naive: str | None = None


def load_reference(directory: Path, task_id: str) -> ReferenceDetection:
    """The reference detection in `<directory>/<task_id>/`."""
    folder = directory / task_id
    kql_path, sigma_path = folder / KQL_FILE, folder / SIGMA_FILE
    for path in (kql_path, sigma_path):
        if not path.is_file():
            raise DatasetError(path, None, f"task {task_id} has no reference file here")
    kql = kql_path.read_text(encoding="utf-8").strip()
    if not kql:
        raise DatasetError(kql_path, None, "the reference query is empty")
    sigma = sigma_path.read_text(encoding="utf-8")
    try:
        rules = SigmaCollection.from_yaml(sigma)
    except SigmaError as exc:
        raise DatasetError(sigma_path, None, f"not a valid Sigma rule ({exc})") from None
    except Exception as exc:  # pySigma raises YAML and type errors for malformed input
        raise DatasetError(sigma_path, None, f"not valid Sigma YAML ({exc})") from None
    if not rules.rules:
        raise DatasetError(sigma_path, None, "holds no Sigma rule")
    naive_path = folder / NAIVE_FILE
    naive = naive_path.read_text(encoding="utf-8").strip() if naive_path.is_file() else None
    if naive == "":
        raise DatasetError(naive_path, None, "the naive query is empty")
    return ReferenceDetection(task_id, kql, sigma, naive)
