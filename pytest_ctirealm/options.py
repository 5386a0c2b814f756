"""Every `--ctirealm-*` option, each also settable in the ini file (`ctirealm_*`), so a
detection repository can make plain `pytest` validate its rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Option:
    name: str  # without the leading --ctirealm-
    help: str
    type: type = str
    default: Any = None
    multiple: bool = False
    flag: bool = False
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return "ctirealm_" + self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("rules", "Sigma rule file, folder or glob to validate (repeatable)", multiple=True),
    Option("rules-map", "YAML file mapping rule ids or file names to tasks and floors"),
    Option("seed", "telemetry seed (default 0)", int, 0),
    Option("scale", "telemetry scale: 1 = two days of a small company (default 1)", float, 1.0),
    Option("min-recall", "recall a task-mapped rule must reach (default 1.0)", float, 1.0),
    Option("min-precision", "precision a task-mapped rule must reach (default 1.0)", float, 1.0),
    Option(
        "max-false-positives", "false positives a task-mapped rule may have (default 0)", int, 0
    ),
    Option("noise-budget", "benign events a general rule may fire on (default 10)", int, 10),
    Option("baseline", "baseline file to compare against (fails real drops)"),
    Option("update-baseline", "write the baseline file from this run", flag=True, default=False),
    Option(
        "baseline-tolerance", "score drop tolerated against the baseline (default 0.0)", float, 0.0
    ),
    # -- benchmark runs ------------------------------------------------------------------
    Option(
        "model",
        "run the benchmark with this agent: provider/model (openai/..., azure/..., "
        "anthropic/...), oracle, baseline, or replay:PATH",
    ),
    Option(
        "agent", "run the benchmark with your own agent: module:factory (factory(task) -> Model)"
    ),
    Option("submissions", "score final answers from DIR/<task_id>.json, with no agent run"),
    Option("suite", "tasks to run: 25, 50 or all (default 50)", default="50"),
    Option(
        "dataset",
        "run over the official CTI-REALM files in DIR (its cti_realm folder, or the dataset "
        "repository above it) instead of the simulated telemetry",
        metavar="DIR",
    ),
    Option("epochs", "runs of every task (default 1)", int, 1),
    Option(
        "holdout",
        "unseen telemetries C4 is scored on (other seeds, never shown to the agent); "
        "0 scores on the explored telemetry only, as the reference (default 2)",
        int,
        2,
        metavar="N",
    ),
    Option("message-limit", "messages per run (default 70, as the reference)", int, 70),
    Option("variant", "standard, minimal (no CTI/MITRE/Sigma tools) or seeded", default="standard"),
    Option("engine", "embedded (default), kustainer or adx", default="embedded"),
    Option("cluster", "Azure Data Explorer cluster URL (with --ctirealm-engine=adx)"),
    Option("database", "Azure Data Explorer database (with --ctirealm-engine=adx)"),
    Option(
        "floor",
        "pass mark of a checkpoint or the reward, e.g. C4=0.8 or reward=0.6 (repeatable)",
        multiple=True,
        metavar="NAME=VALUE",
    ),
    Option("fail-under", "fail the run when the mean reward is below this", float),
    Option("report", "write results.json, report.html and the transcripts to DIR"),
    Option(
        "grader",
        "also grade C0 relevance and Sigma specificity with this LLM judge: provider/model "
        "(openai/..., azure/..., anthropic/...)",
    ),
    Option("resume", "keep finished runs of an interrupted session", flag=True, default=False),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("ctirealm", "CTI-REALM detection benchmark and Sigma rule validation")
    for option in OPTIONS:
        if option.flag:
            group.addoption(
                f"--ctirealm-{option.name}",
                action="store_true",
                default=None,
                dest=option.dest,
                help=option.help,
            )
            parser.addini(option.dest, option.help, type="bool", default=option.default)
        elif option.multiple:
            group.addoption(
                f"--ctirealm-{option.name}",
                action="append",
                dest=option.dest,
                metavar=option.metavar or "PATH",
                help=option.help,
            )
            parser.addini(option.dest, option.help, type="linelist", default=[])
        else:
            group.addoption(
                f"--ctirealm-{option.name}",
                dest=option.dest,
                metavar=option.metavar or option.name.split("-")[-1].upper(),
                help=option.help,
            )
            parser.addini(option.dest, option.help, default=option.default)


def setting(config: pytest.Config, name: str) -> Any:
    """The option's value from the command line, else the ini file, else its default,
    converted to its type (a bad value is a usage error naming the option)."""
    option = next(o for o in OPTIONS if o.name == name)
    value = config.getoption(option.dest)
    if value is None or value == []:
        value = config.getini(option.dest)
    if option.flag or option.multiple or value is None:
        return value
    try:
        return option.type(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(
            f"--ctirealm-{name} / ctirealm_{option.dest[9:]}: {value!r} is not a valid "
            f"{option.type.__name__}"
        ) from None
