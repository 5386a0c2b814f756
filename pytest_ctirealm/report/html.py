"""The HTML report: one self-contained file (inline CSS and SVG, no script, no font or
network fetch; a Content-Security-Policy forbids them) that opens from file://.

Everything that comes from a run (submissions, error text, titles, metadata) is escaped:
agents write those strings, and a report must not run what an agent wrote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pytest_ctirealm.atomic import atomic_write
from pytest_ctirealm.report.plots import Bar, bar_chart, platform_colour, task_chart
from pytest_ctirealm.report.stats import AGGREGATION

HTML_FILE = "report.html"

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
:root { --ink:#2b2d33; --muted:#6b7080; --line:#e3e5ea; --soft:#f5f6f8; --accent:#5b5bd6;
  --good:#1f8a4c; --good-bg:#e3f4ea; --bad:#b42318; --bad-bg:#fde8e6; --warn-bg:#fff4d6; }
* { box-sizing: border-box; }
body { margin:0; background:#fbfbfc; color:var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 32px 48px; }
header { border-bottom: 1px solid var(--line); padding-bottom: 18px; margin-bottom: 22px; }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--muted);
  font-weight: 600; }
h1 { font-size: 28px; margin: 4px 0 10px; }
h2 { font-size: 18px; margin: 30px 0 12px; }
.meta { display:flex; flex-wrap:wrap; gap: 6px 22px; margin: 0; color: var(--muted); }
.meta div { display:flex; gap:6px; } .meta dt { font-weight:600; } .meta dd { margin:0;
  color:var(--ink); }
.cards { display:grid; grid-template-columns: 1.5fr 1fr 1fr 1fr; gap: 14px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.card .label { color:var(--muted); font-size:12px; font-weight:600; text-transform:uppercase;
  letter-spacing:.05em; }
.card .value { font-size:30px; font-weight:700; margin:4px 0 2px;
  font-variant-numeric: tabular-nums; }
.card .value small { font-size:16px; font-weight:500; color:var(--muted); }
.card .sub { color:var(--muted); font-size:13px; }
.card.headline { border-color: var(--accent); box-shadow: inset 4px 0 0 var(--accent); }
.charts { display:grid; grid-template-columns: 1fr 1fr; gap:14px; }
.panel { background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.panel h3 { margin:0 0 2px; font-size:15px; } .panel p { margin:0 0 8px; color:var(--muted);
  font-size:12px; }
.panel.wide { grid-column: 1 / -1; }
.chart { display:block; }
.legend { display:flex; gap:14px; font-size:12px; color:var(--muted); }
.dot { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px;
  vertical-align:-1px; }
.errors { background:var(--bad-bg); border:1px solid #f4c7c2; border-radius:10px;
  padding:10px 16px; }
.errors summary { cursor:pointer; font-weight:600; }
.epochs { color:var(--muted); margin:12px 2px 0; }
.epochs b { color:var(--ink); }
.errors li { margin: 3px 0; }
.tasks { background:#fff; border:1px solid var(--line); border-radius:10px; overflow:hidden; }
.row { display:grid; grid-template-columns: var(--cols); align-items:center; gap:0 8px;
  padding: 7px 14px; border-bottom:1px solid var(--line); font-variant-numeric: tabular-nums; }
.head { background:var(--soft); font-size:12px; font-weight:600; color:var(--muted);
  text-transform:uppercase; letter-spacing:.04em; }
.num { text-align:right; }
details:last-child > summary.row { border-bottom: 0; }
summary.row { cursor:pointer; list-style:none; }
summary.row::-webkit-details-marker { display:none; }
summary.row:hover { background:#f8f8fc; }
.task-id { font-weight:600; white-space:nowrap; }
.task-id::before { content:"\\25B8"; color:var(--muted); display:inline-block; width:14px; }
details[open] .task-id::before { content:"\\25BE"; }
.title { display:block; color:var(--muted); font-size:12px; white-space:nowrap; overflow:hidden;
  text-overflow:ellipsis; padding-left:14px; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; color:#fff; font-size:12px;
  font-weight:600; }
.meter { display:inline-block; width:46px; height:6px; background:var(--line); border-radius:3px;
  margin-right:6px; vertical-align:middle; overflow:hidden; }
.meter span { display:block; height:100%; background:var(--accent); }
.cp { text-align:center; border-radius:4px; padding:1px 0; font-size:13px; }
.cp.pass { background:var(--good-bg); color:var(--good); }
.cp.fail { background:var(--bad-bg); color:var(--bad); }
.cp.unscored { background:var(--warn-bg); color:#8a5a00; }
.status-ok { color:var(--good); font-weight:600; }
.status-error { color:var(--bad); font-weight:600; }
.muted { color:var(--muted); }
.body { padding: 4px 18px 18px 28px; background:#fcfcfd; border-bottom:1px solid var(--line); }
.body h4 { margin:14px 0 6px; font-size:13px; }
.code { display:grid; grid-template-columns: 1fr 1fr; gap:14px; }
pre { background:#1e1f26; color:#e8e8ee; border-radius:8px; padding:10px 12px; margin:0;
  overflow:auto; max-height:360px;
  font: 12.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  white-space: pre-wrap; word-break: break-word; }
pre.light { background:var(--soft); color:var(--ink); }
.facts { display:flex; flex-wrap:wrap; gap:4px 18px; color:var(--muted); margin:8px 0 0; }
.facts b { color:var(--ink); font-weight:600; }
.error-text { color:var(--bad); }
table.cps { border-collapse:collapse; font-size:13px; }
table.cps th, table.cps td { text-align:left; padding:3px 14px 3px 0; vertical-align:top; }
table.cps td:nth-child(2) { min-width:52px; }
table.cps td:nth-child(3), table.cps td:nth-child(4) { white-space:nowrap; }
.kv { display:inline-block; margin:0 14px 2px 0; color:var(--ink);
  font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break:break-word; }
.kv i { font-style:normal; color:var(--muted); }
footer { margin-top:28px; color:var(--muted); font-size:12px; }
a { color: var(--accent); }
"""


