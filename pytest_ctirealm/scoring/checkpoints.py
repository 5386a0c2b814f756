"""The five checkpoints and the task reward (weights C0 0.125, C1 0.075, C2 0.10,
C3 0.05, C4 0.65, as the reference's 1.25/0.75/1.0/0.5/6.5 points out of 10).

- C0 CTI analysis: the share of the task's reports the agent retrieved (recall; the
  precision of what it read is reported beside it). No CTI tool called scores 0, as in
  the reference.
- C1 MITRE mapping: Jaccard of the technique ids the agent stated (messages, tool
  arguments, Sigma tags) and the expected ones; precision and recall reported.
- C2 data exploration: Jaccard of the tables it read a schema or sample of and the
  expected tables.
- C3 query iteration: 1 when at least two distinct queries ran and returned rows.
- C4 detection quality: (5.0 x F1 of the re-run KQL + 1.5 x Sigma quality) / 6.5, the
  reference's split of its 6.5 points (`scoring.detection`), averaged over the unseen
  telemetries when the scorer has any (`scoring.generalisation`); the explored
  telemetry's figure and the gap are kept beside it.

A run that ended because the model failed is not a score: its task is an error outcome
with the reason, and no checkpoint is scored.

With an LLM judge (`scoring.judge`), C0 is the judge's relevance grade (still 0 when no
CTI tool was called) and the Sigma quality is 0.25 x syntax + 0.75 x the mean of the
executed F1 and the judge's specificity grade; the deterministic scores stay beside the
judge's in the details. A judge that gives no verdict leaves its checkpoint unscored and
the task an error outcome naming why.

Runs over the official CTI-REALM files (regex ground truth, no labelled events) are
scored by `scoring.official`, which shares C1-C3 and the judge handling from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pytest_ctirealm.agent.transcript import Transcript
from pytest_ctirealm.dataset import Task
from pytest_ctirealm.engines import EngineError
from pytest_ctirealm.scoring.compat import compat_reward, row_f1
from pytest_ctirealm.scoring.compat_patterns import derived_patterns
from pytest_ctirealm.scoring.detection import (
    SIGMA_EXECUTION_WEIGHT,
    SIGMA_SYNTAX_WEIGHT,
    Linter,
    QueryScore,
    SigmaPlan,
    SigmaScore,
    plan_sigma,
    score_query,
    score_sigma,
    submitted_text,
)
from pytest_ctirealm.scoring.events import EventRef, positive_refs
from pytest_ctirealm.scoring.fabrication import FabricationCheck, check_query_results
from pytest_ctirealm.scoring.generalisation import (
    TelemetryScore,
    detection_record,
    generalisation,
    mean,
)
from pytest_ctirealm.scoring.judge import Judge, JudgeError, Verdict
from pytest_ctirealm.scoring.trace import RowTracer
from pytest_ctirealm.scoring.trajectory import Trajectory, canonical_table, read_trajectory
from pytest_ctirealm.workspace import Workspace

WEIGHTS: dict[str, float] = {"C0": 0.125, "C1": 0.075, "C2": 0.10, "C3": 0.05, "C4": 0.65}
TITLES: dict[str, str] = {
    "C0": "CTI analysis",
    "C1": "MITRE mapping",
    "C2": "data exploration",
    "C3": "query iteration",
    "C4": "detection quality",
}


def jaccard(found: set[str] | frozenset[str], expected: set[str] | frozenset[str]) -> float:
    union = found | expected
    return len(found & expected) / len(union) if union else 1.0


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass
class CheckpointScore:
    checkpoint: str
    #: In [0, 1]; None when the checkpoint could not be scored (see `error`).
    score: float | None
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def weight(self) -> float:
        return WEIGHTS[self.checkpoint]

    @property
    def title(self) -> str:
        return TITLES[self.checkpoint]


@dataclass
class TaskScore:
    task_id: str
    epoch: int
    #: "scored", or "error" when the run or a checkpoint could not be scored.
    status: str
    checkpoints: dict[str, CheckpointScore]
    error: str | None = None
    query: QueryScore | None = None
    sigma: SigmaScore | None = None
    fabrication: FabricationCheck | None = None
    #: The reference's formula over the same run (see `Scorer.compat`).
    compat: float | None = None
    compat_details: dict[str, Any] = field(default_factory=dict)
    #: The judge's specificity verdict on the Sigma rule, when a judge graded it.
    sigma_judge: Verdict | None = None
    #: The record's detection block: the scored numbers (over the unseen telemetries
    #: when there are some) beside the explored ones; on the official data, its
    #: row-regex numbers.
    detection: dict[str, Any] | None = None

    @classmethod
    def unscored(cls, task_id: str, epoch: int, reason: str) -> TaskScore:
        """A run that cannot be scored: an error outcome, every checkpoint unscored."""
        checkpoints = {name: CheckpointScore(name, None, error=reason) for name in WEIGHTS}
        return cls(task_id, epoch, "error", checkpoints, reason)

    @property
    def reward(self) -> float | None:
        """The weighted total in [0, 1]; None unless every checkpoint was scored."""
        scores = [c.score for c in self.checkpoints.values()]
        if self.status != "scored" or any(s is None for s in scores):
            return None
        return sum(c.weight * (c.score or 0.0) for c in self.checkpoints.values())


class TaskScorer(Protocol):
    """What scores a task's run: `Scorer` here, `OfficialScorer` on the official data."""

    def score(self, task: Task, transcript: Transcript) -> TaskScore: ...


