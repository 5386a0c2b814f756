"""The simulator: deterministic, versioned, scalable, and shaped like Defender's records."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS
from pytest_ctirealm.telemetry.scenarios import SCENARIOS
from pytest_ctirealm.telemetry.schema import benchmark_tables
from pytest_ctirealm.telemetry.simulator import SIMULATOR_VERSION, Telemetry, generate


def test_same_seed_gives_identical_telemetry(telemetry: Telemetry) -> None:
    again = generate(seed=0, scale=1.0)
    assert again.content_hash() == telemetry.content_hash()
    assert again.stages == telemetry.stages
    assert telemetry.version == SIMULATOR_VERSION


def test_another_seed_gives_other_telemetry_with_the_same_attack_stages(
    telemetry: Telemetry,
) -> None:
    """The same campaigns and stages, each instance with its own events (how many depends
    on the variant it drew: see test_campaigns)."""
    other = generate(seed=1, scale=1.0)
    assert other.content_hash() != telemetry.content_hash()
    assert set(other.stages) == set(telemetry.stages)
    assert all(any(keys for keys in tables.values()) for tables in other.stages.values())


def test_scale_lengthens_the_window_and_multiplies_benign_volume(telemetry: Telemetry) -> None:
    bigger = generate(seed=0, scale=2.0)
    assert bigger.end - bigger.start == 2 * (telemetry.end - telemetry.start)
    ratio = bigger.row_count / telemetry.row_count
    assert 1.8 < ratio < 2.2
    # The attacks are the same events at the same times in both windows.
    assert set(bigger.stages) == set(telemetry.stages)


def test_every_table_has_rows_with_only_its_own_columns(telemetry: Telemetry) -> None:
    tables = benchmark_tables()
    for name, rows in telemetry.tables.items():
        columns = set(tables[name].column_names)
        assert rows, f"{name} is empty"
        extra = {key for row in rows for key in row} - columns
        assert not extra, f"{name} has unknown columns {sorted(extra)}"


def test_event_keys_are_unique_per_table(telemetry: Telemetry) -> None:
    for name, rows in telemetry.tables.items():
        keys = [tuple(row[c] for c in EVENT_KEYS[name]) for row in rows]
        assert len(keys) == len(set(keys)), name


def test_every_declared_stage_emits_events(telemetry: Telemetry) -> None:
    declared = {f"{s.name}.{stage}" for s in SCENARIOS.values() for stage in s.stages}
    assert declared == set(telemetry.stages)


def test_rows_are_in_time_order_inside_the_window(telemetry: Telemetry) -> None:
    for name, rows in telemetry.tables.items():
        times = [row["TimeGenerated"] for row in rows]
        assert times == sorted(times), name
        assert telemetry.start <= times[0] and times[-1] <= telemetry.end + dt.timedelta(hours=1)


def test_process_rows_are_coherent_like_defender_for_endpoint(telemetry: Telemetry) -> None:
    rows = telemetry.tables["DeviceProcessEvents"]
    for row in rows:
        assert row["ActionType"] == "ProcessCreated"
        assert row["FolderPath"].rsplit("/", 1)[-1] == row["FileName"]
        assert row["AccountDomain"] == row["DeviceName"]
        assert row["InitiatingProcessCreationTime"] <= row["ProcessCreationTime"]
        assert row["TimeGenerated"] >= row["Timestamp"]
    # ReportId grows with time on each device.
    by_device: dict[str, list[tuple[dt.datetime, int]]] = {}
    for row in rows:
        by_device.setdefault(row["DeviceId"], []).append((row["Timestamp"], row["ReportId"]))
    for events in by_device.values():
        ids_in_time_order = [report for _, report in sorted(events)]
        assert ids_in_time_order == sorted(ids_in_time_order)
    # Every parent (pid and start time, as Defender identifies a process) was created on
    # that device in the window, or is a daemon that has run since before it.
    created = {(r["DeviceId"], r["ProcessId"], r["ProcessCreationTime"]) for r in rows}
    for row in rows:
        parent = (row["DeviceId"], row["InitiatingProcessId"], row["InitiatingProcessCreationTime"])
        assert parent in created or parent[2] < telemetry.start, row["ProcessCommandLine"]


def test_benign_background_holds_the_attacks_near_misses(telemetry: Telemetry) -> None:
    commands = Counter(r["ProcessCommandLine"] for r in telemetry.tables["DeviceProcessEvents"])
    looks_alike = [
        "crontab -l",
        "curl -fsSL -o /tmp/get_helm.sh https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3",
        "docker run --privileged --rm tonistiigi/binfmt --install all",
        "systemctl restart mdatp",
        "grep docker /home/azureuser/.bash_history",
        "sed -i s/^HISTSIZE=.*/HISTSIZE=10000/ /home/alice.smith/.bashrc",
    ]
    for command in looks_alike:
        assert commands[command] >= 1, command
    imds = [c for c in commands if "169.254.169.254" in c and "oauth2/token" in c]
    assert len(imds) >= 2  # the backup job's storage token on each day, besides the attack


@pytest.mark.parametrize("seed", [3, 11])
def test_generation_never_repeats_an_event_key(seed: int) -> None:
    generate(seed=seed, scale=0.5)  # raises on a duplicate or missing key
