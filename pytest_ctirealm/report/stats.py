"""Run statistics: a mean with its standard error and 95% confidence interval, and the
summary of a run (overall, per checkpoint, per platform, per epoch).

Aggregation, everywhere below: a task's score is the mean over its scored epochs, and a
run's score is the mean over tasks of those per-task means, so every task weighs the
same however many epochs succeeded. Errored attempts (agent, provider or judge
failures) are no score: they are left out of every mean and counted apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: The platforms of the benchmark, always present in a summary (with n = 0 when absent).
PLATFORMS = ("linux", "aks", "cloud")

#: Detection fields averaged like rewards, and those summed over attempts.
_DETECTION_MEANS = ("precision", "recall", "f1", "sigma_f1")
_DETECTION_TOTALS = ("true_positives", "false_positives", "false_negatives", "untraced_rows")

AGGREGATION = (
    "Per-task mean over scored epochs, then mean over tasks; errored attempts are "
    "excluded from every mean and counted apart."
)


@dataclass(frozen=True)
class Estimate:
    """A sample mean with its standard error and two-sided 95% t interval.

    With no values every field but n is None. With one value the spread is unknown, so
    stderr, ci_low and ci_high are None rather than 0 (a zero would claim certainty).
    """

    mean: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "stderr": self.stderr,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
        }


def mean_with_error(values: Iterable[float]) -> Estimate:
    """Mean, sample standard error (n - 1 in the variance) and 95% CI by Student's t."""
    data = [float(v) for v in values]
    n = len(data)
    if n == 0:
        return Estimate(None, None, None, None, 0)
    mean = math.fsum(data) / n
    if n == 1:
        return Estimate(mean, None, None, None, 1)
    stderr = sample_std(data) / math.sqrt(n)
    half = t_quantile(0.975, n - 1) * stderr
    return Estimate(mean, stderr, mean - half, mean + half, n)


def sample_std(values: Sequence[float]) -> float:
    """Standard deviation with n - 1 in the denominator (needs two values or more)."""
    if len(values) < 2:
        raise ValueError("a sample standard deviation needs at least two values")
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


# -- Student's t distribution ----------------------------------------------------------


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz evaluation)."""
    tiny = 1e-300

    def guard(value: float) -> float:
        return tiny if abs(value) < tiny else value

    c = 1.0
    d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0))
    result = d
    for m in range(1, 500):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        for term in (even, odd):
            d = 1.0 / guard(1.0 + term * d)
            c = guard(1.0 + term / c)
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def _regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The fraction converges fast on one side of the mean; use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with *df* degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    tail = 0.5 * _regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=256)
def t_quantile(p: float, df: int) -> float:
    """The t value below which a fraction *p* of the distribution lies (bisection)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


# -- Run summary -----------------------------------------------------------------------


def _where(record: Mapping[str, Any]) -> str:
    return f"task {record.get('task_id')!r} epoch {record.get('epoch')!r}"


