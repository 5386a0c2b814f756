"""C4's evidence: the submitted KQL and Sigma rule, re-run by the scorer over the full
telemetry (no 10-row cap) and judged on the events their rows stand for.

- The KQL query's rows are traced to events (`scoring.trace`); precision, recall and F1
  are over the task's positive events, every other event found is a false positive.
  Joins and unions are traced per table they read; a multi-table task's positives span
  its tables, so a query over one of them can reach only that share of recall.
- The Sigma submission may hold several rules (one YAML document each: a cloud task's
  detection usually needs one per table); each document is parsed on its own (a broken
  one costs only its rules), each rule converted with the project's pipeline and run,
  and the events of all of them are scored together. Its quality is
  0.25 x syntax + 0.75 x executed F1, where syntax is 1 for a rule that parses, converts
  and has no high-severity lint finding, 0.5 when it converts with such findings, and 0
  when it does not parse or convert (the reference judged both parts with an LLM).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from pytest_ctirealm.engines import Engine, EngineError
from pytest_ctirealm.json_types import json_type
from pytest_ctirealm.scoring.events import EventRef, EventScore, score_events
from pytest_ctirealm.scoring.trace import RowTracer, Trace
from pytest_ctirealm.sigma.convert import ConvertedRule, SigmaConversionError, convert_rule

#: The scorer's own limits: far above any detection's result, still bounded.
SCORING_MAX_ROWS = 2_000_000
SCORING_TIMEOUT = 120.0
SIGMA_SYNTAX_WEIGHT = 0.25
SIGMA_EXECUTION_WEIGHT = 0.75
#: C4's split between the executed KQL and the Sigma rule (the reference's 5.0 + 1.5).
KQL_SHARE = 5.0 / 6.5
SIGMA_SHARE = 1.5 / 6.5


class Linter(Protocol):
    def lint(self, rule: Any) -> list[Any]: ...


@dataclass(frozen=True)
class QueryScore:
    """What one query does over the full telemetry."""

    score: EventScore
    error: str | None = None
    trace: Trace | None = None
    truncated: bool = False
    #: The result's rows, as the engine returned them (kept for the fabrication check).
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = _score_details(self.score)
        if self.error:
            out["error"] = self.error
        if self.trace is not None:
            out["rows"] = self.trace.rows
            out["untraced_rows"] = self.trace.untraced
            out["tracing"] = self.trace.explain()
        if self.truncated:
            out["truncated_at"] = SCORING_MAX_ROWS
        return out


def _score_details(score: EventScore) -> dict[str, Any]:
    return {
        "precision": round(score.precision, 6),
        "recall": round(score.recall, 6),
        "f1": round(score.f1, 6),
        "true_positives": score.true_positives,
        "false_positives": score.false_positives,
        "false_negatives": score.false_negatives,
    }


@dataclass(frozen=True)
class QueryRun:
    """A query as the scorer ran it: its rows, or why it did not run."""

    records: list[dict[str, Any]] = field(default_factory=list, repr=False)
    truncated: bool = False
    error: str | None = None


def run_query(kql: str, engine: Engine) -> QueryRun:
    """Run *kql* as the scorer does: full telemetry, read-only, time-boxed."""
    if not kql.strip():
        return QueryRun(error="the submitted KQL query is empty")
    try:
        result = engine.query(kql, max_rows=SCORING_MAX_ROWS, timeout=SCORING_TIMEOUT)
    except EngineError as exc:
        return QueryRun(error=f"the submitted query fails when re-run: {exc}")
    return QueryRun(result.records(), result.truncated)


def submitted_text(value: Any, what: str) -> tuple[str, str | None]:
    """A submitted field as text, and why it cannot be used when it is not text: an
    array or an object where a string belongs is a wrong type, said as such, not an
    empty answer."""
    if value is None or isinstance(value, str):
        return value or "", None
    return "", f"the submitted {what} must be a string, got {json_type(value)}"


def score_query(
    kql: str,
    engine: Engine,
    tracer: RowTracer,
    positives: set[EventRef],
    *,
    problem: str | None = None,
) -> QueryScore:
    """Run *kql* as the scorer (full telemetry, read-only, time-boxed) and score it;
    with *problem* (the submission's query was unusable), score nothing and say why."""
    if problem is not None:
        return QueryScore(score_events(set(), positives), problem)
    run = run_query(kql, engine)
    if run.error is not None:
        return QueryScore(score_events(set(), positives), run.error)
    trace = tracer.trace(run.records, kql)
    return QueryScore(
        score_events(trace.events, positives), None, trace, run.truncated, run.records
    )


@dataclass(frozen=True)
class SigmaScore:
    score: EventScore
    syntax: float
    error: str | None = None
    rules: tuple[ConvertedRule, ...] = ()
    lint: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()

    @property
    def quality(self) -> float:
        return SIGMA_SYNTAX_WEIGHT * self.syntax + SIGMA_EXECUTION_WEIGHT * self.score.f1

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quality": round(self.quality, 6), "syntax": self.syntax}
        out |= _score_details(self.score)
        out["rules"] = [{"title": r.title, "table": r.table, "kql": r.kql} for r in self.rules]
        if self.lint:
            out["lint"] = list(self.lint)
        if self.error:
            out["error"] = self.error
        if self.failures:
            out["failures"] = list(self.failures)
        return out


@dataclass(frozen=True)
class SigmaPlan:
    """A Sigma submission parsed, linted and converted: what is the same on every
    telemetry it runs over.

    `error` says why nothing can run (no text, no parse, no rule converts); `failures` are
    the rules that did not convert, beside those that did.
    """

    error: str | None = None
    rules: tuple[ConvertedRule, ...] = ()
    lint: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    high_findings: bool = False


@dataclass(frozen=True)
class SigmaRun:
    """A Sigma submission run over one telemetry: what each converted rule returned.

    `failures` are the plan's, plus the rules that failed to run here.
    """

    error: str | None = None
    rules: tuple[ConvertedRule, ...] = ()
    lint: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    #: Each converted rule that ran, with its rows.
    runs: tuple[tuple[ConvertedRule, QueryRun], ...] = ()
    high_findings: bool = False

    @property
    def syntax(self) -> float:
        """1 when every rule parses, converts and runs with no high-severity lint
        finding, 0.5 when some did not or have such findings, 0 when none converts."""
        if self.error is not None or not self.rules:
            return 0.0
        return 0.5 if self.high_findings or self.failures else 1.0

    @property
    def records(self) -> list[dict[str, Any]]:
        """The rows of every rule that ran, one rule after the other."""
        return [row for _, run in self.runs for row in run.records]


#: A line that separates YAML documents (`---`, optionally followed by a comment).
_DOCUMENT_BREAK = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)


