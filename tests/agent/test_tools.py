"""The agent's tools over the benchmark's own telemetry (seed 0, scale 0.5)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ctirealm.agent import (
    CTI_TOOLS,
    MAX_QUERY_ROWS,
    MAX_SAMPLE_ROWS,
    Message,
    ToolBox,
    ToolCall,
    Transcript,
    validate_output,
)
from pytest_ctirealm.workspace import Workspace

ALL_TOOLS = {
    "list_cti_report_tags",
    "get_cti_reports_by_tag",
    "search_mitre_techniques",
    "search_sigma_rules",
    "list_kusto_tables",
    "get_table_schema",
    "sample_table_data",
    "execute_kql_query",
    "validate_output_json",
}

GOOD_RULE = """\
title: Crontab Loaded From Tmp
id: 5b0cf4b8-8a0e-4c4e-9d8b-1f1f3c6b9a01
status: experimental
description: crontab loads a job file from /tmp
logsource:
  product: linux
  category: process_creation
detection:
  selection:
    Image|endswith: /crontab
    CommandLine|contains: /tmp/
  condition: selection
level: high
"""


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    ws = Workspace(seed=0, scale=0.5)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def toolbox(workspace: Workspace) -> ToolBox:
    return ToolBox(workspace)


def call(toolbox: ToolBox, name: str, **arguments: Any) -> Any:
    return json.loads(toolbox.call(name, arguments))


# -- definitions ---------------------------------------------------------------------------


def test_specs_name_every_reference_tool(toolbox: ToolBox) -> None:
    specs = toolbox.specs()
    assert {spec["name"] for spec in specs} == ALL_TOOLS
    for spec in specs:
        assert spec["description"]
        assert spec["parameters"]["type"] == "object"
        assert set(spec["parameters"]["required"]) <= set(spec["parameters"]["properties"])
    by_name = {spec["name"]: spec["parameters"] for spec in specs}
    assert set(by_name["search_sigma_rules"]["properties"]) == {
        "keyword",
        "technique_id",
        "platform",
        "limit",
    }
    assert by_name["execute_kql_query"]["required"] == ["query"]
    assert by_name["sample_table_data"]["required"] == ["table_name"]
    json.dumps(specs)  # ready for a model API


def test_minimal_variant_drops_cti_mitre_and_sigma_tools(workspace: Workspace) -> None:
    minimal = ToolBox(workspace, "minimal")
    assert set(minimal.names) == ALL_TOOLS - CTI_TOOLS
    assert {spec["name"] for spec in minimal.specs()} == ALL_TOOLS - CTI_TOOLS
    result = json.loads(minimal.call("get_cti_reports_by_tag", {"tag": "linux"}))
    assert result["error"] == "unknown_tool"
    assert "minimal variant" in result["hint"]
    assert set(ToolBox(workspace, "seeded").names) == ALL_TOOLS
    with pytest.raises(ValueError, match="unknown variant"):
        ToolBox(workspace, "tiny")


# -- CTI reports ---------------------------------------------------------------------------


def test_report_tags_and_reports_by_tag(toolbox: ToolBox, workspace: Workspace) -> None:
    listing = call(toolbox, "list_cti_report_tags")
    tags = {entry["tag"]: entry["reports"] for entry in listing["tags"]}
    assert listing["report_count"] == len(workspace.benchmark.reports)
    result = call(toolbox, "get_cti_reports_by_tag", tag="Linux")  # case and spacing forgiven
    assert result["tag"] == "linux"
    assert result["count"] == tags["linux"] == len(result["reports"])
    report = result["reports"][0]
    assert {"id", "title", "tags", "content"} <= set(report)
    assert report["content"] == workspace.benchmark.reports[report["id"]].content


def test_every_task_report_is_findable_by_a_listed_tag(
    toolbox: ToolBox, workspace: Workspace
) -> None:
    tags = [entry["tag"] for entry in call(toolbox, "list_cti_report_tags")["tags"]]
    reachable: set[str] = set()
    for tag in tags:
        reachable |= {r["id"] for r in call(toolbox, "get_cti_reports_by_tag", tag=tag)["reports"]}
    needed = {rid for task in workspace.benchmark.tasks.values() for rid in task.reports}
    assert needed <= reachable


def test_unknown_tag_suggests_near_tags(toolbox: ToolBox) -> None:
    result = call(toolbox, "get_cti_reports_by_tag", tag="kubernets")
    assert result["error"] == "unknown_tag"
    assert "kubernetes" in result["suggestions"]


# -- ATT&CK --------------------------------------------------------------------------------


def test_mitre_by_tactic(toolbox: ToolBox) -> None:
    for text in ("persistence", "Privilege Escalation", "TA0003"):
        result = call(toolbox, "search_mitre_techniques", tactic=text)
        assert result["matched_as"].startswith("tactic:")
        assert result["count"] > 20
        for technique in result["techniques"]:
            assert {"id", "name", "tactics", "description"} <= set(technique)
            assert re.fullmatch(r"T\d{4}(\.\d{3})?", technique["id"])
            assert result["matched_as"].removeprefix("tactic:") in technique["tactics"]
            assert "(Citation" not in technique["description"]
            assert len(technique["description"]) <= 240
    ids = {
        t["id"]
        for t in call(toolbox, "search_mitre_techniques", tactic="persistence")["techniques"]
    }
    assert "T1053.003" in ids


def test_mitre_by_technique_id_and_keyword(toolbox: ToolBox) -> None:
    result = call(toolbox, "search_mitre_techniques", tactic="t1053")
    assert result["matched_as"] == "technique_id"
    ids = [t["id"] for t in result["techniques"]]
    assert ids[0] == "T1053" and "T1053.003" in ids and "T1053.007" in ids
    exact = call(toolbox, "search_mitre_techniques", tactic="T1552.007")
    assert [t["id"] for t in exact["techniques"]] == ["T1552.007"]
    keyword = call(toolbox, "search_mitre_techniques", tactic="cron")
    assert keyword["matched_as"] == "keyword"
    assert "T1053.003" in {t["id"] for t in keyword["techniques"]}
    assert call(toolbox, "search_mitre_techniques", tactic="T9999")["error"] == "unknown_technique"
    assert call(toolbox, "search_mitre_techniques", tactic="zzqqxx")["error"] == "no_match"


# -- Sigma ---------------------------------------------------------------------------------


def test_sigma_search(toolbox: ToolBox) -> None:
    result = call(toolbox, "search_sigma_rules", keyword="crontab", platform="linux")
    assert 1 <= result["count"] <= 5
    rule = result["rules"][0]
    assert {"title", "tags", "logsource", "rule"} <= set(rule)
    assert rule["logsource"]["product"] == "linux"
    by_technique = call(toolbox, "search_sigma_rules", technique_id="T1053", limit=2)
    assert by_technique["count"] == 2
    assert all(any("t1053" in t for t in r["tags"]) for r in by_technique["rules"])
    big = call(toolbox, "search_sigma_rules", limit=500)
    assert big["count"] <= 20 and "capped" in big["note"]
    bad = call(toolbox, "search_sigma_rules", platform="windows")
    assert bad["error"] == "invalid_argument" and "linux" in bad["hint"]
    none = call(toolbox, "search_sigma_rules", keyword="zzqqxx")
    assert none["count"] == 0 and "hint" in none
    nulls = call(toolbox, "search_sigma_rules", keyword=None, technique_id="T1053", platform=None)
    assert nulls["count"] >= 1


# -- tables --------------------------------------------------------------------------------


def test_list_tables(toolbox: ToolBox, workspace: Workspace) -> None:
    result = call(toolbox, "list_kusto_tables")
    names = {t["name"] for t in result["tables"]}
    assert names == set(workspace.telemetry.tables) and result["count"] == 12
    signins = next(t for t in result["tables"] if t["name"] == "SigninLogs")
    assert signins["also_named"] == ["SignInLogs"]
    for table in result["tables"]:
        assert table["rows"] == len(workspace.telemetry.tables[table["name"]])


def test_table_schema(toolbox: ToolBox) -> None:
    result = call(toolbox, "get_table_schema", table_name="DeviceProcessEvents")
    columns = {c["name"]: c["type"] for c in result["columns"]}
    assert columns["ProcessCommandLine"] == "string"
    assert result["time_column"] == "TimeGenerated"
    assert call(toolbox, "get_table_schema", table_name="SignInLogs")["table"] == "SigninLogs"
    wrong = call(toolbox, "get_table_schema", table_name="DeviceProcesEvents")
    assert wrong["error"] == "unknown_table"
    assert wrong["suggestions"][0] == "DeviceProcessEvents"
    assert "Did you mean" in wrong["hint"]


def test_tables_say_an_aks_write_is_one_event_in_both_audit_tables(toolbox: ToolBox) -> None:
    listed = {t["name"]: t for t in call(toolbox, "list_kusto_tables")["tables"]}
    for table in ("AKSAudit", "AKSAuditAdmin"):
        note = call(toolbox, "get_table_schema", table_name=table)["note"]
        assert "same AuditId" in note and "once" in note
        assert listed[table]["note"] == note
    assert "note" not in call(toolbox, "get_table_schema", table_name="SigninLogs")


def test_sample_rows_and_cap(toolbox: ToolBox) -> None:
    default = call(toolbox, "sample_table_data", table_name="AKSAudit")
    assert default["row_count"] == 5 and len(default["rows"]) == 5
    assert all(isinstance(row, dict) and row for row in default["rows"])
    capped = call(toolbox, "sample_table_data", table_name="DeviceProcessEvents", rows=500)
    assert capped["row_count"] == len(capped["rows"]) == MAX_SAMPLE_ROWS
    assert "capped at 20" in capped["note"]
    assert call(toolbox, "sample_table_data", table_name="AKSAudit", rows=0)["error"] == (
        "invalid_argument"
    )
    assert call(toolbox, "sample_table_data", table_name="Nope")["error"] == "unknown_table"


# -- queries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        ("DeviceProcessEvents | take 1000", 10),
        ("DeviceProcessEvents | take 1000", 500),
        ("DeviceProcessEvents | project TimeGenerated, FileName", None),
        ("AKSAudit | limit 5000 | project Verb", 10_000),
    ],
)
def test_query_cap_is_enforced(toolbox: ToolBox, query: str, limit: int | None) -> None:
    arguments: dict[str, Any] = {"query": query}
    if limit is not None:
        arguments["limit"] = limit
    result = json.loads(toolbox.call("execute_kql_query", arguments))
    assert result["row_count"] == len(result["rows"]) == MAX_QUERY_ROWS
    assert result["truncated"] is True
    assert "more than 10 rows" in result["note"] and "| count" in result["note"]
    if limit is not None and limit > MAX_QUERY_ROWS:
        assert "capped at 10" in result["note"]


def test_query_results_read_as_records(toolbox: ToolBox) -> None:
    result = call(
        toolbox,
        "execute_kql_query",
        query="DeviceProcessEvents | summarize n = count() by FileName | top 3 by n",
        limit=5,
    )
    assert result["truncated"] is False and "note" not in result
    assert [c["name"] for c in result["columns"]] == ["FileName", "n"]
    assert len(result["rows"]) == 3
    assert all(set(row) == {"FileName", "n"} for row in result["rows"])
    small = call(toolbox, "execute_kql_query", query="AKSAudit | take 100", limit=3)
    assert small["row_count"] == 3 and small["truncated"] is True
    stamp = call(toolbox, "execute_kql_query", query="AKSAudit | take 1 | project TimeGenerated")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", stamp["rows"][0]["TimeGenerated"])
    empty = call(toolbox, "execute_kql_query", query="AKSAudit | where Verb == 'zzqq'")
    assert empty["row_count"] == 0 and "No rows matched" in empty["note"]


@pytest.mark.parametrize(
    ("query", "code", "hint"),
    [
        ("DeviceProcessEvents | where FileNam == 'x'", "unknown_column", "FileName"),
        ("DeviceProcesEvents | take 1", "unknown_table", "DeviceProcessEvents"),
        ("DeviceProcessEvents | where", "syntax_error", "Check"),
        (".drop table DeviceProcessEvents", "not_allowed", "query"),
    ],
)
def test_engine_errors_are_results_with_hints(
    toolbox: ToolBox, query: str, code: str, hint: str
) -> None:
    result = call(toolbox, "execute_kql_query", query=query)
    assert result["error"] == code
    assert hint in result["hint"]
    assert toolbox.calls[-1].error == result["message"]


def test_query_argument_limits(toolbox: ToolBox) -> None:
    assert call(toolbox, "execute_kql_query", query="  ")["error"] == "invalid_argument"
    assert call(toolbox, "execute_kql_query", query="AKSAudit", limit=0)["error"] == (
        "invalid_argument"
    )


# -- argument checking ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "fragment"),
    [
        ("get_cti_reports_by_tag", {}, "missing required argument 'tag'"),
        ("get_table_schema", {"table": "AKSAudit"}, "did you mean 'table_name'"),
        ("execute_kql_query", {"query": 5}, "'query' must be string, got integer"),
        ("execute_kql_query", {"query": "AKSAudit", "limit": "5"}, "must be integer"),
        ("sample_table_data", {"table_name": "AKSAudit", "rows": True}, "got boolean"),
        ("sample_table_data", {"table_name": "AKSAudit", "rows": 2.5}, "got number"),
        ("list_kusto_tables", {"verbose": True}, "unknown argument 'verbose'"),
        ("search_sigma_rules", {"keyword": ["cron"]}, "string or null, got array"),
    ],
)
def test_bad_arguments_are_error_results(
    toolbox: ToolBox, name: str, arguments: dict[str, Any], fragment: str
) -> None:
    result = json.loads(toolbox.call(name, arguments))
    assert result["error"] == "invalid_arguments"
    assert fragment in result["message"]
    assert result["hint"].startswith(f"Call it as {name}(")


def test_unknown_tool_and_non_object_arguments(toolbox: ToolBox) -> None:
    result = json.loads(toolbox.call("execute_kql", {"query": "AKSAudit"}))
    assert result["error"] == "unknown_tool" and "execute_kql_query" in result["hint"]
    result = json.loads(toolbox.call("list_kusto_tables", ["x"]))  # type: ignore[arg-type]
    assert result["error"] == "invalid_arguments"
    assert call(toolbox, "list_kusto_tables", **{})["count"] == 12


def test_unexpected_failure_is_a_result(toolbox: ToolBox, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(**_: Any) -> Any:
        raise RuntimeError("kaput")

    spec = toolbox.tools["list_kusto_tables"]
    monkeypatch.setitem(
        toolbox.tools,
        "list_kusto_tables",
        type(spec)(spec.name, spec.description, spec.parameters, boom),
    )
    result = json.loads(toolbox.call("list_kusto_tables", {}))
    assert result["error"] == "internal_error" and "kaput" in result["message"]


# -- the output contract -------------------------------------------------------------------


def test_validate_good_output(toolbox: ToolBox) -> None:
    output = {
        "sigma_rule": GOOD_RULE,
        "kql_query": "DeviceProcessEvents | where FileName == 'crontab'",
        "query_results": [{"FileName": "crontab"}],
    }
    result = call(toolbox, "validate_output_json", json_output=json.dumps(output))
    assert result == {"valid": True, "errors": [], "warnings": []}
    as_object = call(toolbox, "validate_output_json", json_output=output)
    assert as_object["valid"] is True
    extra = validate_output({**output, "notes": "x", "query_results": []})
    assert extra["valid"] is True and len(extra["warnings"]) == 2


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        ("{not json", "Not valid JSON: "),
        ("[1, 2]", "must be a JSON object, not array"),
        ('{"kql_query": "x", "query_results": []}', 'Missing key(s): "sigma_rule"'),
        (
            json.dumps({"sigma_rule": "title: [", "kql_query": "x", "query_results": []}),
            '"sigma_rule" is not valid YAML',
        ),
        (
            json.dumps({"sigma_rule": "title: x", "kql_query": "x", "query_results": []}),
            "lacks required field(s): logsource, detection",
        ),
        (
            json.dumps(
                {
                    "sigma_rule": GOOD_RULE.replace("condition: selection", "condition: nope"),
                    "kql_query": "x",
                    "query_results": [],
                }
            ),
            "not a valid Sigma rule",
        ),
        (
            json.dumps({"sigma_rule": GOOD_RULE, "kql_query": " ", "query_results": []}),
            '"kql_query" is empty',
        ),
        (
            json.dumps({"sigma_rule": GOOD_RULE, "kql_query": "x", "query_results": {}}),
            '"query_results" must be a list of objects, got object',
        ),
        (
            json.dumps({"sigma_rule": GOOD_RULE, "kql_query": "x", "query_results": [{}, 3]}),
            "items at index 1 are not",
        ),
    ],
)
def test_validate_says_what_is_wrong(toolbox: ToolBox, output: str, fragment: str) -> None:
    result = call(toolbox, "validate_output_json", json_output=output)
    assert result["valid"] is False
    assert any(fragment in error for error in result["errors"]), result["errors"]


# -- records -------------------------------------------------------------------------------


def test_every_call_is_recorded_with_timing(workspace: Workspace) -> None:
    box = ToolBox(workspace)
    texts = [
        box.call("list_kusto_tables", {}),
        box.call("execute_kql_query", {"query": "AKSAudit | count"}, call_id="c2"),
        box.call("execute_kql_query", {"query": "Nope | count"}),
        box.call("get_table_schema", {}),
        box.call("no_such_tool", {"x": 1}),
    ]
    assert [c.name for c in box.calls] == [
        "list_kusto_tables",
        "execute_kql_query",
        "execute_kql_query",
        "get_table_schema",
        "no_such_tool",
    ]
    for text, record in zip(texts, box.calls, strict=True):
        assert record.result == json.loads(text)
        assert record.started > 1.7e9 and record.elapsed >= 0
    assert box.calls[1].arguments == {"query": "AKSAudit | count"}
    assert box.calls[1].call_id == "c2" and box.calls[1].error is None
    assert [c.error is not None for c in box.calls] == [False, False, True, True, True]


def test_transcript_round_trip(tmp_path: Path, workspace: Workspace) -> None:
    box = ToolBox(workspace)
    box.call("get_table_schema", {"table_name": "AKSAudit"}, call_id="a")
    box.call("execute_kql_query", {"query": "AKSAudit | take 2"}, call_id="b")
    box.call("get_table_schema", {"table_name": "Nope"}, call_id="c")
    transcript = Transcript(
        task_id="aks_001",
        epoch=1,
        agent="scripted",
        messages=[
            Message("system", "You are a detection engineer."),
            Message("user", "Detect secrets being swept."),
            Message(
                "assistant",
                "Looking at the schema.",
                tool_calls=[ToolCall("get_table_schema", {"table_name": "AKSAudit"}, call_id="a")],
                input_tokens=120,
                output_tokens=30,
            ),
            Message("tool", json.dumps(box.calls[0].result), tool_call_id="a"),
        ],
        tool_calls=list(box.calls),
        submission={"sigma_rule": GOOD_RULE, "kql_query": "AKSAudit", "query_results": []},
        status="submitted",
        input_tokens=120,
        output_tokens=30,
        started=1_770_000_000.5,
        elapsed=12.25,
    )
    lines = transcript.to_jsonl()
    assert all("\n" not in line for line in lines)
    assert [json.loads(line)["type"] for line in (lines[0], lines[-1])] == ["header", "footer"]
    assert Transcript.from_jsonl(lines) == transcript
    path = tmp_path / "runs" / "aks_001.1.jsonl"
    transcript.write(path)
    assert Transcript.read(path) == transcript
    with pytest.raises(ValueError, match="header"):
        Transcript.from_jsonl(lines[1:])
    with pytest.raises(ValueError, match="unknown line type"):
        Transcript.from_jsonl([lines[0], '{"type": "bogus"}'])
    with pytest.raises(ValueError, match="not JSON"):
        Transcript.from_jsonl([lines[0], "{"])


def test_a_lone_surrogate_in_an_answer_is_saved_and_read_back(tmp_path: Path) -> None:
    """Valid JSON may hold a lone surrogate that UTF-8 cannot: the transcript still
    saves (the task does not vanish), and reads back the same text."""
    kql = json.loads('"DeviceProcessEvents | where ProcessCommandLine has \\ud800"')
    transcript = Transcript(
        task_id="linux_001",
        submission={"sigma_rule": GOOD_RULE, "kql_query": kql, "query_results": []},
        status="submitted",
    )
    path = tmp_path / "linux_001.0.jsonl"
    transcript.write(path)
    assert Transcript.read(path).submission == transcript.submission


# -- ground truth stays hidden (runs last: it reads every call made above) -----------------


def test_no_result_reveals_ground_truth(toolbox: ToolBox, workspace: Workspace) -> None:
    # A few calls that would be likeliest to leak, on top of everything recorded above.
    for tag in ("aks", "linux", "cloud", "azure", "kubernetes"):
        toolbox.call("get_cti_reports_by_tag", {"tag": tag})
    toolbox.call("search_sigma_rules", {"limit": 20})
    for table in workspace.telemetry.tables:
        toolbox.call("sample_table_data", {"table_name": table, "rows": 20})
    assert len(toolbox.calls) > 15
    text = "\n".join(json.dumps(call.result) for call in toolbox.calls)
    stages = set(workspace.telemetry.stages)
    scenarios = {stage.split(".", 1)[0] for stage in stages}
    benchmark = workspace.benchmark
    forbidden = stages | scenarios | {p for t in benchmark.tasks.values() for p in t.positives}
    for reference in benchmark.references.values():
        forbidden.add(reference.kql.strip())
        forbidden |= set(re.findall(r"^(?:id|title):.*$", reference.sigma, re.MULTILINE))
    leaks = sorted(item for item in forbidden if item and item in text)
    assert not leaks
    assert "ground_truth" not in text and "positives" not in text.replace("falsepositives", "")
