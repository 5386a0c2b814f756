"""Linting Sigma rules with pySigma's core validators and SigmaHQ's, offline.

Every per-rule validator runs except those that need data we do not ship (D3FEND tags),
those written for Windows log sources or SigmaHQ's own repository layout (file names),
and the custom-attribute checks (our `ctirealm` key is a documented custom attribute).
ATT&CK tags are checked against local ATT&CK data (`sigma.attack`), field names and log
sources against a local taxonomy (`sigma.sigmahq_data`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sigma.rule import SigmaRule
from sigma.validation import SigmaValidator
from sigma.validators.core import validators as CORE_VALIDATORS
from sigma.validators.sigmahq import validators as SIGMAHQ_VALIDATORS

from pytest_ctirealm.sigma.attack import use_offline_attack_data
from pytest_ctirealm.sigma.sigmahq_data import use_offline_sigmahq_data

EXCLUDED = frozenset(
    {
        "d3_fendtag",
        "custom_attributes",
        "fieldname_logsource",
        "specific_instead_of_generic_logsource",
        # Uniqueness across a collection is checked per session, not per rule.
        "identifier_uniqueness",
        "duplicate_title",
        "duplicate_filename",
    }
)


@dataclass(frozen=True)
class LintFinding:
    severity: str
    validator: str
    description: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.description} ({self.validator})"


class RuleLinter:
    def __init__(self, cache_dir: Path) -> None:
        use_offline_attack_data(cache_dir)
        use_offline_sigmahq_data(cache_dir / "sigmahq")
        validators = {**CORE_VALIDATORS, **SIGMAHQ_VALIDATORS}
        self._validator = SigmaValidator(
            [cls for name, cls in validators.items() if name not in EXCLUDED]
        )

    def lint(self, rule: SigmaRule) -> list[LintFinding]:
        return [
            LintFinding(issue.severity.name.lower(), type(issue).__name__, _describe(issue))
            for issue in self._validator.validate_rule(rule)
        ]


def _describe(issue: object) -> str:
    """The validator's description, with the tag, detection or value it is about."""
    text = str(getattr(issue, "description", issue))
    for detail in ("tag", "detection", "modifier", "value", "field"):
        value = getattr(issue, detail, None)
        if value is not None:
            return f"{text}: {value}"
    return text