def _text(value: Any) -> str:
    return escape("" if value is None else str(value))


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{float(value):.{digits}f}"


def _estimate_text(estimate: Mapping[str, Any]) -> tuple[str, str]:
    """The value line (mean ± stderr) and the interval line of an estimate."""
    mean, stderr = estimate.get("mean"), estimate.get("stderr")
    if mean is None:
        return "&ndash;", "no scored tasks"
    value = _num(mean) + (f" <small>&plusmn; {_num(stderr)}</small>" if stderr is not None else "")
    n = estimate.get("n", 0)
    if estimate.get("ci_low") is None:
        return value, f"n = {n}: one task, no error estimate"
    return (
        value,
        f"95% CI [{_num(estimate['ci_low'])}, {_num(estimate['ci_high'])}] &middot; n = {n}",
    )


def _header(run: Mapping[str, Any]) -> str:
    fields = [
        ("suite", run.get("suite")),
        ("variant", run.get("variant")),
        ("epochs", run.get("epochs")),
        ("dataset", run.get("dataset")),
        ("seed", None if run.get("dataset") else run.get("seed")),
        ("scale", None if run.get("dataset") else run.get("scale")),
        ("engine", run.get("engine")),
        ("started", run.get("started")),
        ("elapsed", f"{run['elapsed']:.1f} s" if _is_number(run.get("elapsed")) else None),
    ]
    versions = run.get("versions")
    if isinstance(versions, Mapping):
        fields += [(f"{name}", version) for name, version in versions.items()]
    items = "".join(
        f"<div><dt>{_text(name)}</dt><dd>{_text(value)}</dd></div>"
        for name, value in fields
        if value is not None
    )
    return (
        '<header><div class="kicker">CTI-REALM run report</div>'
        f"<h1>{_text(run.get('model', 'unknown model'))}</h1>"
        f'<dl class="meta">{items}</dl></header>'
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _card(label: str, value: str, sub: str, extra_class: str = "") -> str:
    return (
        f'<div class="card {extra_class}"><div class="label">{label}</div>'
        f'<div class="value">{value}</div><div class="sub">{sub}</div></div>'
    )


def _cards(summary: Mapping[str, Any]) -> str:
    reward_value, reward_sub = _estimate_text(summary.get("reward", {}))
    compat_value, compat_sub = _estimate_text(summary.get("compat", {}))
    detection = summary.get("detection", {})
    f1 = detection.get("f1", {})
    counts = summary.get("counts", {})
    return (
        '<section class="cards">'
        + "".join(
            [
                _card("Mean reward", reward_value, reward_sub, "headline"),
                _card("Reference-compatible", compat_value, compat_sub),
                _card(
                    "Detection F1",
                    _num(f1.get("mean")),
                    f"precision {_num(detection.get('precision', {}).get('mean'))} &middot; "
                    f"recall {_num(detection.get('recall', {}).get('mean'))} &middot; "
                    f"{_num(detection.get('false_positives'))} false positives",
                ),
                *_generalisation_card(summary.get("generalisation")),
                _card(
                    "Attempts",
                    f"{_num(counts.get('scored'))}<small> / {_num(counts.get('records'))}</small>",
                    f"{_num(counts.get('errors'))} errors (not scores) &middot; "
                    f"{_num(counts.get('tasks'))} tasks",
                ),
            ]
        )
        + "</section>"
    )


def _generalisation_card(held_out: Mapping[str, Any] | None) -> list[str]:
    """C4 on the telemetries the agent never saw against the one it explored."""
    if not held_out:
        return []
    platforms = " &middot; ".join(
        f"{escape(name)} {_num(gaps['gap'].get('mean'))}"
        for name, gaps in held_out.get("platforms", {}).items()
    )
    return [
        _card(
            "Generalisation gap",
            _num(held_out["gap"].get("mean")),
            f"C4 explored {_num(held_out['explored_c4'].get('mean'))} &rarr; unseen "
            f"{_num(held_out['unseen_c4'].get('mean'))} ({_num(held_out.get('holdout'))} "
            "unseen telemetries)" + (f"<br>by platform: {platforms}" if platforms else ""),
        )
    ]


def _charts(summary: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]]) -> str:
    checkpoint_bars = [
        Bar(
            label=name,
            value=entry["score"].get("mean"),
            low=entry["score"].get("ci_low"),
            high=entry["score"].get("ci_high"),
            note=f"weight {entry['weight']:g}" if _is_number(entry.get("weight")) else "",
        )
        for name, entry in summary.get("checkpoints", {}).items()
    ]
    platform_bars = [
        Bar(
            label=name,
            value=entry["reward"].get("mean"),
            low=entry["reward"].get("ci_low"),
            high=entry["reward"].get("ci_high"),
            colour=platform_colour(name),
            note=_scored_note(entry["reward"].get("n", 0), entry.get("tasks", 0)),
        )
        for name, entry in summary.get("platforms", {}).items()
    ]
    per_task = _task_rewards(tasks)
    legend = "".join(
        f'<span><i class="dot" style="background:{platform_colour(p)}"></i>{_text(p)}</span>'
        for p in sorted({p for _, _, p in per_task})
    )
    return (
        '<section class="charts">'
        '<div class="panel"><h3>Checkpoints</h3><p>Mean score per checkpoint; error bars: 95% CI '
        "over tasks.</p>" + bar_chart(checkpoint_bars, "Mean score per checkpoint") + "</div>"
        '<div class="panel"><h3>Platforms</h3><p>Mean reward per platform; error bars: 95% CI '
        "over tasks.</p>" + bar_chart(platform_bars, "Mean reward per platform") + "</div>"
        f'<div class="panel wide"><h3>Reward per task</h3><p class="legend">{legend}</p>'
        + task_chart(per_task, "Reward per task")
        + "</div></section>"
    )


