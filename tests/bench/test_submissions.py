"""Answer files given with --ctirealm-submissions: read as the reference's output
contract, whatever editor saved them, and refused with the file named when broken."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_ctirealm.bench.agents import submission_for
from pytest_ctirealm.dataset import load_benchmark

TASK = load_benchmark().tasks["linux_003"]
ANSWER = {
    "sigma_rule": "title: x",
    "kql_query": "DeviceProcessEvents | take 0",
    "query_results": [],
}


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "linux_003.json").write_text(json.dumps(ANSWER), encoding="utf-8-sig")
    transcript = submission_for(tmp_path, TASK)
    assert (transcript.status, transcript.submission) == ("submitted", ANSWER)


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "linux_003.json").write_text("{not json", encoding="utf-8")
    transcript = submission_for(tmp_path, TASK)
    assert transcript.status == "invalid_submission"
    assert str(tmp_path / "linux_003.json") in (transcript.error or "")
    assert submission_for(tmp_path / "none", TASK).status == "no_submission"
