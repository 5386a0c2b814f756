"""KQL semantics detection engineers rely on, checked against answers computed in Python.

Every expected value here is derived from the rows the test loaded, never read back from
the engine, so a translation that is plausible but wrong fails.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from pytest_ctirealm.engines import EmbeddedEngine
from tests.conftest import NOW

Rows = list[dict[str, Any]]


def ids(engine: EmbeddedEngine, kql: str) -> list[int]:
    """ReportIds returned by a query, sorted."""
    return sorted(row["ReportId"] for row in engine.query(kql).records())


def expect(rows: Rows, keep: Any) -> list[int]:
    return sorted(row["ReportId"] for row in rows if keep(row))


def has_term(text: str, term: str) -> bool:
    """Kusto `has`: the needle as a whole term, case-insensitive."""
    pattern = r"(?<![^\W_])" + re.escape(term) + r"(?![^\W_])"
    return re.search(pattern, text, re.IGNORECASE) is not None


# -- string predicates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicate", "keep"),
    [
        ('FileName == "curl"', lambda r: r["FileName"] == "curl"),
        ('FileName == "CURL"', lambda r: False),
        ('FileName =~ "CURL"', lambda r: r["FileName"] == "curl"),
        ('FileName != "bash"', lambda r: r["FileName"] != "bash"),
        ('ProcessCommandLine contains "/TMP/"', lambda r: "/tmp/" in r["ProcessCommandLine"]),
        ('ProcessCommandLine contains_cs "/TMP/"', lambda r: False),
        ('ProcessCommandLine !contains "tmp"', lambda r: "tmp" not in r["ProcessCommandLine"]),
        ('ProcessCommandLine has "tmp"', lambda r: has_term(r["ProcessCommandLine"], "tmp")),
        ('ProcessCommandLine has "x.sh"', lambda r: has_term(r["ProcessCommandLine"], "x.sh")),
        # "tm" is inside the term "tmp", so `has` must not match where `contains` does.
        ('ProcessCommandLine has "tm"', lambda r: has_term(r["ProcessCommandLine"], "tm")),
        (
            'ProcessCommandLine has_any ("miner", "falcon")',
            lambda r: (
                has_term(r["ProcessCommandLine"], "miner")
                or has_term(r["ProcessCommandLine"], "falcon")
            ),
        ),
        (
            'ProcessCommandLine has_all ("curl", "tmp")',
            lambda r: (
                has_term(r["ProcessCommandLine"], "curl")
                and has_term(r["ProcessCommandLine"], "tmp")
            ),
        ),
        (
            'ProcessCommandLine startswith "CAT "',
            lambda r: r["ProcessCommandLine"].startswith("cat "),
        ),
        ('ProcessCommandLine endswith ".SH"', lambda r: r["ProcessCommandLine"].endswith(".sh")),
        (
            'ProcessCommandLine matches regex @"(curl|wget) .*-[oO] /tmp/"',
            lambda r: re.search(r"(curl|wget) .*-[oO] /tmp/", r["ProcessCommandLine"]) is not None,
        ),
        ('FileName in ("curl", "wget")', lambda r: r["FileName"] in ("curl", "wget")),
        ('FileName in ("CURL", "wget")', lambda r: r["FileName"] == "wget"),
        ('FileName in~ ("CURL", "WGET")', lambda r: r["FileName"] in ("curl", "wget")),
        ('FileName !in ("curl", "wget")', lambda r: r["FileName"] not in ("curl", "wget")),
        ("ProcessId between (1000 .. 2000)", lambda r: 1000 <= r["ProcessId"] <= 2000),
        (
            "Timestamp between (datetime(2026-03-08) .. datetime(2026-03-09))",
            lambda r: (
                dt.datetime(2026, 3, 8, tzinfo=dt.UTC)
                <= r["Timestamp"]
                <= dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
            ),
        ),
        ("Timestamp > ago(1d)", lambda r: r["Timestamp"] > NOW - dt.timedelta(days=1)),
        (
            'FileName == "curl" and AccountName != "root" or FileName == "dd"',
            lambda r: (
                (r["FileName"] == "curl" and r["AccountName"] != "root") or r["FileName"] == "dd"
            ),
        ),
    ],
)
def test_where_predicates_match_kusto_semantics(
    engine: EmbeddedEngine, process_rows: Rows, predicate: str, keep: Any
) -> None:
    assert ids(engine, f"DeviceProcessEvents | where {predicate}") == expect(process_rows, keep)


# -- dynamic columns ----------------------------------------------------------------


def test_dynamic_dot_and_bracket_access(engine: EmbeddedEngine, process_rows: Rows) -> None:
    kql = (
        "DeviceProcessEvents "
        "| where AdditionalFields.ProcessPosixEffectiveUser.Name == 'alice' "
        "| where toint(AdditionalFields['ProcessPosixEffectiveUser']['PosixUserId']) == 1"
    )
    assert ids(engine, kql) == expect(
        process_rows,
        lambda r: (
            r["AccountName"] == "alice"
            and r["AdditionalFields"]["ProcessPosixEffectiveUser"]["PosixUserId"] == 1
        ),
    )


def test_has_and_contains_on_a_dynamic_column(engine: EmbeddedEngine, process_rows: Rows) -> None:
    assert ids(engine, "DeviceProcessEvents | where AdditionalFields has 'crontab'") == expect(
        process_rows, lambda r: r["FileName"] == "crontab"
    )
    assert ids(engine, "DeviceProcessEvents | where AdditionalFields contains 'svc-dep'") == expect(
        process_rows, lambda r: r["AccountName"] == "svc-deploy"
    )


def test_dynamic_values_come_back_parsed(engine: EmbeddedEngine, process_rows: Rows) -> None:
    result = engine.query(
        "DeviceProcessEvents | where ReportId == 5 "
        "| project AdditionalFields, tags = AdditionalFields.tags, "
        "parsed = parse_json('{\"a\":[1]}')"
    )
    row = result.records()[0]
    assert row["AdditionalFields"] == process_rows[5]["AdditionalFields"]
    assert row["tags"] == process_rows[5]["AdditionalFields"]["tags"]
    assert row["parsed"] == {"a": [1]}
    assert [c.type for c in result.columns] == ["dynamic", "dynamic", "dynamic"]


def test_mv_expand_yields_one_row_per_element(engine: EmbeddedEngine, process_rows: Rows) -> None:
    result = engine.query(
        "DeviceProcessEvents | mv-expand tag = AdditionalFields.tags "
        "| summarize n = count() by tag = tostring(tag)"
    )
    expected: Counter[str] = Counter()
    for row in process_rows:
        expected.update(row["AdditionalFields"]["tags"])
    assert {r["tag"]: r["n"] for r in result.records()} == dict(expected)


# -- shaping ------------------------------------------------------------------------


def test_project_family(engine: EmbeddedEngine) -> None:
    base = "DeviceProcessEvents | take 1"
    assert engine.query(f"{base} | project DeviceName, FileName").column_names == [
        "DeviceName",
        "FileName",
    ]
    renamed = engine.query(f"{base} | project-rename Host = DeviceName").column_names
    assert "Host" in renamed and "DeviceName" not in renamed
    away = engine.query(f"{base} | project-away AdditionalFields, ReportId").column_names
    assert "AdditionalFields" not in away and "ReportId" not in away and "FileName" in away


def test_extend_computes_per_row(engine: EmbeddedEngine, process_rows: Rows) -> None:
    result = engine.query(
        "DeviceProcessEvents | extend Len = strlen(ProcessCommandLine), "
        "Upper = toupper(FileName) | project ReportId, Len, Upper"
    )
    by_id = {r["ReportId"]: r for r in process_rows}
    for row in result.records():
        source = by_id[row["ReportId"]]
        assert row["Len"] == len(source["ProcessCommandLine"])
        assert row["Upper"] == source["FileName"].upper()


def test_summarize_aggregates_by_key(engine: EmbeddedEngine, process_rows: Rows) -> None:
    result = engine.query(
        "DeviceProcessEvents | summarize n = count(), hosts = dcount(DeviceName), "
        "users = make_set(AccountName), roots = countif(AccountName == 'root') by FileName"
    )
    groups: dict[str, Rows] = defaultdict(list)
    for row in process_rows:
        groups[row["FileName"]].append(row)
    got = {r["FileName"]: r for r in result.records()}
    assert set(got) == set(groups)
    for name, rows in groups.items():
        assert got[name]["n"] == len(rows)
        assert got[name]["hosts"] == len({r["DeviceName"] for r in rows})
        assert sorted(got[name]["users"]) == sorted({r["AccountName"] for r in rows})
        assert got[name]["roots"] == sum(r["AccountName"] == "root" for r in rows)


def test_summarize_arg_max_picks_the_latest_row(engine: EmbeddedEngine, process_rows: Rows) -> None:
    result = engine.query(
        "DeviceProcessEvents | summarize arg_max(Timestamp, ReportId, FileName) by DeviceName"
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in process_rows:
        best = latest.get(row["DeviceName"])
        if best is None or row["Timestamp"] > best["Timestamp"]:
            latest[row["DeviceName"]] = row
    got = {r["DeviceName"]: r for r in result.records()}
    assert {d: r["ReportId"] for d, r in got.items()} == {
        d: r["ReportId"] for d, r in latest.items()
    }
    assert all(got[d]["Timestamp"] == latest[d]["Timestamp"] for d in got)


def test_summarize_by_bin_of_time(engine: EmbeddedEngine, process_rows: Rows) -> None:
    result = engine.query("DeviceProcessEvents | summarize n = count() by bin(Timestamp, 6h)")
    expected: Counter[dt.datetime] = Counter()
    for row in process_rows:
        t = row["Timestamp"]
        expected[t.replace(hour=t.hour - t.hour % 6, minute=0, second=0, microsecond=0)] += 1
    assert {r["Timestamp"]: r["n"] for r in result.records()} == dict(expected)


def test_sort_top_distinct(engine: EmbeddedEngine, process_rows: Rows) -> None:
    sorted_ids = [
        r["ReportId"]
        for r in engine.query(
            "DeviceProcessEvents | sort by ProcessId desc, ReportId asc | project ReportId"
        ).records()
    ]
    assert sorted_ids == [
        r["ReportId"] for r in sorted(process_rows, key=lambda r: (-r["ProcessId"], r["ReportId"]))
    ]
    top = engine.query("DeviceProcessEvents | top 5 by ProcessId asc | project ProcessId")
    assert [r[0] for r in top.rows] == sorted(r["ProcessId"] for r in process_rows)[:5]
    distinct = engine.query("DeviceProcessEvents | distinct DeviceName, AccountName")
    assert {tuple(r) for r in distinct.rows} == {
        (r["DeviceName"], r["AccountName"]) for r in process_rows
    }


# -- joins, unions, let, parse ------------------------------------------------------

_LEFT = "datatable(k:string, a:long)['x', 1, 'x', 2, 'y', 3, 'z', 4]"
_RIGHT = "datatable(k:string, b:long)['x', 10, 'x', 20, 'y', 30, 'w', 40]"
_L = [("x", 1), ("x", 2), ("y", 3), ("z", 4)]
_R = [("x", 10), ("x", 20), ("y", 30), ("w", 40)]


def _first_per_key(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    seen: dict[str, tuple[str, int]] = {}
    for row in rows:
        seen.setdefault(row[0], row)
    return list(seen.values())


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # Kusto's default: the left side deduplicated on the key, then an inner join.
        ("", {(lk, a, b) for lk, a in _first_per_key(_L) for rk, b in _R if lk == rk}),
        (
            "kind=innerunique",
            {(lk, a, b) for lk, a in _first_per_key(_L) for rk, b in _R if lk == rk},
        ),
        ("kind=inner", {(lk, a, b) for lk, a in _L for rk, b in _R if lk == rk}),
        (
            "kind=leftouter",
            {(lk, a, b) for lk, a in _L for rk, b in _R if lk == rk} | {("z", 4, None)},
        ),
        ("kind=leftanti", {("z", 4)}),
        ("kind=leftsemi", {(lk, a) for lk, a in _L if lk in {k for k, _ in _R}}),
        ("kind=rightanti", {("w", 40)}),
        ("kind=rightsemi", {(rk, b) for rk, b in _R if rk in {k for k, _ in _L}}),
    ],
)
def test_join_kinds(engine: EmbeddedEngine, kind: str, expected: set[tuple[Any, ...]]) -> None:
    result = engine.query(f"{_LEFT} | join {kind} ({_RIGHT}) on k")
    names = result.column_names
    keep = [names.index(c) for c in ("k", "a", "b") if c in names]
    assert {tuple(row[i] for i in keep) for row in result.rows} == expected
    if kind in ("", "kind=inner", "kind=innerunique"):
        assert "k1" in names  # Kusto renames the right side's key column


def test_join_fullouter_keeps_both_sides(engine: EmbeddedEngine) -> None:
    result = engine.query(f"{_LEFT} | join kind=fullouter ({_RIGHT}) on k | project k, k1, a, b")
    matched = {(lk, rk, a, b) for lk, a in _L for rk, b in _R if lk == rk}
    # Known difference: Kusto fills an unmatched side's string columns with "" where
    # the embedded engine gives null; numbers are null in both.
    assert sorted(map(tuple, result.rows), key=str) == sorted(
        matched | {("z", None, 4, None), (None, "w", None, 40)}, key=str
    )


def test_union_concatenates_and_withsource_names_the_table(engine: EmbeddedEngine) -> None:
    result = engine.query(
        "union withsource=Src (datatable(v:long)[1, 2] | extend T='a'), "
        "(datatable(v:long)[3] | extend T='b') | sort by v asc"
    )
    assert [r["v"] for r in result.records()] == [1, 2, 3]
    assert len({r["Src"] for r in result.records()}) == 2


def test_let_scalar_and_tabular(engine: EmbeddedEngine, process_rows: Rows) -> None:
    kql = (
        "let bins = dynamic(['curl', 'wget']);\n"
        "let since = datetime(2026-03-09);\n"
        "let Downloads = DeviceProcessEvents | where FileName in (bins);\n"
        "Downloads | where Timestamp >= since"
    )
    assert ids(engine, kql) == expect(
        process_rows,
        lambda r: (
            r["FileName"] in ("curl", "wget")
            and r["Timestamp"] >= dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
        ),
    )


def test_parse_extracts_fields(engine: EmbeddedEngine, process_rows: Rows) -> None:
    result = engine.query(
        "DeviceProcessEvents | where FileName == 'wget' "
        "| parse ProcessCommandLine with * 'http' Scheme '://' Host '/' Rest "
        "| project ReportId, Host"
    )
    got = {r["ReportId"]: r["Host"] for r in result.records()}
    for row in process_rows:
        if row["FileName"] == "wget":
            match = re.search(r"http(.*?)://(.*?)/", row["ProcessCommandLine"])
            assert match is not None
            assert got[row["ReportId"]] == match.group(2)


# -- datetime functions -------------------------------------------------------------


def test_datetime_functions(engine: EmbeddedEngine, process_rows: Rows) -> None:
    result = engine.query(
        "DeviceProcessEvents | extend Day = startofday(Timestamp), "
        "Hour = hourofday(Timestamp), Mins = datetime_diff('minute', now(), Timestamp), "
        "Age = now() - Timestamp | project ReportId, Day, Hour, Mins, Age"
    )
    by_id = {r["ReportId"]: r for r in process_rows}
    for row in result.records():
        t = by_id[row["ReportId"]]["Timestamp"]
        assert row["Day"] == t.replace(hour=0, minute=0, second=0, microsecond=0)
        assert row["Hour"] == t.hour
        # Kusto counts minute boundaries crossed, not elapsed minutes.
        minute = dt.timedelta(minutes=1)
        floor = dt.datetime.min.replace(tzinfo=dt.UTC)
        assert row["Mins"] == (NOW - floor) // minute - (t - floor) // minute
        assert row["Age"] == NOW - t


def test_self_contained_queries_need_no_tables() -> None:
    with EmbeddedEngine() as engine:
        assert engine.query("print x = 1 + 1, s = strcat('a', 'b')").rows == [(2, "ab")]
        assert [r[0] for r in engine.query("range i from 1 to 5 step 2").rows] == [1, 3, 5]
        table = engine.query("datatable(a:string, n:long)['p', 1, 'q', 2] | where n > 1")
        assert table.rows == [("q", 2)]
        assert [(c.name, c.type) for c in table.columns] == [("a", "string"), ("n", "long")]
