"""What a benchmark run was asked for, read once from the options and ini file and
checked up front: a bad suite, agent or floor is a usage error before anything runs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_ctirealm import __version__
from pytest_ctirealm.agent.loop import DEFAULT_MESSAGE_LIMIT
from pytest_ctirealm.agent.tools import VARIANTS
from pytest_ctirealm.engines.choice import EngineChoice
from pytest_ctirealm.options import setting
from pytest_ctirealm.rules.session import engine_choice
from pytest_ctirealm.scoring.checkpoints import WEIGHTS
from pytest_ctirealm.telemetry.simulator import SIMULATOR_VERSION

#: More unseen telemetries than this add time, not information.
MAX_HOLDOUT = 10
SUITE_NAMES = {"25": "ctirealm-25", "50": "ctirealm-50", "all": "all"}
#: Pass marks unless --ctirealm-floor says otherwise.
DEFAULT_FLOORS: dict[str, float] = {
    "reward": 0.5,
    "C0": 0.5,
    "C1": 0.5,
    "C2": 0.5,
    "C3": 1.0,
    "C4": 0.5,
}


@dataclass(frozen=True)
class BenchSettings:
    #: "model:<spec>", "agent:<module:factory>" or "submissions:<dir>".
    agent: str
    suite: str
    epochs: int
    message_limit: int
    variant: str
    seed: int
    scale: float
    engine: EngineChoice
    floors: dict[str, float]
    fail_under: float | None
    report_dir: Path | None
    baseline_path: Path | None
    update_baseline: bool
    tolerance: float
    resume: bool
    run_dir: Path
    #: The telemetry cache, shared by runs and workers (`telemetry.cache`).
    telemetry_cache: Path
    #: The LLM judge's "provider/model", or None for deterministic scoring only.
    grader: str | None = None
    #: The official CTI-REALM files to run over (`--ctirealm-dataset`); None: our data.
    dataset: Path | None = None
    #: Unseen telemetries C4 is scored on (`scoring.generalisation`); 0 on the official
    #: files, which have one telemetry.
    holdout: int = 0

    @property
    def official_suite(self) -> str:
        """The official file set the suite reads: "25", or "50" (for 50 and all)."""
        return "25" if self.suite == "ctirealm-25" else "50"

    def metadata(self) -> dict[str, Any]:
        """The run's description, as results and JUnit record it."""
        if self.dataset is not None:
            return self._metadata() | {
                "dataset": f"official ({self.dataset})",
                "versions": {"pytest-ctirealm": __version__},
            }
        return self._metadata()

    def _metadata(self) -> dict[str, Any]:
        return {
            "model": self.agent.split(":", 1)[1],
            "agent_kind": self.agent.split(":", 1)[0],
            "suite": self.suite,
            "variant": self.variant,
            "epochs": self.epochs,
            "message_limit": self.message_limit,
            "seed": self.seed,
            "scale": self.scale,
            "holdout": self.holdout,
            "engine": self.engine.kind,
            "versions": {"pytest-ctirealm": __version__, "telemetry": SIMULATOR_VERSION},
        } | ({"grader": self.grader} if self.grader else {})


def _agent(config: pytest.Config) -> str | None:
    chosen = [
        (name, value)
        for name in ("model", "agent", "submissions")
        if (value := setting(config, name))
    ]
    if len(chosen) > 1:
        names = ", ".join(f"--ctirealm-{name}" for name, _ in chosen)
        raise pytest.UsageError(f"{names}: choose one way to produce answers")
    if not chosen:
        return None
    name, value = chosen[0]
    return f"{name}:{str(value).strip()}"


def _grader(config: pytest.Config) -> str | None:
    """The judge's spec, checked to name a provider (its key is checked when it is made)."""
    value = setting(config, "grader")
    if value is None or not str(value).strip():
        return None
    from pytest_ctirealm.agent.providers import parse_spec

    try:
        provider, model = parse_spec(str(value))
    except ValueError as exc:
        raise pytest.UsageError(f"--ctirealm-grader: {exc}") from None
    return f"{provider}/{model}"


