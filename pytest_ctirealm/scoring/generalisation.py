"""Scoring a detection on intrusions the agent never saw.

The agent's tools see one telemetry: the explored seed. A detection is worth what it
catches in the next intrusion of the same kind, so the scorer also re-runs the
submission on `holdout` unseen telemetries: other seeds, each with its own benign
background and a fresh instance of every campaign. C4 is the mean over the unseen
telemetries; the explored figures are kept beside it, and their difference is the
generalisation gap. A detection pinned to the explored values (addresses, file names,
event ids) scores on the explored telemetry only; a detection of the behaviour scores
the same everywhere.

The unseen seeds are derived from the run's seed by a hash, so a run is reproducible and
no seed is ever reachable through a tool (the tools query the explored engine only).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_ctirealm.scoring.detection import KQL_SHARE, SIGMA_SHARE, QueryScore, SigmaScore

#: Unseen telemetries a benchmark run scores on unless told otherwise.
DEFAULT_HOLDOUT = 2


def holdout_seeds(seed: int, count: int) -> list[int]:
    """The seeds of the *count* unseen telemetries of a run explored on *seed*: distinct,
    never *seed* itself, the same for the same arguments."""
    seeds: list[int] = []
    attempt = 0
    while len(seeds) < count:
        digest = hashlib.sha256(f"ctirealm-holdout/{seed}/{attempt}".encode()).digest()
        candidate = int.from_bytes(digest[:4], "big") % 1_000_000_000
        if candidate != seed and candidate not in seeds:
            seeds.append(candidate)
        attempt += 1
    return seeds


@dataclass(frozen=True)
class TelemetryScore:
    """A submission's KQL and Sigma rule scored over one telemetry."""

    seed: int
    positives: int
    query: QueryScore
    sigma: SigmaScore
    #: The Sigma quality that counts (with a judge: its specificity grade mixed in).
    sigma_quality: float

    @property
    def c4(self) -> float:
        return KQL_SHARE * self.query.score.f1 + SIGMA_SHARE * self.sigma_quality

    def summary(self) -> dict[str, Any]:
        """The few numbers a person compares across telemetries."""
        query, sigma = self.query.score, self.sigma.score
        out: dict[str, Any] = {
            "seed": self.seed,
            "score": round(self.c4, 6),
            "positives": self.positives,
            "kql": {
                "f1": round(query.f1, 6),
                "precision": round(query.precision, 6),
                "recall": round(query.recall, 6),
                "true_positives": query.true_positives,
                "false_positives": query.false_positives,
                "false_negatives": query.false_negatives,
            },
            "sigma": {"f1": round(sigma.f1, 6), "quality": round(self.sigma_quality, 6)},
        }
        if self.query.error:
            out["kql"]["error"] = self.query.error
        elif self.query.trace is not None:
            out["kql"]["tracing"] = self.query.trace.explain()
        return out


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def generalisation(explored: TelemetryScore, unseen: Sequence[TelemetryScore]) -> dict[str, Any]:
    """C4's details about where it was scored: the explored figures, each unseen
    telemetry's, their mean (what C4 is) and the gap between the two."""
    if not unseen:
        return {"scored_on": "explored", "holdout": 0, "explored_score": round(explored.c4, 6)}
    unseen_score = mean([u.c4 for u in unseen])
    return {
        "scored_on": "unseen",
        "holdout": len(unseen),
        "explored_seed": explored.seed,
        "explored_score": round(explored.c4, 6),
        "unseen_score": round(unseen_score, 6),
        "generalisation_gap": round(explored.c4 - unseen_score, 6),
        "unseen": [u.summary() for u in unseen],
    }


def detection_record(explored: TelemetryScore, unseen: Sequence[TelemetryScore]) -> dict[str, Any]:
    """The record's `detection` block: the scored numbers (means over the unseen
    telemetries; counts summed over them) with the explored telemetry's beside them."""
    scored = list(unseen) or [explored]

    def figures(scores: Sequence[TelemetryScore]) -> dict[str, Any]:
        return {
            "precision": mean([s.query.score.precision for s in scores]),
            "recall": mean([s.query.score.recall for s in scores]),
            "f1": mean([s.query.score.f1 for s in scores]),
            "true_positives": sum(s.query.score.true_positives for s in scores),
            "false_positives": sum(s.query.score.false_positives for s in scores),
            "false_negatives": sum(s.query.score.false_negatives for s in scores),
            "untraced_rows": sum(s.query.trace.untraced if s.query.trace else 0 for s in scores),
            "sigma_f1": mean([s.sigma.score.f1 for s in scores]),
        }

    out = figures(scored) | {"telemetries": "unseen" if unseen else "explored"}
    if unseen:
        out["holdout"] = len(unseen)
        out["explored"] = figures([explored]) | {"c4": explored.c4}
        out["unseen_c4"] = mean([u.c4 for u in unseen])
        out["generalisation_gap"] = explored.c4 - out["unseen_c4"]
    return out