def _scored_note(scored: int, tasks: int) -> str:
    return f"{scored} of {tasks} task{'' if tasks == 1 else 's'} scored"


def _task_rewards(tasks: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, str]]:
    """(task id, mean reward over scored epochs, platform) for every scored task."""
    rewards: dict[str, list[float]] = {}
    platforms: dict[str, str] = {}
    for record in tasks:
        if record.get("status") == "scored" and _is_number(record.get("reward")):
            rewards.setdefault(record["task_id"], []).append(float(record["reward"]))
            platforms[record["task_id"]] = str(record.get("platform"))
    return [(t, sum(v) / len(v), platforms[t]) for t, v in rewards.items()]


def _errors(summary: Mapping[str, Any]) -> str:
    errors = summary.get("errors") or []
    if not errors:
        return ""
    items = "".join(
        f"<li><b>{_text(e.get('task_id'))}</b> epoch {_text(e.get('epoch'))}: "
        f"{_text(e.get('error'))}</li>"
        for e in errors
    )
    return (
        f'<h2>Errors ({len(errors)})</h2><div class="errors"><p>These attempts failed before '
        "they could be scored (agent, provider or judge failure). They are counted, never "
        "averaged in as zero.</p>"
        f"<details{' open' if len(errors) <= 10 else ''}><summary>{len(errors)} failed "
        f"attempts</summary><ul>{items}</ul></details></div>"
    )


