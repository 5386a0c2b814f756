"""`pytest --ctirealm-rules=PATH`: every Sigma rule a test, judged on the telemetry."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from pytest_ctirealm.dataset.catalog import PROJECT_ROOT

REFERENCE = PROJECT_ROOT / "ground_truth" / "linux_003" / "sigma.yml"
SCALE = ["--ctirealm-scale=0.5", "-p", "no:cacheprovider"]


def _rule(title: str, detection: dict[str, object], **extra: object) -> str:
    document = {
        "title": title,
        "id": "5a1b2c3d-0000-4000-8000-" + f"{abs(hash(title)) % 10**12:012d}",
        "status": "test",
        "logsource": {"product": "linux", "category": "process_creation"},
        "detection": {**detection, "condition": "sel"},
        "level": "high",
        **extra,
    }
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture
def rules(pytester: pytest.Pytester) -> Path:
    folder = pytester.mkdir("rules")
    reference = yaml.safe_load(REFERENCE.read_text())
    reference["ctirealm"] = {"tasks": ["linux_003"]}
    (folder / "right.yml").write_text(yaml.safe_dump(reference, sort_keys=False))
    (folder / "wrong.yml").write_text(
        _rule("Every curl", {"sel": {"Image|endswith": "/curl"}}, ctirealm={"tasks": ["linux_003"]})
    )
    (folder / "quiet.yml").write_text(
        _rule("Shadow read", {"sel": {"CommandLine|contains": "/etc/shadow"}})
    )
    (folder / "noisy.yml").write_text(
        _rule("Any cron shell", {"sel": {"ParentImage|endswith": "/cron"}})
    )
    (folder / "malformed.yml").write_text("title: [unclosed\n")
    (folder / "missing.yml").write_text(
        "title: No detection\nlogsource: {product: linux, category: process_creation}\n"
    )
    (folder / "windows.yml").write_text(
        _rule("Windows rule", {"sel": {"Image": "x"}}).replace("product: linux", "product: windows")
    )
    (folder / "bad_target.yml").write_text(
        _rule("Bad target", {"sel": {"Image|endswith": "/curl"}}, ctirealm={"tasks": ["linux_999"]})
    )
    return folder


def test_each_rule_gets_the_outcome_and_message_it_deserves(
    pytester: pytest.Pytester, rules: Path
) -> None:
    result = pytester.runpytest_subprocess(f"--ctirealm-rules={rules}", "-v", *SCALE)
    result.assert_outcomes(passed=2, failed=6)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*quiet.yml::Shadow read PASSED*",
            f"*right.yml::{yaml.safe_load(REFERENCE.read_text())['title']}*PASSED*",
        ]
    )
    # curl is one of the fetchers the campaign draws, and admins and CI use it too.
    assert re.search(
        r"rule 'Every curl': recall 0\.\d\d < 1\.00 required; precision 0\.\d\d < 1\.00", out
    )
    assert '  | where FolderPath endswith "/curl"' in out  # the KQL it became
    assert re.search(r"Missed positives \(\d+ of \d+", out) and "False positives (" in out
    assert "rule 'Any cron shell':" in out and "benign events (budget 10)" in out
    assert "malformed.yml: not valid YAML" in out
    assert "rule 'No detection': not a valid Sigma rule" in out
    assert "rule 'Windows rule': log source (product: windows" in out
    assert "maps to unknown task 'linux_999'" in out
    assert "Traceback" not in out


def test_numbers_land_in_junit_properties(pytester: pytest.Pytester, rules: Path) -> None:
    junit = pytester.path / "out.xml"
    pytester.runpytest_subprocess(
        f"--ctirealm-rules={rules / 'right.yml'}", f"--junitxml={junit}", *SCALE
    )
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["precision"] == "1.0" and properties["recall"] == "1.0"
    assert properties["false_positives"] == "0" and properties["tasks"] == "linux_003"
    assert properties["kql"].startswith("DeviceProcessEvents\n| where")


def test_floors_can_be_lowered_per_run_and_per_rule(pytester: pytest.Pytester, rules: Path) -> None:
    wrong = rules / "wrong.yml"
    result = pytester.runpytest_subprocess(
        f"--ctirealm-rules={wrong}",
        "--ctirealm-min-precision=0",
        "--ctirealm-min-recall=0.1",
        "--ctirealm-max-false-positives=5000",
        *SCALE,
    )
    result.assert_outcomes(passed=1)
    document = yaml.safe_load(wrong.read_text())
    document["ctirealm"].update(min_recall=0.5, min_precision=0, max_false_positives=5000)
    wrong.write_text(yaml.safe_dump(document))
    result = pytester.runpytest_subprocess(f"--ctirealm-rules={wrong}", *SCALE)
    result.assert_outcomes(failed=1)
    assert re.search(r"recall 0\.[0-4]\d < 0\.50 required", result.stdout.str())


def test_ini_setting_and_mapping_file(pytester: pytest.Pytester, rules: Path) -> None:
    plain = yaml.safe_load(REFERENCE.read_text())
    (rules / "right.yml").write_text(yaml.safe_dump(plain, sort_keys=False))  # no ctirealm key
    (pytester.path / "map.yml").write_text(yaml.safe_dump({plain["id"]: {"tasks": ["linux_003"]}}))
    pytester.makeini(
        "[pytest]\nctirealm_rules = rules/right.yml\nctirealm_rules_map = map.yml\nctirealm_scale = 0.5\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1)
    assert "precision 1.00, recall 1.00" in result.stdout.str()


def test_baseline_records_and_catches_a_regression(pytester: pytest.Pytester, rules: Path) -> None:
    quiet = rules / "quiet.yml"
    baseline = pytester.path / "baseline.json"
    pytester.runpytest_subprocess(
        f"--ctirealm-rules={quiet}",
        f"--ctirealm-baseline={baseline}",
        "--ctirealm-update-baseline",
        *SCALE,
    ).assert_outcomes(passed=1)
    recorded = json.loads(baseline.read_text())
    assert list(recorded["rules"].values()) == [{"benign_hits": 0}]
    document = yaml.safe_load(quiet.read_text())
    document["detection"]["sel"] = {"CommandLine|contains": "/etc/"}
    quiet.write_text(yaml.safe_dump(document))
    result = pytester.runpytest_subprocess(
        f"--ctirealm-rules={quiet}",
        f"--ctirealm-baseline={baseline}",
        "--ctirealm-noise-budget=100000",
        *SCALE,
    )
    result.assert_outcomes(failed=1)
    assert "benign hits rose from 0 to" in result.stdout.str()


def test_usage_errors_are_one_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--ctirealm-rules=nowhere/*.yml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--ctirealm-rules: 'nowhere/*.yml' matches no file or folder" in result.stderr.str()
    pytester.mkdir("r")
    result = pytester.runpytest_subprocess("--ctirealm-rules=r", "--ctirealm-baseline=missing.json")
    assert "baseline file not found" in result.stderr.str()


def test_parallel_run_with_xdist(pytester: pytest.Pytester, rules: Path) -> None:
    result = pytester.runpytest_subprocess(f"--ctirealm-rules={rules}", "-n", "2", *SCALE)
    result.assert_outcomes(passed=2, failed=6)
    assert "ctirealm: Sigma rules" in result.stdout.str()


def test_every_tasks_reference_rules_pass_at_1_0(pytester: pytest.Pytester) -> None:
    """The rule mode over the reference Sigma rules of every task, mapped by a file."""
    folder = pytester.mkdir("references")
    mapping: dict[str, dict[str, list[str]]] = {}
    for sigma in sorted((PROJECT_ROOT / "ground_truth").glob("*/sigma.yml")):
        task = sigma.parent.name
        for index, document in enumerate(yaml.safe_load_all(sigma.read_text())):
            mapping[document["id"]] = {"tasks": [task]}
            (folder / f"{task}_{index}.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    (pytester.path / "map.yml").write_text(yaml.safe_dump(mapping))
    result = pytester.runpytest_subprocess(
        f"--ctirealm-rules={folder}",
        "--ctirealm-rules-map=map.yml",
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=len(mapping))
    assert result.stdout.str().count(
        "precision 1.00, recall 1.00, F1 1.00, 0 false positives"
    ) == len(mapping)


def test_lint_findings_are_reported_with_severity(pytester: pytest.Pytester) -> None:
    folder = pytester.mkdir("lint")
    document = yaml.safe_load(_rule("Sloppy rule.", {"sel": {"Imagee|endswith": "/curl"}}))
    document["detection"]["unused"] = {"Image": "x"}
    document["tags"] = ["attack.t9999"]
    (folder / "sloppy.yml").write_text(yaml.safe_dump(document))
    junit = pytester.path / "lint.xml"
    result = pytester.runpytest_subprocess(
        f"--ctirealm-rules={folder}", "-v", f"--junitxml={junit}", *SCALE
    )
    out = result.stdout.str()
    assert "lint high: Rule defines detection that is not referenced from condition" in out
    assert "lint medium: Invalid MITRE ATT&CK tagging: attack.t9999" in out
    assert "lint medium: Rule has a title that ends with a dot(.)" in out
    findings = [
        p.get("value")
        for p in ET.parse(junit).getroot().iter("property")
        if p.get("name") == "lint"
    ]
    assert len(findings) >= 3