def _dataset(config: pytest.Config, agent: str, engine: EngineChoice) -> Path | None:
    """The official files' folder, checked to exist and to fit the agent and engine."""
    value = setting(config, "dataset")
    if value is None or not str(value).strip():
        return None
    path = Path(config.rootpath, str(value).strip()).resolve()
    if not path.is_dir():
        raise pytest.UsageError(
            f"--ctirealm-dataset: {path} is not a folder (expected the official CTI-REALM "
            "files: data/, cti_reports/ and kusto_data/)"
        )
    if agent == "model:oracle":
        raise pytest.UsageError(
            "--ctirealm-model=oracle submits the benchmark's reference detections, which the "
            "official CTI-REALM files do not have; with --ctirealm-dataset use baseline, "
            "replay:PATH, a provider model, --ctirealm-agent or --ctirealm-submissions"
        )
    if engine.kind != "embedded":
        raise pytest.UsageError(
            f"--ctirealm-dataset runs on the embedded engine only, not {engine.kind!r}"
        )
    return path


def parse_floors(values: list[str]) -> dict[str, float]:
    floors = dict(DEFAULT_FLOORS)
    for value in values:
        name, sep, number = value.partition("=")
        key = name.strip()
        key = key.upper() if key.upper() in WEIGHTS else key.lower()
        if not sep or key not in floors:
            raise pytest.UsageError(
                f"--ctirealm-floor: {value!r} must be NAME=VALUE with NAME one of "
                + ", ".join(floors)
            )
        try:
            floors[key] = float(number)
        except ValueError:
            raise pytest.UsageError(f"--ctirealm-floor: {number!r} is not a number") from None
        if not 0.0 <= floors[key] <= 1.0:
            raise pytest.UsageError(f"--ctirealm-floor: {value!r} is outside [0, 1]")
    return floors


def _run_key(parts: dict[str, Any]) -> str:
    """Runs that would produce the same transcripts share a directory (for resuming)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def bench_settings(config: pytest.Config, cache_dir: Path) -> BenchSettings | None:
    """The run's settings, or None when no benchmark run was asked for."""
    agent = _agent(config)
    if agent is None:
        return None
    suite = str(setting(config, "suite")).strip().lower()
    suite = SUITE_NAMES.get(suite.removeprefix("ctirealm-"), "")
    if not suite:
        raise pytest.UsageError(
            f"--ctirealm-suite: {setting(config, 'suite')!r} is not a suite; use 25, 50 or all"
        )
    variant = str(setting(config, "variant")).strip().lower()
    if variant not in VARIANTS:
        raise pytest.UsageError(
            f"--ctirealm-variant: {variant!r} is not one of {', '.join(VARIANTS)}"
        )
    epochs = setting(config, "epochs")
    limit = setting(config, "message-limit") or DEFAULT_MESSAGE_LIMIT
    if epochs < 1 or limit < 4:
        raise pytest.UsageError("--ctirealm-epochs must be >= 1 and --ctirealm-message-limit >= 4")
    holdout = setting(config, "holdout")
    if not 0 <= holdout <= MAX_HOLDOUT:
        raise pytest.UsageError(
            f"--ctirealm-holdout: {holdout} is not between 0 and {MAX_HOLDOUT} "
            "(unseen telemetries to score on; 0 scores on the explored one only)"
        )
    engine = engine_choice(config)
    root = config.rootpath
    baseline = setting(config, "baseline")
    update = bool(setting(config, "update-baseline"))
    if update and not baseline:
        raise pytest.UsageError("--ctirealm-update-baseline needs --ctirealm-baseline=FILE")
    report = setting(config, "report")
    seed, scale = setting(config, "seed"), setting(config, "scale")
    dataset = _dataset(config, agent, engine)
    parts: dict[str, Any] = {
        "agent": agent,
        "variant": variant,
        "message_limit": limit,
        "seed": seed,
        "scale": scale,
        "engine": engine.kind,
        "version": __version__,
        "telemetry": SIMULATOR_VERSION,
    }
    if dataset is not None:  # runs over other data never share transcripts
        parts["dataset"] = str(dataset)
    key = _run_key(parts)
    return BenchSettings(
        agent=agent,
        suite=suite,
        epochs=epochs,
        message_limit=limit,
        variant=variant,
        seed=seed,
        scale=scale,
        engine=engine,
        floors=parse_floors(setting(config, "floor") or []),
        fail_under=setting(config, "fail-under"),
        report_dir=Path(root, report) if report else None,
        baseline_path=Path(root, baseline) if baseline else None,
        update_baseline=update,
        tolerance=setting(config, "baseline-tolerance"),
        resume=bool(setting(config, "resume")),
        run_dir=cache_dir / "runs" / key,
        telemetry_cache=cache_dir / "telemetry",
        grader=_grader(config),
        dataset=dataset,
        holdout=0 if dataset is not None else holdout,
    )
