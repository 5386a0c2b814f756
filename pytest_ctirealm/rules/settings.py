"""The rule-validation mode's settings for one session, read once from the command line
and ini file, and the shared objects the rule tests use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sigma.rule import SigmaRule

from pytest_ctirealm.rules.targets import Floors
from pytest_ctirealm.sigma.lint import RuleLinter
from pytest_ctirealm.workspace import Workspace


@dataclass
class RuleSettings:
    KEY: ClassVar[pytest.StashKey[RuleSettings]] = pytest.StashKey()

    roots: list[Path]
    floors: Floors
    mapping: dict[str, Any]
    baseline: dict[str, dict[str, Any]] | None
    baseline_path: Path | None
    update_baseline: bool
    tolerance: float
    workspace: Workspace
    cache_dir: Path
    _linter: RuleLinter | None = field(default=None, init=False, repr=False)

    def covers(self, path: Path) -> bool:
        """Whether *path* is one of the rule files or lies under a rule folder."""
        path = path.resolve()
        return any(path == root or root in path.parents for root in self.roots)

    def mapped(self, rule_id: str, file_name: str) -> Any:
        """The mapping file's entry for a rule, by id first, then file name."""
        return self.mapping.get(rule_id, self.mapping.get(file_name))

    def lint(self, rule: SigmaRule) -> list[str]:
        if self._linter is None:
            self._linter = RuleLinter(self.cache_dir / "attack")
        return [str(finding) for finding in self._linter.lint(rule)]
