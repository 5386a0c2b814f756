"""The benchmark's terminal summary, laid out like the paper's table (mean reward with
standard error and 95% CI; per checkpoint; per platform; spread over epochs), and the
one-paragraph explanation under a failed checkpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_ctirealm.scoring.checkpoints import TITLES


def _estimate(estimate: Mapping[str, Any]) -> str:
    mean = estimate.get("mean")
    if mean is None:
        return "-"
    text = f"{mean:.3f}"
    if estimate.get("stderr") is not None:
        text += f" ± {estimate['stderr']:.3f}"
        text += f"  [95% CI {estimate['ci_low']:.3f}, {estimate['ci_high']:.3f}]"
    return text + f"  (n={estimate.get('n', 0)})"


def summary_lines(summary: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    counts = summary["counts"]
    data = (
        f"dataset {run['dataset']}"
        if run.get("dataset")
        else f"seed {run['seed']} · scale {run['scale']:g} · holdout {run.get('holdout', 0)}"
    )
    lines = [
        f"model {run['model']} · suite {run['suite']} · variant {run['variant']} · "
        f"{data} · epochs {run['epochs']} · engine {run['engine']}",
        f"mean reward   {_estimate(summary['reward'])}",
    ]
    if summary["compat"].get("mean") is not None:
        lines.append(f"compat score  {_estimate(summary['compat'])}")
    lines.append("checkpoints:")
    for name, entry in summary["checkpoints"].items():
        score = entry["score"]
        rate = entry.get("pass_rate")
        lines.append(
            f"  {name} {TITLES.get(name, name):18} {_estimate(score)}"
            + (f"  passed {rate:.0%}" if rate is not None else "")
        )
    lines.append("platforms:")
    for name, entry in summary["platforms"].items():
        if entry["tasks"]:
            errors = f", {entry['errors']} errors" if entry["errors"] else ""
            lines.append(f"  {name:6} {_estimate(entry['reward'])}  {entry['tasks']} tasks{errors}")
    epochs = summary["epochs"]
    if len(epochs["means"]) > 1:
        means = ", ".join(f"{m['mean']:.3f}" for m in epochs["means"])
        lines.append(
            f"epochs: means {means}; std of epoch means {epochs['std_of_epoch_means']:.3f}"
            + (
                f"; mean per-task std {epochs['per_task_std']:.3f}"
                if epochs["per_task_std"] is not None
                else ""
            )
        )
    detection = summary.get("detection") or {}
    averages = [
        f"{name} {detection[name]['mean']:.3f}"
        for name in ("precision", "recall", "f1", "sigma_f1")
        if isinstance(detection.get(name), dict) and detection[name].get("mean") is not None
    ]
    if averages and run.get("dataset"):
        lines.append(
            "detection (KQL re-run, row regex): "
            + ", ".join(averages)
            + f"; {detection.get('false_positives', 0)} rows matching no pattern in all"
        )
    elif averages:
        lines.append(
            "detection (KQL re-run): "
            + ", ".join(averages)
            + f"; {detection.get('false_positives', 0)} false positives in all"
        )
    held_out = summary.get("generalisation")
    if held_out:
        lines.append(
            f"generalisation ({held_out['holdout']} unseen telemetries): "
            f"C4 explored {_mean(held_out['explored_c4'])} -> unseen "
            f"{_mean(held_out['unseen_c4'])}, gap {_mean(held_out['gap'])}; KQL F1 "
            f"explored {_mean(held_out['explored_f1'])} -> unseen {_mean(held_out['unseen_f1'])}"
        )
        for platform, gaps in held_out.get("platforms", {}).items():
            lines.append(
                f"  {platform}: C4 explored {_mean(gaps['explored_c4'])} -> unseen "
                f"{_mean(gaps['unseen_c4'])}, gap {_mean(gaps['gap'])}"
            )
    if counts["errors"]:
        lines.append(f"errors: {counts['errors']} runs could not be scored:")
        lines += [f"  {e['task_id']} epoch {e['epoch']}: {e['error']}" for e in summary["errors"]]
    return lines


def _mean(estimate: Mapping[str, Any]) -> str:
    return "n/a" if estimate.get("mean") is None else f"{estimate['mean']:.3f}"


def task_rewards(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Each scored task's mean reward over its scored epochs."""
    values: dict[str, list[float]] = {}
    for record in records:
        if record.get("status") == "scored" and record.get("reward") is not None:
            values.setdefault(str(record["task_id"]), []).append(float(record["reward"]))
    return {task: sum(v) / len(v) for task, v in sorted(values.items())}


