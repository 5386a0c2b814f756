"""A workspace, a scorer and the oracle's runs, shared by the scoring tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_ctirealm.agent.loop import run_task
from pytest_ctirealm.agent.oracle import OracleModel
from pytest_ctirealm.agent.transcript import Transcript
from pytest_ctirealm.scoring.checkpoints import Scorer
from pytest_ctirealm.workspace import Workspace


@pytest.fixture(scope="session")
def workspace() -> Iterator[Workspace]:
    ws = Workspace(seed=0, scale=0.5)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def unseen() -> Iterator[Workspace]:
    """A telemetry the agent never saw (another seed), as a run's holdout."""
    ws = Workspace(seed=1, scale=0.5)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def scorer(workspace: Workspace, unseen: Workspace) -> Scorer:
    """Scores on the unseen telemetry, as a benchmark run does."""
    return Scorer(workspace, unseen=[unseen])


@pytest.fixture(scope="session")
def oracle_runs(workspace: Workspace) -> dict[str, Transcript]:
    """The oracle's transcript of every task (it takes a few seconds for all 50)."""
    tasks = workspace.benchmark.tasks.values()
    return {t.id: run_task(t, workspace, OracleModel(t, workspace.benchmark)) for t in tasks}


def submitted(task_id: str, submission: dict[str, Any] | None, **kwargs: Any) -> Transcript:
    """A transcript that did nothing but submit *submission*."""
    status = "submitted" if submission is not None else "message_limit"
    return Transcript(task_id, submission=submission, status=status, **kwargs)