def _epoch_line(summary: Mapping[str, Any]) -> str:
    """Epoch means and their spread, shown only when the run repeated tasks."""
    epochs = summary.get("epochs") or {}
    means = epochs.get("means") or []
    if len(means) < 2:
        return ""
    listed = ", ".join(f"{_num(m.get('mean'))} (n = {_num(m.get('n'))})" for m in means)
    return (
        f'<p class="epochs"><b>Epochs.</b> Mean reward per epoch: {listed} &middot; std of '
        f"epoch means {_num(epochs.get('std_of_epoch_means'))} &middot; per-task std over "
        f"epochs {_num(epochs.get('per_task_std'))}, averaged over "
        f"{_num(epochs.get('tasks_with_repeats'))} tasks scored at least twice.</p>"
    )


def _transcript_link(path: Any) -> str:
    """A link to a transcript given relative to the report; anything else is shown as text."""
    if not isinstance(path, str) or not path:
        return '<span class="muted">&ndash;</span>'
    if path.startswith(("/", "\\")) or ":" in path or ".." in path.split("/"):
        return f'<span class="muted" title="{_text(path)}">not relative</span>'
    return f'<a href="{escape(quote(path))}">transcript</a>'


def _checkpoint_cell(entry: Any) -> str:
    if not isinstance(entry, Mapping):
        return '<span class="cp muted">&ndash;</span>'
    if entry.get("score") is None:
        return f'<span class="cp unscored" title="{_text(entry.get("error"))}">n/s</span>'
    state = "pass" if entry.get("passed") else "fail"
    return f'<span class="cp {state}">{_num(float(entry["score"]), 2)}</span>'


def _columns(checkpoints: Sequence[str], with_epoch: bool) -> str:
    columns = ["minmax(180px, 2.2fr)", "80px"]
    if with_epoch:
        columns.append("44px")
    columns.append("104px")
    columns += ["48px"] * len(checkpoints)
    columns += ["46px", "46px", "46px", "40px", "minmax(70px, 1fr)", "88px"]
    return " ".join(columns)


