"""Sigma rule files as pytest tests: one test per rule, with its own outcome, terminal
line and JUnit entry; a broken file or rule fails alone and never stops the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from pytest_ctirealm.rules.baseline import regressions
from pytest_ctirealm.rules.evaluate import evaluate
from pytest_ctirealm.rules.settings import RuleSettings
from pytest_ctirealm.rules.targets import RuleTargetError, parse_target
from pytest_ctirealm.sigma import SigmaConversionError, convert_rule

SCORE_KEYS = ("precision", "recall", "f1", "false_positives", "benign_hits")


class RuleFailure(Exception):
    """A rule that does not meet its bar; the message is the whole report."""


class SigmaRuleFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            documents = [d for d in yaml.safe_load_all(self.path.read_text(encoding="utf-8")) if d]
        except (OSError, yaml.YAMLError) as exc:
            yield SigmaRuleItem.from_parent(
                self, name="<file>", document=None, problem=f"not valid YAML ({exc})"
            )
            return
        names: set[str] = set()
        for index, document in enumerate(documents, start=1):
            title = document.get("title") if isinstance(document, dict) else None
            name = str(title) if title else f"rule {index}"
            if name in names:
                name = f"{name} [{index}]"
            names.add(name)
            yield SigmaRuleItem.from_parent(self, name=name, document=document, problem=None)


class SigmaRuleItem(pytest.Item):
    def __init__(self, *, document: Any, problem: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.document = document
        self.problem = problem
        if isinstance(document, dict):
            spec = document.get("ctirealm")
            if isinstance(spec, dict):
                self.extra_keyword_matches.update(str(t) for t in spec.get("tasks", []) or [])

    @property
    def settings(self) -> RuleSettings:
        settings: RuleSettings = self.config.stash[RuleSettings.KEY]
        return settings

    def _fail(self, reason: str) -> RuleFailure:
        return RuleFailure(f"{self.path}: rule '{self.name}': {reason}")

    def runtest(self) -> None:
        if self.problem is not None:
            raise RuleFailure(f"{self.path}: {self.problem}")
        if not isinstance(self.document, dict):
            raise self._fail("not a Sigma rule (expected a mapping of fields)")
        try:
            rule = SigmaRule.from_dict(self.document)
        except SigmaError as exc:
            raise self._fail(f"not a valid Sigma rule: {exc}") from None
        settings = self.settings
        try:
            spec = self.document.get("ctirealm", settings.mapped(str(rule.id), self.path.name))
            target = parse_target(spec, settings.floors, f"{self.path}: rule '{self.name}'")
        except RuleTargetError as exc:
            raise RuleFailure(str(exc)) from None
        for finding in settings.lint(rule):
            self.user_properties.append(("lint", finding))
        try:
            converted = convert_rule(rule, str(self.path))
        except SigmaConversionError as exc:
            raise RuleFailure(str(exc)) from None
        self.user_properties.append(("rule_key", self.baseline_key(rule)))
        workspace = settings.workspace
        try:
            workspace.engine()
        except Exception as exc:  # the telemetry is broken: say so once per rule, no traceback
            raise self._fail(
                f"the telemetry could not be prepared ({type(exc).__name__}: {exc})"
            ) from None
        outcome = evaluate(converted, target, workspace)
        self.user_properties.extend(outcome.properties)
        self.user_properties.append(("summary", outcome.summary))
        problems = []
        if not outcome.passed:
            problems.append(outcome.summary)
        before = settings.baseline.get(self.baseline_key(rule)) if settings.baseline else None
        if before is not None:
            now = {k: v for k, v in outcome.properties if k in SCORE_KEYS}
            problems += regressions(before, now, settings.tolerance)
        if problems:
            details = f"\n{outcome.details}" if outcome.details else ""
            raise self._fail("; ".join(problems) + details)

    def baseline_key(self, rule: SigmaRule) -> str:
        return str(rule.id) if rule.id else self.nodeid

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RuleFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, f"sigma rule: {self.name}"


def is_rule_file(path: Path) -> bool:
    return path.suffix.lower() in (".yml", ".yaml")