class Scorer:
    """Scores runs against the explored workspace (the telemetry the agent's tools saw)
    and, for C4, against *unseen* workspaces (telemetries of other seeds)."""

    def __init__(
        self,
        workspace: Workspace,
        linter: Linter | None = None,
        judge: Judge | None = None,
        unseen: Sequence[Workspace] = (),
    ) -> None:
        self.workspace = workspace
        self.linter = linter
        self.judge = judge
        self.unseen = tuple(unseen)
        self._positives: dict[tuple[int, str], set[EventRef]] = {}
        self._patterns: dict[str, dict[str, str]] = {}

    @property
    def tracer(self) -> RowTracer:
        return self.workspace.tracer

    def positives(self, task: Task, workspace: Workspace | None = None) -> set[EventRef]:
        """The task's positive events in *workspace*'s telemetry (default: the explored)."""
        workspace = workspace or self.workspace
        key = (id(workspace), task.id)
        if key not in self._positives:
            stages = list(task.positives)
            self._positives[key] = positive_refs(workspace.telemetry.positives(stages))
        return self._positives[key]

    def score(self, task: Task, transcript: Transcript) -> TaskScore:
        if transcript.status == "error":
            reason = transcript.error or "the run failed"
            return TaskScore.unscored(task.id, transcript.epoch, reason)
        trajectory = read_trajectory(transcript)
        checkpoints = {
            "C0": cti_analysis(task, trajectory, transcript, self.judge),
            "C1": mitre_mapping(task, trajectory),
            "C2": data_exploration(task, trajectory),
            "C3": query_iteration(trajectory),
        }
        outcome = TaskScore(task.id, transcript.epoch, "scored", checkpoints)
        checkpoints["C4"] = self._detection_quality(task, transcript, outcome)
        failed = [f"{c.checkpoint}: {c.error}" for c in checkpoints.values() if c.score is None]
        if failed:  # a judge without a verdict: no reward, and no compat either
            outcome.status, outcome.error = "error", "; ".join(failed)
            return outcome
        self._compat(task, outcome)
        return outcome

    def patterns(self, task: Task) -> dict[str, str]:
        """The task's ground truth in the reference's column -> regex form."""
        if task.id not in self._patterns:
            tables = self.workspace.telemetry.tables
            reference = self.workspace.benchmark.references.get(task.id)
            shown: list[str] | None = None
            if reference is not None:
                try:
                    result = self.workspace.engine().query(reference.kql, max_rows=1)
                    shown = [c.name for c in result.columns]
                except EngineError:
                    shown = None
            self._patterns[task.id] = derived_patterns(self.positives(task), tables, shown)
        return self._patterns[task.id]

    def _compat(self, task: Task, outcome: TaskScore) -> None:
        """The reference's reward: C0-C3 as ours, C4 from the regex row F1 of the rows the
        agent reported (only those a tool really returned) and the Sigma quality."""
        sigma = outcome.sigma
        apply_compat(
            outcome,
            self.patterns(task),
            sigma.syntax if sigma else 0.0,
            sigma.quality if sigma else 0.0,
        )

    def _detection_quality(
        self, task: Task, transcript: Transcript, outcome: TaskScore
    ) -> CheckpointScore:
        submission = transcript.submission
        if not isinstance(submission, dict):
            why = transcript.error or f"the run ended with status {transcript.status!r}"
            return CheckpointScore("C4", 0.0, {"reason": f"no submission: {why}"})
        kql, kql_problem = submitted_text(submission.get("kql_query"), "KQL query")
        rule, rule_problem = submitted_text(submission.get("sigma_rule"), "Sigma rule")
        plan = SigmaPlan(rule_problem) if rule_problem else plan_sigma(rule, self.linter)
        explored = self._score_on(self.workspace, task, kql, plan, kql_problem)
        query, sigma = explored.query, explored.sigma
        fabrication = check_query_results(
            submission.get("query_results"),
            transcript,
            None if query.error else query.records,
        )
        outcome.query, outcome.sigma, outcome.fabrication = query, sigma, fabrication
        sigma_details = sigma.details()
        details: dict[str, Any] = {
            "kql": query.details(),
            "sigma": sigma_details,
            "query_results": fabrication.details(),
            "positives": explored.positives,
        }
        verdict = None
        if self.judge is not None:
            try:
                verdict = judge_sigma(self.judge, task, rule, sigma_details)
            except JudgeError as exc:
                return CheckpointScore("C4", None, details, f"Sigma specificity judge: {exc}")
            if verdict is not None:
                outcome.sigma_judge = verdict
                sigma_details["quality"] = round(judged_sigma_quality(sigma, verdict.score), 6)
                sigma_details["scored"] = (
                    "0.25 x syntax + 0.75 x mean(executed F1, judge specificity)"
                )
        specificity = verdict.score if verdict is not None else None
        explored = _with_quality(explored, specificity)
        unseen = [
            _with_quality(self._score_on(w, task, kql, plan, kql_problem), specificity)
            for w in self.unseen
        ]
        details |= generalisation(explored, unseen)
        outcome.detection = detection_record(explored, unseen)
        score = mean([u.c4 for u in unseen]) if unseen else explored.c4
        return CheckpointScore("C4", score, details)

    def _score_on(
        self,
        workspace: Workspace,
        task: Task,
        kql: str,
        plan: SigmaPlan,
        kql_problem: str | None = None,
    ) -> TelemetryScore:
        """The submission re-run and scored over *workspace*'s telemetry."""
        positives = self.positives(task, workspace)
        engine, tracer = workspace.engine(), workspace.tracer
        query = score_query(kql, engine, tracer, positives, problem=kql_problem)
        sigma = score_sigma(plan, engine, tracer, positives)
        return TelemetryScore(workspace.seed, len(positives), query, sigma, sigma.quality)