def _number(record: Mapping[str, Any], value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{_where(record)}: field '{field}' must be a number, got {value!r}")
    return float(value)


def _is_scored(record: Mapping[str, Any]) -> bool:
    status = record.get("status")
    if status not in ("scored", "error"):
        raise ValueError(f"{_where(record)}: status must be 'scored' or 'error', got {status!r}")
    return bool(status == "scored")


def _reward(record: Mapping[str, Any]) -> float:
    reward = _number(record, record.get("reward"), "reward")
    if reward is None:
        raise ValueError(f"{_where(record)}: a scored record needs a numeric 'reward'")
    return reward


def _per_task(
    records: Iterable[Mapping[str, Any]], value: Callable[[Mapping[str, Any]], float | None]
) -> dict[str, list[float]]:
    """Values per task, one per scored record where *value* is not None."""
    found: dict[str, list[float]] = {}
    for record in records:
        v = value(record)
        if v is not None:
            found.setdefault(str(record["task_id"]), []).append(v)
    return found


def _task_means(per_task: Mapping[str, Sequence[float]]) -> list[float]:
    return [math.fsum(values) / len(values) for values in per_task.values()]


def _estimate(
    records: Sequence[Mapping[str, Any]], value: Callable[[Mapping[str, Any]], float | None]
) -> dict[str, Any]:
    return mean_with_error(_task_means(_per_task(records, value))).as_dict()


def _checkpoint(record: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    checkpoints = record.get("checkpoints") or {}
    entry = checkpoints.get(name)
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise ValueError(f"{_where(record)}: checkpoint {name!r} must be an object")
    return entry


def _checkpoints(scored: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    names = sorted({name for r in scored for name in (r.get("checkpoints") or {})})
    summary: dict[str, Any] = {}
    for name in names:
        entries = [(r, _checkpoint(r, name)) for r in scored]
        present = [(r, e) for r, e in entries if e is not None]
        weight = next((e.get("weight") for _, e in present if e.get("weight") is not None), None)

        def score(record: Mapping[str, Any], name: str = name) -> float | None:
            entry = _checkpoint(record, name)
            return None if entry is None else _number(record, entry.get("score"), name)

        def passed(record: Mapping[str, Any], name: str = name) -> float | None:
            entry = _checkpoint(record, name)
            if entry is None or entry.get("score") is None or entry.get("passed") is None:
                return None
            return 1.0 if entry.get("passed") else 0.0

        estimate = _estimate(scored, score)
        pass_rate = mean_with_error(_task_means(_per_task(scored, passed))).mean
        summary[name] = {
            "weight": weight,
            "score": estimate,
            "pass_rate": pass_rate,
            "contribution": (
                None if weight is None or estimate["mean"] is None else weight * estimate["mean"]
            ),
            "unscored": sum(1 for _, e in present if e.get("score") is None),
        }
    return summary


def _platforms(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    names = list(PLATFORMS) + sorted({str(r.get("platform")) for r in records} - set(PLATFORMS))
    summary: dict[str, Any] = {}
    for name in names:
        mine = [r for r in records if str(r.get("platform")) == name]
        scored = [r for r in mine if _is_scored(r)]
        summary[name] = {
            "reward": _estimate(scored, _reward),
            "tasks": len({r["task_id"] for r in mine}),
            "errors": len(mine) - len(scored),
        }
    return summary


def _epochs(scored: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    by_epoch: dict[int, list[float]] = {}
    for record in scored:
        by_epoch.setdefault(int(record["epoch"]), []).append(_reward(record))
    means = [
        {"epoch": epoch, "mean": math.fsum(values) / len(values), "n": len(values)}
        for epoch, values in sorted(by_epoch.items())
    ]
    repeated = [v for v in _per_task(scored, _reward).values() if len(v) >= 2]
    task_stds = [sample_std(values) for values in repeated]
    return {
        "means": means,
        "std_of_epoch_means": sample_std([m["mean"] for m in means]) if len(means) >= 2 else None,
        "per_task_std": math.fsum(task_stds) / len(task_stds) if task_stds else None,
        "tasks_with_repeats": len(task_stds),
    }


def _detection(scored: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def field(name: str) -> Callable[[Mapping[str, Any]], float | None]:
        def get(record: Mapping[str, Any]) -> float | None:
            detection = record.get("detection") or {}
            return _number(record, detection.get(name), f"detection.{name}")

        return get

    summary: dict[str, Any] = {name: _estimate(scored, field(name)) for name in _DETECTION_MEANS}
    for name in _DETECTION_TOTALS:
        values = [field(name)(r) for r in scored]
        summary[name] = int(sum(v for v in values if v is not None))
    return summary


def _generalisation(scored: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """C4 and KQL F1 on the explored telemetry and on the unseen ones, and the gap
    between them (explored - unseen); None when no record was scored on unseen data."""
    held_out = [r for r in scored if (r.get("detection") or {}).get("telemetries") == "unseen"]
    if not held_out:
        return None

    def get(*path: str) -> Callable[[Mapping[str, Any]], float | None]:
        def value(record: Mapping[str, Any]) -> float | None:
            found: Any = record.get("detection") or {}
            for key in path:
                found = found.get(key) if isinstance(found, Mapping) else None
            return _number(record, found, "detection." + ".".join(path))

        return value

    def gaps(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return {
            "explored_c4": _estimate(records, get("explored", "c4")),
            "unseen_c4": _estimate(records, get("unseen_c4")),
            "gap": _estimate(records, get("generalisation_gap")),
            "explored_f1": _estimate(records, get("explored", "f1")),
            "unseen_f1": _estimate(records, get("f1")),
        }

    platforms = sorted({str(r.get("platform")) for r in held_out})
    return {
        "holdout": max(int(r["detection"].get("holdout") or 0) for r in held_out),
        **gaps(held_out),
        "platforms": {
            name: gaps([r for r in held_out if str(r.get("platform")) == name])
            for name in platforms
        },
    }


def _usage(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def total(get: Callable[[Mapping[str, Any]], Any], field: str) -> float:
        return math.fsum(_number(r, get(r), field) or 0.0 for r in records)

    return {
        "input_tokens": int(total(lambda r: (r.get("tokens") or {}).get("input"), "tokens")),
        "output_tokens": int(total(lambda r: (r.get("tokens") or {}).get("output"), "tokens")),
        "tool_calls": int(total(lambda r: r.get("tool_calls"), "tool_calls")),
        "duration": total(lambda r: r.get("duration"), "duration"),
    }


def summarize(
    records: Sequence[Mapping[str, Any]], metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON-able summary of a run's records (see the module docstring for how)."""
    for record in records:
        if not isinstance(record, Mapping) or "task_id" not in record or "epoch" not in record:
            raise ValueError(f"not a task record (needs task_id and epoch): {record!r:.120}")
    scored = [r for r in records if _is_scored(r)]
    tasks = {str(r["task_id"]) for r in records}
    scored_tasks = {str(r["task_id"]) for r in scored}
    expected_epochs = (metadata or {}).get("epochs")
    attempts: dict[str, int] = {}
    for record in records:
        attempts[str(record["task_id"])] = attempts.get(str(record["task_id"]), 0) + 1
    incomplete = (
        sorted(t for t, n in attempts.items() if n < expected_epochs)
        if isinstance(expected_epochs, int)
        else []
    )
    return {
        "aggregation": AGGREGATION,
        "counts": {
            "records": len(records),
            "scored": len(scored),
            "errors": len(records) - len(scored),
            "tasks": len(tasks),
            "tasks_scored": len(scored_tasks),
            "tasks_unscored": sorted(tasks - scored_tasks),
            "tasks_incomplete": incomplete,
        },
        "reward": _estimate(scored, _reward),
        "compat": _estimate(scored, lambda r: _number(r, r.get("compat"), "compat")),
        "checkpoints": _checkpoints(scored),
        "platforms": _platforms(records),
        "epochs": _epochs(scored),
        "detection": _detection(scored),
        "generalisation": _generalisation(scored),
        "usage": _usage(records),
        "errors": [
            {"task_id": r["task_id"], "epoch": r["epoch"], "error": r.get("error")}
            for r in sorted(records, key=lambda r: (str(r["task_id"]), int(r["epoch"])))
            if not _is_scored(r)
        ],
    }
