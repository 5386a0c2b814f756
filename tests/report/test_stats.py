"""Run statistics against numbers worked by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pytest_ctirealm.report.stats import mean_with_error, summarize, t_cdf, t_quantile
from tests.report.records import RUN, hand_worked_run, record


def test_t_quantiles_match_the_tables() -> None:
    # Two-sided 95%: the 0.975 quantile; printed tables give 12.706, 2.776, 2.045, 1.984.
    for df, expected in ((1, 12.706), (4, 2.776), (29, 2.045), (100, 1.984)):
        assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-3)


def test_mean_stderr_and_interval_by_hand() -> None:
    # values 0.2, 0.4, 0.6: mean 0.4; sample sd = sqrt(((.2)^2 + 0 + (.2)^2) / 2) = 0.2;
    # stderr = 0.2 / sqrt(3) = 0.11547; CI = 0.4 -/+ 4.303 x 0.11547 = [-0.0969, 0.8969].
    estimate = mean_with_error([0.2, 0.4, 0.6])
    assert estimate.mean == pytest.approx(0.4)
    assert estimate.stderr == pytest.approx(0.2 / math.sqrt(3))
    assert estimate.ci_low == pytest.approx(0.4 - 4.3027 * 0.11547, abs=1e-3)
    assert estimate.ci_high == pytest.approx(0.4 + 4.3027 * 0.11547, abs=1e-3)
    assert estimate.n == 3


def test_one_value_has_no_spread_and_none_has_no_mean() -> None:
    single = mean_with_error([0.7])
    assert (single.mean, single.stderr, single.ci_low, single.n) == (0.7, None, None, 1)
    assert mean_with_error([]).mean is None


def test_summary_averages_epochs_per_task_then_tasks_and_counts_errors_apart() -> None:
    records = [
        record("linux_001", "linux", 1.0, epoch=0),
        record("linux_001", "linux", 0.0, epoch=1),  # linux_001 -> 0.5
        record("aks_001", "aks", 0.8, epoch=0),
        record("aks_001", "aks", 0.6, epoch=1),  # aks_001 -> 0.7
        record("cloud_001", "cloud", None, epoch=0, error="model failed: HTTP 429"),
        record("cloud_001", "cloud", None, epoch=1, error="model failed: HTTP 429"),
    ]
    summary = summarize(records, {**RUN, "epochs": 2})
    assert summary["reward"]["mean"] == pytest.approx(0.6)  # (0.5 + 0.7) / 2
    assert summary["reward"]["n"] == 2
    assert summary["counts"]["errors"] == 2
    assert summary["counts"]["tasks_unscored"] == ["cloud_001"]
    assert summary["platforms"]["linux"]["reward"]["mean"] == pytest.approx(0.5)
    assert summary["platforms"]["cloud"]["errors"] == 2
    # Epoch means: epoch 0 (1.0 + 0.8) / 2 = 0.9, epoch 1 (0.0 + 0.6) / 2 = 0.3.
    assert [m["mean"] for m in summary["epochs"]["means"]] == pytest.approx([0.9, 0.3])
    # Per-task sd over epochs: linux sqrt(0.5) = 0.7071, aks sqrt(0.02) = 0.1414; mean 0.4243.
    assert summary["epochs"]["per_task_std"] == pytest.approx((0.5**0.5 + 0.02**0.5) / 2)
    assert summary["errors"][0]["error"] == "model failed: HTTP 429"


def test_checkpoint_means_and_contributions() -> None:
    records = [record("linux_001", "linux", 0.675, c4=0.5), record("aks_001", "aks", 1.0, c4=1.0)]
    checkpoints = summarize(records, RUN)["checkpoints"]
    assert checkpoints["C4"]["score"]["mean"] == pytest.approx(0.75)
    assert checkpoints["C4"]["contribution"] == pytest.approx(0.65 * 0.75)
    assert checkpoints["C0"]["score"]["mean"] == 1.0


def test_malformed_records_are_refused_with_the_task_named() -> None:
    bad = record("linux_001", "linux", 0.5)
    bad["reward"] = "high"
    with pytest.raises(ValueError, match="task 'linux_001' epoch 0: field 'reward'"):
        summarize([bad], RUN)


def test_t_quantiles_to_six_places_and_symmetric() -> None:
    # Reference values of the 0.975 quantile (six decimals, from published tables).
    for df, expected in ((2, 4.302653), (10, 2.228139), (30, 2.042272), (1000, 1.962339)):
        assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-6)
    assert t_quantile(0.025, 7) == pytest.approx(-t_quantile(0.975, 7))
    assert t_quantile(0.5, 3) == pytest.approx(0.0, abs=1e-12)
    assert t_cdf(0.0, 5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="probability"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_quantile(0.975, 0)


def test_identical_values_have_zero_error_and_a_point_interval() -> None:
    estimate = mean_with_error([0.5, 0.5, 0.5, 0.5])
    assert estimate.as_dict() == {"mean": 0.5, "stderr": 0.0, "ci_low": 0.5, "ci_high": 0.5, "n": 4}
    assert mean_with_error([]).as_dict() == {
        "mean": None,
        "stderr": None,
        "ci_low": None,
        "ci_high": None,
        "n": 0,
    }


def test_hand_worked_run() -> None:
    summary = summarize(hand_worked_run(), {**RUN, "epochs": 2})
    # Task means 0.7, 0.4, 0.3 (cloud_001 never scored): mean 0.466667, not the 0.48 a
    # plain mean over the five scored attempts would give. Sample sd 0.208167, stderr
    # 0.208167 / sqrt(3) = 0.120185, t(0.975, 2) = 4.302653: CI 0.466667 -/+ 0.517112.
    reward = summary["reward"]
    assert reward["mean"] == pytest.approx(0.466667, abs=1e-6)
    assert reward["stderr"] == pytest.approx(0.120185, abs=1e-6)
    assert reward["ci_low"] == pytest.approx(-0.050446, abs=1e-5)
    assert reward["ci_high"] == pytest.approx(0.983780, abs=1e-5)
    assert reward["n"] == 3
    assert summary["counts"] == {
        "records": 8,
        "scored": 5,
        "errors": 3,
        "tasks": 4,
        "tasks_scored": 3,
        "tasks_unscored": ["cloud_001"],
        "tasks_incomplete": [],
    }
    # Compat: linux_001 (0.5 + 0.7) / 2 = 0.6, aks_001 (0.1 + 0.3) / 2 = 0.2; linux_002
    # has none, so n = 2 and the mean is 0.4.
    assert summary["compat"]["mean"] == pytest.approx(0.4)
    assert summary["compat"]["n"] == 2
    # C0: linux_001 only epoch 1 scored (1.0; epoch 0's judge timed out), linux_002 0.0,
    # aks_001 (1.0 + 0.5) / 2 = 0.75: mean 0.583333. Passed: 1, 0, (1 + 0) / 2: rate 0.5.
    c0 = summary["checkpoints"]["C0"]
    assert c0["score"]["mean"] == pytest.approx(0.583333, abs=1e-6)
    assert c0["unscored"] == 1
    assert c0["pass_rate"] == pytest.approx(0.5)
    assert c0["contribution"] == pytest.approx(0.125 * 0.583333, abs=1e-6)
    assert list(summary["checkpoints"]) == ["C0", "C1", "C2", "C3", "C4"]
    # Platforms: linux (0.7 + 0.4) / 2 = 0.55, stderr 0.15, t(1) = 12.706205;
    # aks has one task (no spread); cloud none.
    linux = summary["platforms"]["linux"]
    assert linux["reward"]["mean"] == pytest.approx(0.55)
    assert linux["reward"]["stderr"] == pytest.approx(0.15)
    assert linux["reward"]["ci_high"] == pytest.approx(0.55 + 12.706205 * 0.15, abs=1e-5)
    assert (linux["tasks"], linux["errors"]) == (2, 1)
    assert summary["platforms"]["aks"]["reward"] == {
        "mean": pytest.approx(0.3),
        "stderr": None,
        "ci_low": None,
        "ci_high": None,
        "n": 1,
    }
    assert summary["platforms"]["cloud"] == {
        "reward": {"mean": None, "stderr": None, "ci_low": None, "ci_high": None, "n": 0},
        "tasks": 1,
        "errors": 2,
    }
    # Epochs: epoch 0 (0.8 + 0.4 + 0.2) / 3, epoch 1 (0.6 + 0.4) / 2; their sd is
    # (0.5 - 0.466667) / sqrt(2) = 0.023570. Per task over epochs: linux_001 and aks_001
    # both 0.2 / sqrt(2) = 0.141421 (linux_002 has one scored epoch: not counted).
    epochs = summary["epochs"]
    assert [(m["epoch"], m["n"]) for m in epochs["means"]] == [(0, 3), (1, 2)]
    assert [m["mean"] for m in epochs["means"]] == pytest.approx([0.466667, 0.5], abs=1e-6)
    assert epochs["std_of_epoch_means"] == pytest.approx(0.023570, abs=1e-6)
    assert epochs["per_task_std"] == pytest.approx(0.141421, abs=1e-6)
    assert epochs["tasks_with_repeats"] == 2
    # Detection: false positives summed over scored attempts, 1 + 2 + 3 + 4 + 5.
    assert summary["detection"]["false_positives"] == 15
    assert summary["detection"]["precision"]["mean"] == 1.0
    assert summary["usage"] == {
        "input_tokens": 80,
        "output_tokens": 40,
        "tool_calls": 24,
        "duration": pytest.approx(12.0),
    }
    assert [(e["task_id"], e["epoch"]) for e in summary["errors"]] == [
        ("cloud_001", 0),
        ("cloud_001", 1),
        ("linux_002", 1),
    ]


def test_tasks_short_of_the_requested_epochs_are_listed() -> None:
    summary = summarize(hand_worked_run(), {**RUN, "epochs": 3})
    assert summary["counts"]["tasks_incomplete"] == [
        "aks_001",
        "cloud_001",
        "linux_001",
        "linux_002",
    ]


def test_one_epoch_has_no_epoch_spread() -> None:
    summary = summarize([record("linux_001", "linux", 0.3), record("aks_001", "aks", 0.9)], RUN)
    assert summary["epochs"]["std_of_epoch_means"] is None
    assert summary["epochs"]["per_task_std"] is None
    assert summary["reward"]["mean"] == pytest.approx(0.6)


def test_unknown_status_and_missing_reward_are_refused() -> None:
    bad = record("aks_003", "aks", 0.5, epoch=2)
    bad["status"] = "done"
    with pytest.raises(ValueError, match="task 'aks_003' epoch 2: status"):
        summarize([bad], RUN)
    bad = record("aks_003", "aks", 0.5)
    bad["reward"] = None
    with pytest.raises(ValueError, match="task 'aks_003' epoch 0: a scored record needs"):
        summarize([bad], RUN)
    with pytest.raises(ValueError, match="needs task_id and epoch"):
        summarize([{"task_id": "x"}], RUN)


def test_the_generalisation_gap_is_summarised_per_task_like_rewards() -> None:
    """Explored and unseen C4 are averaged per task over epochs, then over tasks; runs
    scored on the explored telemetry only have no generalisation block."""

    def held_out(task_id: str, epoch: int, explored: float, unseen: float) -> dict[str, Any]:
        r = record(task_id, task_id.partition("_")[0], 0.5, epoch=epoch, c4=unseen)
        r["detection"] |= {
            "telemetries": "unseen",
            "holdout": 2,
            "explored": {"c4": explored, "f1": explored},
            "unseen_c4": unseen,
            "generalisation_gap": explored - unseen,
        }
        return r

    runs = [
        held_out("linux_001", 0, 1.0, 0.2),
        held_out("linux_001", 1, 1.0, 0.4),
        held_out("linux_002", 0, 0.6, 0.6),
        held_out("cloud_001", 0, 0.9, 0.1),
    ]
    summary = summarize(runs[:3])["generalisation"]
    assert summary["holdout"] == 2
    assert summary["explored_c4"]["mean"] == pytest.approx(0.8)
    assert summary["unseen_c4"]["mean"] == pytest.approx((0.3 + 0.6) / 2)
    assert summary["gap"]["mean"] == pytest.approx((0.7 + 0.0) / 2)
    by_platform = summarize(runs)["generalisation"]["platforms"]
    assert set(by_platform) == {"cloud", "linux"}
    assert by_platform["linux"]["gap"]["mean"] == pytest.approx(summary["gap"]["mean"])
    assert by_platform["cloud"]["unseen_c4"]["mean"] == pytest.approx(0.1)
    assert summarize([record("linux_001", "linux", 0.5)])["generalisation"] is None