def explain_checkpoint(checkpoint: str, details: Mapping[str, Any]) -> str:
    """What a checkpoint's details say, in a few lines a person reads in a CI log."""
    if checkpoint == "C4":
        lines = []
        if "reason" in details:
            return f"  {details['reason']}"
        kql, sigma = details.get("kql", {}), details.get("sigma", {})
        if "patterns" in details:
            return _explain_row_regex(details)
        if details.get("scored_on") == "unseen":
            lines += _explain_unseen(details)
        lines.append(
            f"  KQL: F1 {kql.get('f1', 0):.3f} (precision {kql.get('precision', 0):.3f}, recall "
            f"{kql.get('recall', 0):.3f}, {kql.get('false_positives', 0)} false positives, "
            f"{kql.get('false_negatives', 0)} missed of {details.get('positives', '?')})"
        )
        if kql.get("error"):
            lines.append(f"  KQL error: {kql['error']}")
        elif kql.get("tracing"):
            lines.append(f"  KQL rows: {kql['tracing']}")
        lines.append(
            f"  Sigma: quality {sigma.get('quality', 0):.3f} (syntax {sigma.get('syntax', 0)}, "
            f"executed F1 {sigma.get('f1', 0):.3f})"
        )
        if sigma.get("error"):
            lines.append(f"  Sigma error: {sigma['error']}")
        for failure in sigma.get("failures", []):
            lines.append(f"  Sigma: {failure}")
        fabricated = details.get("query_results", {}).get("unseen_rows")
        if fabricated:
            lines.append(f"  query_results: {fabricated} rows no tool call returned (not scored)")
        return "\n".join(lines)
    shown = {k: v for k, v in details.items() if k not in ("scored",)}
    return "\n".join(f"  {key}: {value}" for key, value in shown.items())


def _explain_unseen(details: Mapping[str, Any]) -> list[str]:
    """How the detection fared on the telemetries the agent never saw (what C4 is)."""
    lines = [
        f"  scored on {details['holdout']} unseen telemetries: C4 {details['unseen_score']:.3f}; "
        f"on the explored one {details['explored_score']:.3f} "
        f"(generalisation gap {details['generalisation_gap']:.3f})"
    ]
    for unseen in details.get("unseen", []):
        kql = unseen["kql"]
        lines.append(
            f"  unseen telemetry {unseen['seed']}: KQL F1 {kql['f1']:.3f} (precision "
            f"{kql['precision']:.3f}, recall {kql['recall']:.3f}, {kql['false_positives']} "
            f"false positives, {kql['false_negatives']} missed of {unseen['positives']}); "
            f"Sigma F1 {unseen['sigma']['f1']:.3f}"
            + (f"; KQL error: {kql['error']}" if kql.get("error") else "")
        )
    lines.append("  on the explored telemetry:")
    return lines


def _explain_row_regex(details: Mapping[str, Any]) -> str:
    """C4 on the official data: the re-run rows against the regex ground truth."""
    kql, sigma = details.get("kql", {}), details.get("sigma", {})
    patterns = details.get("patterns", {})
    matched = kql.get("patterns_matched", [])
    lines = [
        f"  KQL: row score {kql.get('score', 0):.3f} (row precision "
        f"{kql.get('precision', 0):.3f}, recall {kql.get('recall', 0):.3f} over "
        f"{kql.get('rows', 0)} rows; patterns matched {len(matched)} of {len(patterns)}"
        + (f": {', '.join(matched)}" if matched else "")
        + ")"
    ]
    missing = [column for column in patterns if column not in matched]
    if missing:
        lines.append(f"  KQL: no row matches {', '.join(f'{c}={patterns[c]!r}' for c in missing)}")
    for part, result in (("KQL", kql), ("Sigma", sigma)):
        if result.get("lab_gate"):
            lines.append(f"  {part}: scored 0 by the lab gate: {result['lab_gate']}")
        if result.get("error"):
            lines.append(f"  {part} error: {result['error']}")
    lines.append(
        f"  Sigma: quality {sigma.get('quality', 0):.3f} (syntax {sigma.get('syntax', 0)}, "
        f"row score {sigma.get('score', 0):.3f})"
    )
    lines += [f"  Sigma: {failure}" for failure in sigma.get("failures", [])]
    fabricated = details.get("query_results", {}).get("unseen_rows")
    if fabricated:
        lines.append(f"  query_results: {fabricated} rows no tool call returned (not scored)")
    return "\n".join(lines)
