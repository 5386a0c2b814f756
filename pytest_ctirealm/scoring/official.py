"""Scoring runs over the official CTI-REALM files, whose ground truth is one regular
expression per column over result rows (no labelled events), with the same contract as
`Scorer`: `score(task, transcript) -> TaskScore`.

- C0 CTI analysis: with a judge, its relevance grade. Without one (the files tie no
  report to a task): 1 when a CTI tool was called and at least one report read *shares*
  something with the task, else 0. A report shares when its title, tags or text name one
  of the task's ATT&CK techniques (the same parent technique counts: T1059.004 and T1059
  share), or when one of its tags holds a word of four letters or more that the
  objective uses (a trailing "s" ignored).
- C1 MITRE mapping, C2 data exploration, C3 query iteration: as on our data (the same
  code, `scoring.checkpoints`).
- C4 detection quality: the submitted KQL is re-run over the full official telemetry
  (the scorer's row cap, not the tool's 10 rows) and the rows it returns, in the JSON form
  the tools show, are scored with the reference's released row formula
  (`compat.row_f1(...).released_score`: row precision, recall, the perfect-row bonus, and
  the lab gates, since these are the lab's data). Each Sigma rule is converted and run
  the same way and the rows of all of them scored together; Sigma quality is
  0.25 x syntax + 0.75 x that score (with a judge: 0.75 x the mean of that score and
  the judge's specificity). C4 = (5.0 x KQL score + 1.5 x Sigma quality) / 6.5. So the
  score is of what the query returns, never of the rows the agent says it returned.
- compat: the reference's reward, its C4 from the reported `query_results` that a tool
  call really returned (`scoring.fabrication`), lab gates on.

The record's detection block holds the re-run query's row precision, recall and F1
(rows matching at least one pattern / rows; patterns matched / patterns), not event
counts: `false_positives` there is the rows that match no pattern.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_ctirealm.agent.transcript import Transcript
from pytest_ctirealm.dataset import Report, Task
from pytest_ctirealm.engines.kusto_values import to_json_value
from pytest_ctirealm.official_workspace import OfficialWorkspace
from pytest_ctirealm.scoring.checkpoints import (
    CheckpointScore,
    TaskScore,
    apply_compat,
    cti_checkpoint,
    data_exploration,
    judge_sigma,
    judged_quality,
    mitre_mapping,
    query_iteration,
)
from pytest_ctirealm.scoring.compat import RowF1, row_f1
from pytest_ctirealm.scoring.detection import (
    KQL_SHARE,
    SCORING_MAX_ROWS,
    SIGMA_EXECUTION_WEIGHT,
    SIGMA_SHARE,
    SIGMA_SYNTAX_WEIGHT,
    Linter,
    run_query,
    run_sigma,
)
from pytest_ctirealm.scoring.fabrication import check_query_results
from pytest_ctirealm.scoring.judge import Judge, JudgeError
from pytest_ctirealm.scoring.trajectory import Trajectory, read_trajectory, technique_ids

#: Shortest tag word that counts as shared with an objective (skips "and", "the", ...).
MIN_TAG_WORD = 4
_WORD = re.compile(r"[a-z0-9]+")
C0_RULE = "a report read names a technique of the task or has a tag word of its objective"


def _fold(word: str) -> str:
    return word[:-1] if len(word) > MIN_TAG_WORD and word.endswith("s") else word


def _parent(technique: str) -> str:
    return technique.split(".", 1)[0]


def report_overlap(report: Report, task: Task) -> list[str]:
    """What *report* shares with *task*: technique ids and tag words (empty: nothing)."""
    parents = {_parent(t) for t in task.techniques}
    named = technique_ids(" ".join((report.title, " ".join(report.tags), report.content)))
    shared = sorted(t for t in named if _parent(t) in parents)
    objective = {_fold(w) for w in _WORD.findall(task.objective.lower())}
    for tag in report.tags:
        words = [w for w in _WORD.findall(tag.lower()) if len(w) >= MIN_TAG_WORD]
        if any(_fold(w) in objective for w in words):
            shared.append(f"tag:{tag}")
    return shared


def jsonable_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the tools show them (times as ISO text), which the row regexes expect."""
    return [{key: to_json_value(value) for key, value in row.items()} for row in records]


def row_details(rows: RowF1) -> dict[str, Any]:
    """A row-regex result as checkpoint details show it."""
    out: dict[str, Any] = {
        "score": round(rows.released_score, 6),
        "precision": round(rows.row_precision, 6),
        "recall": round(rows.recall, 6),
        "f1": round(rows.row_f1, 6),
        "rows": rows.rows,
        "relevant_rows": rows.relevant_rows,
        "perfect_rows": rows.perfect_rows,
        "patterns_matched": list(rows.fields_found),
    }
    if rows.gate_failure:
        out["lab_gate"] = rows.gate_failure
    if rows.invalid_patterns:
        out["invalid_patterns"] = list(rows.invalid_patterns)
    return out


