"""What a Sigma rule is expected to detect, and how well.

A rule names its tasks under a `ctirealm` key (`ctirealm: {tasks: [linux_003],
min_recall: 0.9}`), or a mapping file does it for rules that must stay untouched (e.g. a
SigmaHQ checkout): `{<rule id or file name>: {tasks: [...], ...}}`. A rule with no task
is a general rule, checked only for how much benign activity it fires on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_KEYS = {"tasks", "min_recall", "min_precision", "max_false_positives", "noise_budget"}


class RuleTargetError(ValueError):
    """A malformed `ctirealm` section or mapping entry."""


@dataclass(frozen=True)
class Floors:
    min_recall: float = 1.0
    min_precision: float = 1.0
    max_false_positives: int = 0
    noise_budget: int = 10


@dataclass(frozen=True)
class RuleTarget:
    tasks: tuple[str, ...]
    floors: Floors

    @property
    def is_general(self) -> bool:
        return not self.tasks


def _fraction(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise RuleTargetError(f"{where}: '{key}' must be a number from 0 to 1, got {value!r}")
    return float(value)


def _count(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleTargetError(f"{where}: '{key}' must be a whole number >= 0, got {value!r}")
    return value


def parse_target(spec: Any, defaults: Floors, where: str) -> RuleTarget:
    """A target from a `ctirealm` section (or mapping entry), over *defaults*."""
    if spec is None:
        return RuleTarget((), defaults)
    if not isinstance(spec, Mapping):
        raise RuleTargetError(f"{where}: 'ctirealm' must be a mapping")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise RuleTargetError(
            f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})"
        )
    tasks = spec.get("tasks", [])
    if isinstance(tasks, str):
        tasks = [tasks]
    if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
        raise RuleTargetError(f"{where}: 'tasks' must be a list of task ids")
    floors = Floors(
        min_recall=_fraction(spec.get("min_recall", defaults.min_recall), "min_recall", where),
        min_precision=_fraction(
            spec.get("min_precision", defaults.min_precision), "min_precision", where
        ),
        max_false_positives=_count(
            spec.get("max_false_positives", defaults.max_false_positives),
            "max_false_positives",
            where,
        ),
        noise_budget=_count(spec.get("noise_budget", defaults.noise_budget), "noise_budget", where),
    )
    return RuleTarget(tuple(tasks), floors)


def load_mapping(path: Path) -> dict[str, Any]:
    """A mapping file: rule id or rule file name -> target spec."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RuleTargetError(f"{path}: cannot read the rule mapping ({exc})") from None
    if not isinstance(data, Mapping):
        raise RuleTargetError(f"{path}: expected a mapping of rule id or file name to targets")
    return {str(key): value for key, value in data.items()}