def _head(checkpoints: Sequence[str], with_epoch: bool) -> str:
    cells = ["<span>Task</span>", "<span>Platform</span>"]
    if with_epoch:
        cells.append('<span class="num">Ep.</span>')
    cells.append("<span>Reward</span>")
    cells += [f'<span class="cp">{_text(c)}</span>' for c in checkpoints]
    cells += [
        '<span class="num" title="precision">P</span>',
        '<span class="num" title="recall">R</span>',
        '<span class="num">F1</span>',
        '<span class="num" title="false positives">FP</span>',
        "<span>Status</span>",
        "<span>Transcript</span>",
    ]
    return f'<div class="row head">{"".join(cells)}</div>'


def _task_row(record: Mapping[str, Any], checkpoints: Sequence[str], with_epoch: bool) -> str:
    detection = record.get("detection") or {}
    reward = record.get("reward")
    platform = str(record.get("platform"))
    cells = [
        f'<span><span class="task-id">{_text(record.get("task_id"))}</span>'
        f'<span class="title" title="{_text(record.get("title"))}">'
        f"{_text(record.get('title'))}</span></span>",
        f'<span><span class="badge" style="background:{platform_colour(platform)}">'
        f"{_text(platform)}</span></span>",
    ]
    if with_epoch:
        cells.append(f'<span class="num">{_text(record.get("epoch"))}</span>')
    if isinstance(reward, int | float):
        width = max(0.0, min(1.0, float(reward))) * 100
        cells.append(
            f'<span><span class="meter"><span style="width:{width:.0f}%"></span></span>'
            f"<b>{_num(reward)}</b></span>"
        )
    else:
        cells.append('<span class="muted">&ndash;</span>')
    cells += [_checkpoint_cell((record.get("checkpoints") or {}).get(c)) for c in checkpoints]
    cells += [
        f'<span class="num">{_num(detection.get(k), 2)}</span>' for k in ("precision", "recall")
    ]
    cells.append(f'<span class="num">{_num(detection.get("f1"), 2)}</span>')
    cells.append(f'<span class="num">{_num(detection.get("false_positives"))}</span>')
    if record.get("status") == "error":
        cells.append(
            f'<span class="status-error" title="{_text(record.get("error"))}">error</span>'
        )
    else:
        cells.append('<span class="status-ok">scored</span>')
    cells.append(f"<span>{_transcript_link(record.get('transcript'))}</span>")
    return f'<details><summary class="row">{"".join(cells)}</summary>{_task_body(record)}</details>'


def _task_body(record: Mapping[str, Any]) -> str:
    parts = []
    if record.get("error"):
        parts.append(f'<h4>Error</h4><p class="error-text">{_text(record["error"])}</p>')
    submission = record.get("submission") or {}
    if record.get("submission") is None:
        parts.append('<h4>Submission</h4><p class="muted">No submission.</p>')
    else:
        kql, sigma = submission.get("kql_query"), submission.get("sigma_rule")
        parts.append(
            '<div class="code"><div><h4>KQL query</h4>'
            f"<pre><code>{_text(kql) if kql else '(none)'}</code></pre></div>"
            "<div><h4>Sigma rule</h4>"
            f"<pre><code>{_text(sigma) if sigma else '(none)'}</code></pre></div></div>"
        )
    detection = record.get("detection") or {}
    facts = [
        ("true positives", detection.get("true_positives")),
        ("false positives", detection.get("false_positives")),
        ("false negatives", detection.get("false_negatives")),
        ("untraced rows", detection.get("untraced_rows")),
        ("Sigma F1", detection.get("sigma_f1")),
        ("C4 explored", (detection.get("explored") or {}).get("c4")),
        ("C4 unseen", detection.get("unseen_c4")),
        ("generalisation gap", detection.get("generalisation_gap")),
        ("compat", record.get("compat")),
        ("input tokens", (record.get("tokens") or {}).get("input")),
        ("output tokens", (record.get("tokens") or {}).get("output")),
        ("tool calls", record.get("tool_calls")),
        ("duration", f"{record['duration']:.1f} s" if _is_number(record.get("duration")) else None),
    ]
    shown = "".join(
        f"<span>{name} <b>{value if isinstance(value, str) else _num(value)}</b></span>"
        for name, value in facts
        if value is not None
    )
    if shown:
        parts.append(f'<div class="facts">{shown}</div>')
    checkpoints = record.get("checkpoints") or {}
    if checkpoints:
        parts.append("<h4>Checkpoints</h4>" + _checkpoint_table(checkpoints))
    return f'<div class="body">{"".join(parts)}</div>'