def _with_quality(score: TelemetryScore, specificity: float | None) -> TelemetryScore:
    """*score* with the judge's specificity mixed into its Sigma quality, when judged."""
    if specificity is None:
        return score
    quality = judged_sigma_quality(score.sigma, specificity)
    return TelemetryScore(score.seed, score.positives, score.query, score.sigma, quality)


def apply_compat(
    outcome: TaskScore,
    patterns: Mapping[str, str],
    sigma_syntax: float,
    sigma_quality: float,
    *,
    task_id: str | None = None,
) -> None:
    """Fill *outcome*'s compat score: C0-C3 as scored, C4 from the regex row F1 of the
    reported rows a tool really returned and the Sigma part (with a judge, as the
    reference: 0.25 x syntax + 0.75 x the judge's specificity). With *task_id*, the
    reference's lab gates apply (they only fit the official lab data)."""
    genuine = list(outcome.fabrication.genuine) if outcome.fabrication else []
    rows = row_f1(genuine, patterns, task_id=task_id)
    sigma = sigma_quality
    if outcome.sigma_judge is not None:
        sigma = (
            SIGMA_SYNTAX_WEIGHT * sigma_syntax + SIGMA_EXECUTION_WEIGHT * outcome.sigma_judge.score
        )
    c = outcome.checkpoints
    reward = compat_reward(
        c0=c["C0"].score or 0.0,
        c1=c["C1"].score or 0.0,
        c2=c["C2"].score or 0.0,
        c3=c["C3"].score or 0.0,
        f1=rows.released_score,
        sigma=sigma,
    )
    outcome.compat = reward.value
    outcome.compat_details = {
        "row_f1": rows.released_score,
        "rows": rows.rows,
        "patterns": dict(patterns),
        **({"lab_gate": rows.gate_failure} if rows.gate_failure else {}),
        **reward.as_dict(),
    }


