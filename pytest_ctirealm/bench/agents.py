"""From the run's agent setting to a model per task run.

- ``oracle`` and ``baseline``: the offline agents (no network, no key);
- ``replay:PATH``: plays recorded runs again (a transcript file, or a folder holding
  ``<task>.e<epoch>.jsonl`` files as a run's report writes them);
- ``provider/model``: a real model through its provider's SDK;
- ``--ctirealm-agent=module:factory``: the user's own, ``factory(task)`` returning a
  `Model`; it gets the same tools and limits as every other agent;
- ``--ctirealm-submissions=DIR``: no agent; `submission_for` reads the answers.

Resolution happens once per process, up front, so a typo is a usage error and not fifty
failed tasks; a failure making one task's model is that task's error.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_ctirealm.agent.baseline import BaselineModel
from pytest_ctirealm.agent.models import Model, replay_model
from pytest_ctirealm.agent.oracle import OracleModel
from pytest_ctirealm.agent.transcript import Transcript
from pytest_ctirealm.dataset import Task
from pytest_ctirealm.workspace import Workspace

ModelFactory = Callable[[Task, Workspace, int], Model]


class AgentSpecError(ValueError):
    """An agent setting that names nothing runnable."""


def model_factory(agent: str, root: Path) -> ModelFactory | None:
    """The factory the setting names; None for submissions (no agent runs)."""
    kind, _, value = agent.partition(":")
    if kind == "submissions":
        folder = Path(root, value)
        if not folder.is_dir():
            raise AgentSpecError(f"--ctirealm-submissions: {folder} is not a folder")
        return None
    if kind == "agent":
        return _user_factory(value)
    if value == "oracle":
        return lambda task, workspace, epoch: OracleModel(task, workspace.benchmark)
    if value == "baseline":
        return lambda task, workspace, epoch: BaselineModel(task)
    if value.startswith("replay:"):
        return _replay_factory(Path(root, value.removeprefix("replay:")))
    from pytest_ctirealm.agent.providers import make_provider_model, parse_spec

    try:
        parse_spec(value)
    except ValueError as exc:
        raise AgentSpecError(
            f"--ctirealm-model: {exc}; or use oracle, baseline or replay:PATH"
        ) from None
    return lambda task, workspace, epoch: make_provider_model(value)


def _user_factory(spec: str) -> ModelFactory:
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise AgentSpecError(f"--ctirealm-agent: {spec!r} must be module:factory")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AgentSpecError(f"--ctirealm-agent: cannot import {module_name!r}: {exc}") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise AgentSpecError(f"--ctirealm-agent: {module_name} has no callable {attribute!r}")

    def make(task: Task, workspace: Workspace, epoch: int) -> Model:
        model = factory(task)
        if not callable(getattr(model, "respond", None)):
            raise TypeError(f"{spec} returned {type(model).__name__}, which has no respond()")
        if not getattr(model, "name", None):
            model.name = spec
        return model  # type: ignore[no-any-return]

    return make


def _replay_factory(path: Path) -> ModelFactory:
    if not path.exists():
        raise AgentSpecError(f"--ctirealm-model=replay:{path}: no such file or folder")

    def make(task: Task, workspace: Workspace, epoch: int) -> Model:
        if path.is_file():
            transcripts = [Transcript.read(path)]
            transcripts = [t for t in transcripts if t.task_id == task.id]
        else:
            candidates = [path / f"{task.id}.e{epoch}.jsonl", path / f"{task.id}.jsonl"]
            found = next((p for p in candidates if p.is_file()), None)
            transcripts = [Transcript.read(found)] if found else []
        if not transcripts:
            raise FileNotFoundError(f"no recorded run of {task.id} (epoch {epoch}) in {path}")
        return replay_model(transcripts)

    return make


def submission_for(folder: Path, task: Task) -> Transcript:
    """A transcript holding the answer in *folder*/<task id>.json (the reference's
    output contract). There is no trajectory, so C0-C3 score 0."""
    path = folder / f"{task.id}.json"
    transcript = Transcript(task.id, agent=f"submissions:{folder.name}")
    try:
        # utf-8-sig: editors on Windows save JSON with a byte-order mark.
        data: Any = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        transcript.status, transcript.error = "no_submission", f"{path} does not exist"
        return transcript
    except (OSError, ValueError) as exc:
        transcript.status, transcript.error = "invalid_submission", f"{path}: not JSON ({exc})"
        return transcript
    if not isinstance(data, dict):
        transcript.status = "invalid_submission"
        transcript.error = (
            f"{path}: expected a JSON object with sigma_rule, kql_query, query_results"
        )
        return transcript
    transcript.submission, transcript.status = data, "submitted"
    return transcript