def _checkpoint_table(checkpoints: Mapping[str, Any]) -> str:
    """One line per checkpoint: score, weight, outcome and the scorer's details."""
    rows = []
    for name, entry in sorted(checkpoints.items()):
        entry = entry if isinstance(entry, Mapping) else {}
        if entry.get("score") is None:
            outcome = f'<span class="error-text">unscored: {_text(entry.get("error"))}</span>'
        else:
            outcome = "passed" if entry.get("passed") else "not passed"
        details = entry.get("details")
        shown = "".join(
            f'<span class="kv"><i>{_text(key)}</i> {_text(value)}</span>'
            for key, value in _flatten(details if isinstance(details, Mapping) else {})
        )
        rows.append(
            f"<tr><th>{_text(name)}</th><td>{_checkpoint_cell(entry)}</td>"
            f"<td>weight {_num(entry.get('weight'))}</td><td>{outcome}</td>"
            f"<td>{shown}</td></tr>"
        )
    return f'<table class="cps">{"".join(rows)}</table>'


def _flatten(details: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """A scorer's details as (dotted key, short text) pairs, numbers to three places."""
    pairs: list[tuple[str, str]] = []
    for key, value in sorted(details.items(), key=lambda item: str(item[0])):
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs += _flatten(value, f"{name}.")
        elif isinstance(value, float):
            pairs.append((name, f"{value:.3f}"))
        elif isinstance(value, list) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            pairs.append((name, ", ".join(str(v) for v in value) or "none"))
        elif isinstance(value, str | int) or value is None:
            pairs.append((name, str(value)))
        else:
            pairs.append((name, json.dumps(value, sort_keys=True, default=str)))
    return pairs


def _tasks(tasks: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> str:
    checkpoints = list(summary.get("checkpoints", {})) or sorted(
        {c for r in tasks for c in (r.get("checkpoints") or {})}
    )
    with_epoch = len({r.get("epoch") for r in tasks}) > 1
    rows = "".join(_task_row(r, checkpoints, with_epoch) for r in tasks)
    return (
        f"<h2>Tasks ({len(tasks)} attempts)</h2>"
        f'<div class="tasks" style="--cols: {_columns(checkpoints, with_epoch)}">'
        f"{_head(checkpoints, with_epoch)}{rows}</div>"
    )


def render_html(results: Mapping[str, Any]) -> str:
    """The report page for a results document (`results.build_results` / `read_results`)."""
    run = results.get("run") or {}
    summary = results.get("summary") or {}
    tasks = results.get("tasks") or []
    version = (run.get("versions") or {}).get("pytest-ctirealm", "")
    body = (
        _header(run)
        + _cards(summary)
        + _epoch_line(summary)
        + "<h2>Scores</h2>"
        + _charts(summary, tasks)
        + _errors(summary)
        + _tasks(tasks, summary)
        + f"<footer>{escape(AGGREGATION)} Checkpoint cells: score (green passed, red not "
        "passed, n/s unscored: a grader failure, not a zero). Generated by pytest-ctirealm "
        f"{_text(version)}.</footer>"
    )
    title = f"CTI-REALM report: {run.get('model', '')}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def write_html(directory: Path | str, results: Mapping[str, Any]) -> Path:
    """Write `report.html` into *directory* (created if needed); return its path."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    path = target / HTML_FILE
    atomic_write(path, render_html(results))
    return path
