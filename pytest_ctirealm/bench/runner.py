"""Running and scoring one task: its agent runs once per epoch (whichever of its test
items asks first, on whatever worker), its transcripts are kept, and scoring happens from
them, so repeating only the scoring never re-runs the agent. Any failure of one task
(its model, its agent, the scorer) becomes that task's error, never the session's."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_ctirealm.agent.loop import run_task
from pytest_ctirealm.agent.transcript import Transcript
from pytest_ctirealm.bench.agents import ModelFactory, submission_for
from pytest_ctirealm.bench.settings import BenchSettings
from pytest_ctirealm.bench.store import RunStore
from pytest_ctirealm.dataset import Task
from pytest_ctirealm.scoring.checkpoints import TaskScore, TaskScorer
from pytest_ctirealm.workspace import Workspace

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TaskResult:
    """A task's epochs: their scores and their records (what reports are made of)."""

    task: Task
    scores: list[TaskScore]
    records: list[dict[str, Any]]

    @property
    def error(self) -> str | None:
        errors = [f"epoch {s.epoch}: {s.error}" for s in self.scores if s.status != "scored"]
        return "; ".join(errors) or None

    def checkpoint_mean(self, name: str) -> float:
        values = [s.checkpoints[name].score or 0.0 for s in self.scores]
        return sum(values) / len(values)

    def reward_mean(self) -> float:
        return sum(s.reward or 0.0 for s in self.scores) / len(self.scores)


class TaskRunner:
    def __init__(
        self,
        settings: BenchSettings,
        workspace: Workspace,
        store: RunStore,
        factory: ModelFactory | None,
        scorer: TaskScorer,
        submissions: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.workspace = workspace
        self.store = store
        self.factory = factory
        self.scorer = scorer
        self.submissions = submissions
        self.progress = progress
        self._results: dict[str, TaskResult] = {}

    def result(self, task: Task) -> TaskResult:
        if task.id not in self._results:
            scores, records = [], []
            for epoch in range(self.settings.epochs):
                transcript = self._transcript(task, epoch)
                score = self._score(task, transcript)
                record = make_record(task, score, transcript, self.settings.floors)
                self.store.save_record(record)
                scores.append(score)
                records.append(record)
            self._results[task.id] = TaskResult(task, scores, records)
        return self._results[task.id]

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)

    def _transcript(self, task: Task, epoch: int) -> Transcript:
        with self.store.lock(task.id):
            transcript = self.store.load_transcript(task.id, epoch)
            if transcript is None:
                self._say(f"{task.id} epoch {epoch}: running")
                transcript = self._run(task, epoch)
                self.store.save_transcript(transcript)
                self._say(
                    f"{task.id} epoch {epoch}: {transcript.status} after "
                    f"{len(transcript.tool_calls)} tool calls in {transcript.elapsed:.1f} s"
                    + (f" ({transcript.error})" if transcript.error else "")
                )
            return transcript

    def _run(self, task: Task, epoch: int) -> Transcript:
        if self.factory is None:
            assert self.submissions is not None
            transcript = submission_for(self.submissions, task)
            transcript.epoch, transcript.started = epoch, time.time()
            return transcript
        try:
            model = self.factory(task, self.workspace, epoch)
            return run_task(
                task,
                self.workspace,
                model,
                variant=self.settings.variant,
                message_limit=self.settings.message_limit,
                epoch=epoch,
            )
        except Exception as exc:  # a broken agent fails its task, not the session
            return Transcript(
                task.id,
                epoch,
                self.settings.agent,
                status="error",
                error=f"the agent failed: {type(exc).__name__}: {exc}",
                started=time.time(),
            )

    def _score(self, task: Task, transcript: Transcript) -> TaskScore:
        try:
            score = self.scorer.score(task, transcript)
        except Exception as exc:
            reason = f"scoring failed: {type(exc).__name__}: {exc}"
            return TaskScore.unscored(task.id, transcript.epoch, reason)
        if score.reward is not None:
            self._say(f"{task.id} epoch {transcript.epoch}: reward {score.reward:.3f}")
        return score


def make_record(
    task: Task, score: TaskScore, transcript: Transcript, floors: dict[str, float]
) -> dict[str, Any]:
    """One task run as results.json and the HTML report hold it."""
    submission = transcript.submission if isinstance(transcript.submission, dict) else None
    return {
        "task_id": task.id,
        "title": task.title,
        "platform": task.platform,
        "epoch": transcript.epoch,
        "status": score.status,
        "error": score.error,
        "run_status": transcript.status,
        "reward": score.reward,
        "compat": score.compat,
        "checkpoints": {
            name: {
                "score": c.score,
                "weight": c.weight,
                "passed": c.score is not None and c.score >= floors[name],
                "details": c.details,
                **({"error": c.error} if c.error else {}),
            }
            for name, c in score.checkpoints.items()
        },
        "detection": score.detection,
        "submission": (
            {
                "kql_query": str(submission.get("kql_query", "")),
                "sigma_rule": str(submission.get("sigma_rule", "")),
            }
            if submission
            else None
        ),
        "transcript": f"transcripts/{task.id}.e{transcript.epoch}.jsonl",
        "tokens": {"input": transcript.input_tokens, "output": transcript.output_tokens},
        "tool_calls": len(transcript.tool_calls),
        "duration": round(transcript.elapsed, 3),
    }