def judged_quality(syntax: float, executed: float, specificity: float) -> float:
    """0.25 x syntax + 0.75 x mean(*executed* score, the judge's *specificity*)."""
    return SIGMA_SYNTAX_WEIGHT * syntax + SIGMA_EXECUTION_WEIGHT * ((executed + specificity) / 2)


def judged_sigma_quality(sigma: SigmaScore, specificity: float) -> float:
    """The Sigma quality with a judge: 0.25 x syntax + 0.75 x mean(executed F1, judge)."""
    return judged_quality(sigma.syntax, sigma.score.f1, specificity)


def judge_sigma(judge: Judge, task: Task, text: str, details: dict[str, Any]) -> Verdict | None:
    """The judge's specificity verdict on the rule, recorded in *details* beside the
    deterministic quality; None (and no call) when no rule was submitted."""
    details["deterministic"] = details["quality"]
    if not text.strip():
        details["judge"] = {"model": judge.name, "skipped": "no Sigma rule was submitted"}
        return None
    try:
        verdict = judge.specificity(task, text)
    except JudgeError as exc:
        details["judge"] = {"model": judge.name, "error": str(exc)}
        raise
    details["judge"] = verdict.as_dict()
    return verdict


def cti_analysis(
    task: Task, trajectory: Trajectory, transcript: Transcript, judge: Judge | None
) -> CheckpointScore:
    relevant = set(task.reports)
    read = set(trajectory.reports_read)
    hits = len(relevant & read)
    details: dict[str, Any] = {
        "relevant": sorted(relevant),
        "read": sorted(read),
        "recall": _ratio(hits, len(relevant)),
        "precision": _ratio(hits, len(read)),
        "scored": "recall",
    }
    return cti_checkpoint(details["recall"], details, task, trajectory, transcript, judge)


def cti_checkpoint(
    deterministic: float,
    details: dict[str, Any],
    task: Task,
    trajectory: Trajectory,
    transcript: Transcript,
    judge: Judge | None,
) -> CheckpointScore:
    """C0 from its *deterministic* score, or the judge's relevance grade when there is a
    judge (the deterministic score kept in *details*); 0 when no CTI tool was called."""
    if not trajectory.cti_tools_used:
        details["reason"] = "no CTI tool was called"
        return CheckpointScore("C0", 0.0, details)
    if judge is None:
        return CheckpointScore("C0", deterministic, details)
    details["deterministic"] = deterministic
    try:
        verdict = judge.relevance(task, transcript)
    except JudgeError as exc:
        details["judge"] = {"model": judge.name, "error": str(exc)}
        return CheckpointScore("C0", None, details, f"relevance judge: {exc}")
    details["judge"] = verdict.as_dict()
    details["scored"] = "judge"
    return CheckpointScore("C0", verdict.score, details)


def mitre_mapping(task: Task, trajectory: Trajectory) -> CheckpointScore:
    expected = set(task.techniques)
    stated = set(trajectory.techniques)
    hits = len(expected & stated)
    score = jaccard(stated, expected)
    details = {
        "expected": sorted(expected),
        "stated": sorted(stated),
        "jaccard": score,
        "precision": _ratio(hits, len(stated)),
        "recall": _ratio(hits, len(expected)),
        "scored": "jaccard",
    }
    return CheckpointScore("C1", score, details)


def data_exploration(task: Task, trajectory: Trajectory) -> CheckpointScore:
    expected = {canonical_table(t) for t in task.tables}
    explored = set(trajectory.tables_explored)
    score = jaccard(explored, expected)
    details = {"expected": sorted(expected), "explored": sorted(explored), "jaccard": score}
    return CheckpointScore("C2", score, details)


def query_iteration(trajectory: Trajectory) -> CheckpointScore:
    productive = len(trajectory.productive_queries)
    details = {
        "queries_with_rows": productive,
        "distinct_queries": len(trajectory.queries_run),
        "needed": 2,
    }
    return CheckpointScore("C3", 1.0 if productive >= 2 else 0.0, details)