class OfficialScorer:
    """Scores runs against one official workspace (its tables and regex ground truth)."""

    def __init__(
        self, workspace: OfficialWorkspace, linter: Linter | None = None, judge: Judge | None = None
    ) -> None:
        self.workspace = workspace
        self.linter = linter
        self.judge = judge

    def patterns(self, task: Task) -> dict[str, str]:
        """The task's ground truth: column -> regular expression."""
        return dict(self.workspace.dataset.task(task.id).patterns)

    def score(self, task: Task, transcript: Transcript) -> TaskScore:
        if transcript.status == "error":
            reason = transcript.error or "the run failed"
            return TaskScore.unscored(task.id, transcript.epoch, reason)
        trajectory = read_trajectory(transcript)
        checkpoints = {
            "C0": self._cti_analysis(task, trajectory, transcript),
            "C1": mitre_mapping(task, trajectory),
            "C2": data_exploration(task, trajectory),
            "C3": query_iteration(trajectory),
        }
        outcome = TaskScore(task.id, transcript.epoch, "scored", checkpoints)
        syntax, quality = self._detection_quality(task, transcript, outcome)
        failed = [f"{c.checkpoint}: {c.error}" for c in checkpoints.values() if c.score is None]
        if failed:
            outcome.status, outcome.error = "error", "; ".join(failed)
            return outcome
        apply_compat(outcome, self.patterns(task), syntax, quality, task_id=task.id)
        return outcome

    def _cti_analysis(
        self, task: Task, trajectory: Trajectory, transcript: Transcript
    ) -> CheckpointScore:
        reports = self.workspace.benchmark.reports
        read = sorted(trajectory.reports_read)
        sharing = {
            report_id: shared
            for report_id in read
            if report_id in reports and (shared := report_overlap(reports[report_id], task))
        }
        details: dict[str, Any] = {"read": read, "sharing": sharing, "scored": C0_RULE}
        score = 1.0 if sharing else 0.0
        return cti_checkpoint(score, details, task, trajectory, transcript, self.judge)

    def _detection_quality(
        self, task: Task, transcript: Transcript, outcome: TaskScore
    ) -> tuple[float, float]:
        """Fill C4, the fabrication check and the detection block; return the Sigma
        syntax and quality (for the compat score)."""
        submission = transcript.submission
        if not isinstance(submission, dict):
            why = transcript.error or f"the run ended with status {transcript.status!r}"
            outcome.checkpoints["C4"] = CheckpointScore(
                "C4", 0.0, {"reason": f"no submission: {why}"}
            )
            return 0.0, 0.0
        engine = self.workspace.engine()
        patterns = self.patterns(task)
        kql = submission.get("kql_query")
        query = run_query(kql if isinstance(kql, str) else "", engine)
        query_rows = row_f1(jsonable_rows(query.records), patterns, task_id=task.id)
        kql_details = row_details(query_rows)
        if query.error:
            kql_details["error"] = query.error
        if query.truncated:
            kql_details["truncated_at"] = SCORING_MAX_ROWS
        rule = submission.get("sigma_rule")
        text = rule if isinstance(rule, str) else ""
        sigma = run_sigma(text, engine, self.linter)
        sigma_rows = row_f1(jsonable_rows(sigma.records), patterns, task_id=task.id)
        quality = SIGMA_SYNTAX_WEIGHT * sigma.syntax + SIGMA_EXECUTION_WEIGHT * (
            sigma_rows.released_score
        )
        sigma_details: dict[str, Any] = {"quality": round(quality, 6), "syntax": sigma.syntax}
        sigma_details |= row_details(sigma_rows)
        sigma_details["rules"] = [
            {"title": r.title, "table": r.table, "kql": r.kql} for r in sigma.rules
        ]
        for key, value in (("lint", sigma.lint), ("failures", sigma.failures)):
            if value:
                sigma_details[key] = list(value)
        if sigma.error:
            sigma_details["error"] = sigma.error
        outcome.fabrication = check_query_results(
            submission.get("query_results"),
            transcript,
            None if query.error else query.records,
        )
        details: dict[str, Any] = {
            "kql": kql_details,
            "sigma": sigma_details,
            "query_results": outcome.fabrication.details(),
            "patterns": patterns,
            "scored": "row regex (released formula, lab gates) over the re-run rows",
        }
        outcome.detection = {
            "scoring": "row-regex",
            "precision": query_rows.row_precision,
            "recall": query_rows.recall,
            "f1": query_rows.row_f1,
            "score": query_rows.released_score,
            "rows": query_rows.rows,
            "relevant_rows": query_rows.relevant_rows,
            "false_positives": query_rows.rows - query_rows.relevant_rows,
            "sigma_f1": sigma_rows.row_f1,
        }
        if self.judge is not None:
            try:
                verdict = judge_sigma(self.judge, task, text, sigma_details)
            except JudgeError as exc:
                error = f"Sigma specificity judge: {exc}"
                outcome.checkpoints["C4"] = CheckpointScore("C4", None, details, error)
                return sigma.syntax, quality
            if verdict is not None:
                outcome.sigma_judge = verdict
                quality = judged_quality(sigma.syntax, sigma_rows.released_score, verdict.score)
                sigma_details["quality"] = round(quality, 6)
                sigma_details["scored"] = "0.25 x syntax + 0.75 x mean(row score, judge)"
        score = KQL_SHARE * query_rows.released_score + SIGMA_SHARE * quality
        outcome.checkpoints["C4"] = CheckpointScore("C4", score, details)
        return sigma.syntax, quality