def sigma_documents(text: str) -> list[str]:
    """The YAML documents of *text*, blank ones dropped: each is parsed on its own, so
    one malformed document costs only its own rules."""
    return [doc for doc in _DOCUMENT_BREAK.split(text) if doc.strip()]


def plan_sigma(text: str, linter: Linter | None = None) -> SigmaPlan:
    """Parse, lint and convert every rule in *text* (nothing runs), document by document."""
    if not text.strip():
        return SigmaPlan("the submitted Sigma rule is empty")
    failures: list[str] = []
    rules: list[SigmaRule | Any]
    documents: list[str] = []
    try:  # whole first, so that collection actions (`action: global`) span documents
        rules = list(SigmaCollection.from_yaml(text).rules)
    except Exception:  # a broken document: parse them one by one and keep the others
        rules, documents = [], sigma_documents(text)
    for number, document in enumerate(documents, 1):
        where = f"document {number} of {len(documents)}: " if len(documents) > 1 else ""
        try:
            rules += SigmaCollection.from_yaml(document).rules
        except SigmaError as exc:
            failures.append(f"{where}not a valid Sigma rule: {exc}")
        except Exception as exc:  # YAML and type errors from pySigma's parser
            failures.append(f"{where}not valid Sigma YAML: {type(exc).__name__}: {exc}")
    if not rules:
        return SigmaPlan("; ".join(failures) or "the Sigma submission holds no rule")
    converted: list[ConvertedRule] = []
    lint: list[str] = []
    high = False
    for rule in rules:
        if not isinstance(rule, SigmaRule):
            failures.append(f"'{rule.title}': correlation rules are not run (no KQL backend)")
            continue
        if linter is not None:
            for finding in linter.lint(rule):
                lint.append(str(finding))
                high = high or getattr(finding, "severity", "") in ("high", "critical")
        try:
            converted.append(convert_rule(rule, "submission"))
        except SigmaConversionError as exc:
            failures.append(str(exc))
    error = None if converted else "no rule converts to KQL: " + "; ".join(failures)
    return SigmaPlan(error, tuple(converted), tuple(lint), tuple(failures), high)


def execute_sigma(plan: SigmaPlan, engine: Engine) -> SigmaRun:
    """Run each converted rule of *plan* over *engine*'s telemetry."""
    failures = list(plan.failures)
    runs: list[tuple[ConvertedRule, QueryRun]] = []
    if plan.error is None:
        for query in plan.rules:
            run = run_query(query.kql, engine)
            if run.error:
                failures.append(f"rule '{query.title}': {run.error}")
            else:
                runs.append((query, run))
    return SigmaRun(
        plan.error, plan.rules, plan.lint, tuple(failures), tuple(runs), plan.high_findings
    )


def run_sigma(text: str, engine: Engine, linter: Linter | None = None) -> SigmaRun:
    """Parse, lint, convert and run every rule in *text* (no scoring)."""
    return execute_sigma(plan_sigma(text, linter), engine)


def score_sigma(
    plan: SigmaPlan, engine: Engine, tracer: RowTracer, positives: set[EventRef]
) -> SigmaScore:
    """Run the rules of *plan* over *engine*'s telemetry; score their events together."""
    run = execute_sigma(plan, engine)
    if run.error is not None:
        missed = score_events(set(), positives)
        return SigmaScore(missed, 0.0, run.error, run.rules, run.lint, run.failures)
    events: set[EventRef] = set()
    for rule, result in run.runs:
        events |= tracer.trace(result.records, rule.kql).events
    return SigmaScore(
        score_events(events, positives), run.syntax, None, run.rules, run.lint, run.failures
    )
