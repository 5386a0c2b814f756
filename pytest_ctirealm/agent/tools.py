"""The agent's tools: the reference's names, arguments and limits, over a Workspace.

`ToolBox(workspace, variant)` gives model APIs their tool definitions (`specs()`) and runs
calls (`call(name, arguments)`): arguments are checked against the definitions, every
failure comes back as a JSON error result that says what to do next (never an
exception), and every call is recorded with its result and timing in `calls`.

Nothing here reads the tasks' ground truth (positives, attack stages, reference
detections): the tools see the report library, ATT&CK, the Sigma library and the tables.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from pytest_ctirealm.agent.transcript import ToolCall
from pytest_ctirealm.dataset import Report
from pytest_ctirealm.engines import EngineError
from pytest_ctirealm.engines.kusto_values import to_json_value
from pytest_ctirealm.json_types import json_type
from pytest_ctirealm.sigma import library as sigma_library
from pytest_ctirealm.sigma.attack import attack_lookup
from pytest_ctirealm.telemetry.schema import TABLE_ALIASES
from pytest_ctirealm.workspace import Workspace

#: Rows execute_kql_query ever returns, and sample_table_data at most (the reference's).
MAX_QUERY_ROWS = 10
MAX_SAMPLE_ROWS = 20
MAX_SIGMA_RULES = 20
#: Techniques a keyword search of ATT&CK returns at most.
MAX_TECHNIQUES = 25
DEFAULT_QUERY_TIMEOUT = 30.0

VARIANTS = ("standard", "minimal", "seeded")
#: Tools the `minimal` variant removes (the reference's ablation).
CTI_TOOLS = frozenset(
    {
        "list_cti_report_tags",
        "get_cti_reports_by_tag",
        "search_mitre_techniques",
        "search_sigma_rules",
    }
)
OUTPUT_KEYS = ("sigma_rule", "kql_query", "query_results")

_TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$", re.IGNORECASE)
_TACTIC_ID = re.compile(r"^TA\d{4}$", re.IGNORECASE)
_CITATION = re.compile(r"\(Citation:[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_HTML = re.compile(r"<[^>]+>")


class ToolError(Exception):
    """A tool's failure the agent can act on: becomes an error result, not a crash."""

    def __init__(self, code: str, message: str, hint: str | None = None, **extra: Any) -> None:
        self.code = code
        self.message = message
        self.hint = hint
        self.extra = extra
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return {**out, **self.extra}


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what a model API is told about it, and the function that runs it."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any]

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def _params(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


_STRING = {"type": "string"}
_OPTIONAL_STRING = {"type": ["string", "null"]}


class ToolBox:
    """The tools of one run, bound to a workspace; `calls` records every call."""

    def __init__(
        self,
        workspace: Workspace,
        variant: str = "standard",
        *,
        query_timeout: float = DEFAULT_QUERY_TIMEOUT,
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}: expected one of {', '.join(VARIANTS)}")
        self.workspace = workspace
        self.variant = variant
        self.query_timeout = query_timeout
        self.calls: list[ToolCall] = []
        tools = self._all_tools()
        if variant == "minimal":
            tools = [tool for tool in tools if tool.name not in CTI_TOOLS]
        self.tools: dict[str, ToolSpec] = {tool.name: tool for tool in tools}

    # -- the model-facing API ----------------------------------------------------------

    def specs(self) -> list[dict[str, Any]]:
        """Tool definitions (name, description, JSON-schema parameters) for model APIs."""
        return [tool.definition() for tool in self.tools.values()]

    @property
    def names(self) -> list[str]:
        return list(self.tools)

    def call(self, name: str, arguments: dict[str, Any] | None = None, call_id: str = "") -> str:
        """Run tool *name*; return its result as JSON text and record the call."""
        started = time.time()
        clock = time.perf_counter()
        args: Any = {} if arguments is None else arguments
        error: str | None = None
        try:
            tool = self._tool(name)
            kwargs = _check_arguments(tool, args)
            result = tool.function(**kwargs)
        except ToolError as exc:
            result, error = exc.to_dict(), exc.message
        except EngineError as exc:
            result, error = exc.to_dict(), exc.message
        except Exception as exc:  # a bug of ours must not end the agent's task
            result = {
                "error": "internal_error",
                "message": f"The tool failed unexpectedly: {type(exc).__name__}: {exc}",
                "hint": "Try again with different arguments, or use another tool.",
            }
            error = result["message"]
        # What is recorded is exactly what the model reads (JSON values, no Python types).
        text = json.dumps(result, ensure_ascii=False, default=str)
        self.calls.append(
            ToolCall(
                name=name,
                arguments=dict(args) if isinstance(args, dict) else {"<invalid>": repr(args)},
                result=json.loads(text),
                error=error,
                started=started,
                elapsed=time.perf_counter() - clock,
                call_id=call_id,
            )
        )
        return text

    def _tool(self, name: str) -> ToolSpec:
        if name in self.tools:
            return self.tools[name]
        hint = "Available tools: " + ", ".join(self.tools) + "."
        if name in CTI_TOOLS:
            hint = f"'{name}' is not available in the {self.variant} variant. " + hint
        else:
            close = difflib.get_close_matches(name, list(self.tools), n=1)
            if close:
                hint = f"Did you mean '{close[0]}'? " + hint
        raise ToolError("unknown_tool", f"There is no tool named '{name}'.", hint)

    # -- CTI reports -------------------------------------------------------------------

    @property
    def _reports(self) -> dict[str, Report]:
        return self.workspace.benchmark.reports

    def _tag_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self._reports.values():
            for tag in report.tags:
                counts[tag] = counts.get(tag, 0) + 1
        return dict(sorted(counts.items()))

    def list_cti_report_tags(self) -> dict[str, Any]:
        counts = self._tag_counts()
        return {
            "tags": [{"tag": tag, "reports": n} for tag, n in counts.items()],
            "tag_count": len(counts),
            "report_count": len(self._reports),
            "next_step": "Read the reports of a tag with get_cti_reports_by_tag(tag).",
        }

    def get_cti_reports_by_tag(self, tag: str) -> dict[str, Any]:
        wanted = re.sub(r"[\s_]+", "-", tag.strip().lower())
        if not wanted:
            raise ToolError("invalid_argument", "The tag is empty.", "Call list_cti_report_tags.")
        counts = self._tag_counts()
        if wanted not in counts:
            suggestions = difflib.get_close_matches(wanted, list(counts), n=5, cutoff=0.5)
            suggestions += [t for t in counts if wanted in t and t not in suggestions][:5]
            hint = (
                "Did you mean: " + ", ".join(suggestions) + "?"
                if suggestions
                else "Call list_cti_report_tags to see every tag."
            )
            raise ToolError(
                "unknown_tag", f"No report has the tag '{tag}'.", hint, suggestions=suggestions
            )
        reports = [r for r in self._reports.values() if wanted in r.tags]
        return {
            "tag": wanted,
            "count": len(reports),
            "reports": [
                {
                    "id": r.id,
                    "title": r.title,
                    "source": r.source,
                    "published": r.published.isoformat(),
                    "tags": list(r.tags),
                    "content": r.content,
                }
                for r in sorted(reports, key=lambda r: r.id)
            ],
        }

    # -- MITRE ATT&CK ------------------------------------------------------------------

    def search_mitre_techniques(self, tactic: str) -> dict[str, Any]:
        query = tactic.strip()
        if not query:
            raise ToolError(
                "invalid_argument",
                "The search text is empty.",
                "Give a tactic (e.g. 'persistence' or 'TA0003'), a technique ID (e.g. "
                "'T1053.003') or a keyword (e.g. 'cron').",
            )
        db = attack_lookup()
        techniques = [t for t in db.all_techniques() if not _flag(t, "revoked", "deprecated")]
        if _TECHNIQUE_ID.match(query):
            wanted = query.upper()
            found = [
                t
                for t in techniques
                if t["external_id"] == wanted or t["external_id"].startswith(wanted + ".")
            ]
            if not found:
                raise ToolError(
                    "unknown_technique",
                    f"ATT&CK (v18.1, enterprise) has no active technique '{wanted}'.",
                    "Check the ID, or search by tactic or keyword instead.",
                )
            return _technique_result(query, "technique_id", found, len(found))
        shortname = _tactic_shortname(query)
        if shortname is not None:
            found = [t for t in techniques if shortname in _tactics(t)]
            return _technique_result(query, f"tactic:{shortname}", found, len(found))
        words = re.findall(r"[a-z0-9]+", query.lower())
        by_name = [t for t in techniques if all(w in str(t["name"]).lower() for w in words)]
        by_text = [
            t
            for t in techniques
            if t not in by_name and all(w in str(t.get("description", "")).lower() for w in words)
        ]
        found = by_name + by_text
        if not found:
            tactics = ", ".join(str(t["shortname"]) for t in db.all_tactics())
            raise ToolError(
                "no_match",
                f"No ATT&CK technique matches '{query}'.",
                f"Try fewer or other words, a technique ID, or a tactic: {tactics}.",
            )
        return _technique_result(query, "keyword", found[:MAX_TECHNIQUES], len(found))

    # -- Sigma rules -------------------------------------------------------------------

    def search_sigma_rules(
        self,
        keyword: str | None = None,
        technique_id: str | None = None,
        platform: str | None = None,
        limit: int = 5,
    ) -> dict[str, Any]:
        if limit < 1:
            raise ToolError("invalid_argument", f"limit must be at least 1, got {limit}.")
        capped = min(limit, MAX_SIGMA_RULES)
        if platform is not None and platform.strip().lower() not in sigma_library.PLATFORMS:
            raise ToolError(
                "invalid_argument",
                f"Unknown platform '{platform}'.",
                "Use one of: " + ", ".join(sigma_library.PLATFORMS) + ", or leave it out.",
            )
        rules = sigma_library.search(
            keyword=keyword or None,
            technique_id=technique_id or None,
            platform=platform.strip().lower() if platform else None,
            limit=capped,
            rules=self.workspace.sigma_rules,
        )
        out: dict[str, Any] = {"count": len(rules), "rules": [r.summary() for r in rules]}
        if limit > capped:
            out["note"] = f"limit capped at {MAX_SIGMA_RULES}."
        if not rules:
            out["hint"] = (
                "No rule matches all criteria: every keyword word must occur in the rule. "
                "Try fewer words, a parent technique (T1053 also finds T1053.003) or no platform."
            )
        return out

    # -- tables ------------------------------------------------------------------------

    def list_kusto_tables(self) -> dict[str, Any]:
        engine = self.workspace.engine()
        tables = []
        names = engine.tables()
        for name in names:
            schema = engine.schema(name)
            entry: dict[str, Any] = {
                "name": name,
                "rows": self.workspace.table_rows(name),
                "columns": len(schema.columns),
            }
            if schema.time_column:
                entry["time_column"] = schema.time_column
            if schema.note:
                entry["note"] = schema.note
            aliases = [a for a, t in TABLE_ALIASES.items() if t == name and a not in names]
            if aliases:
                entry["also_named"] = aliases
            tables.append(entry)
        return {
            "tables": tables,
            "count": len(tables),
            "data_ends": to_json_value(self.workspace.data_end),
            "note": "now() and ago() resolve against data_ends, when the recorded data stops.",
        }

    def _schema(self, table_name: str) -> Any:
        name = table_name.strip()
        if not name:
            raise ToolError("invalid_argument", "table_name is empty.", "Call list_kusto_tables.")
        return self.workspace.engine().schema(name)

    def get_table_schema(self, table_name: str) -> dict[str, Any]:
        schema = self._schema(table_name)
        out: dict[str, Any] = {
            "table": schema.name,
            "time_column": schema.time_column,
            "column_count": len(schema.columns),
            "columns": [{"name": c.name, "type": c.type} for c in schema.columns],
        }
        if schema.note:
            out["note"] = schema.note
        return out

    def sample_table_data(self, table_name: str, rows: int = 5) -> dict[str, Any]:
        if rows < 1:
            raise ToolError("invalid_argument", f"rows must be at least 1, got {rows}.")
        count = min(rows, MAX_SAMPLE_ROWS)
        schema = self._schema(table_name)
        result = self.workspace.engine().query(
            f"{schema.name} | take {count}", max_rows=count, timeout=self.query_timeout
        )
        records = [
            {k: to_json_value(v) for k, v in record.items() if v is not None and v != ""}
            for record in result.records()
        ]
        out: dict[str, Any] = {"table": schema.name, "row_count": len(records), "rows": records}
        notes = ["Columns that are null or empty in a row are left out of it."]
        if rows > count:
            notes.insert(0, f"rows capped at {MAX_SAMPLE_ROWS}.")
        out["note"] = " ".join(notes)
        return out

    # -- queries -----------------------------------------------------------------------

    def execute_kql_query(self, query: str, limit: int = MAX_QUERY_ROWS) -> dict[str, Any]:
        if not query.strip():
            raise ToolError("invalid_argument", "The query is empty.", "Write a KQL query.")
        if limit < 1:
            raise ToolError("invalid_argument", f"limit must be at least 1, got {limit}.")
        cap = min(limit, MAX_QUERY_ROWS)
        # The engine enforces the cap whatever the query says (`take 1000` included).
        result = self.workspace.engine().query(query, max_rows=cap, timeout=self.query_timeout)
        out: dict[str, Any] = {
            "columns": [{"name": c.name, "type": c.type} for c in result.columns],
            "rows": [{k: to_json_value(v) for k, v in r.items()} for r in result.records()],
            "row_count": len(result.rows),
            "truncated": result.truncated,
            "elapsed_seconds": round(result.elapsed, 3),
        }
        notes = []
        if limit > cap:
            notes.append(f"limit capped at {MAX_QUERY_ROWS} rows.")
        if result.truncated:
            notes.append(
                f"The query returned more than {cap} rows; only the first {cap} are shown and "
                "the total was not counted. Append `| count` to count them, or filter or "
                "summarize to narrow the result."
            )
        elif not result.rows:
            notes.append(
                "No rows matched. Check column values with sample_table_data, loosen a "
                "filter, or widen the time range."
            )
        if notes:
            out["note"] = " ".join(notes)
        return out

    # -- the output contract -----------------------------------------------------------

    def validate_output_json(self, json_output: str | dict[str, Any]) -> dict[str, Any]:
        return validate_output(json_output)

    # -- definitions -------------------------------------------------------------------

    def _all_tools(self) -> list[ToolSpec]:
        return [
            ToolSpec(
                "list_cti_report_tags",
                "List the tags of the CTI (threat intelligence) report library, with how "
                "many reports carry each.",
                _params({}),
                self.list_cti_report_tags,
            ),
            ToolSpec(
                "get_cti_reports_by_tag",
                "Get every CTI report with a tag: id, title, source, date, tags and full text.",
                _params(
                    {"tag": {**_STRING, "description": "A tag from list_cti_report_tags."}},
                    ("tag",),
                ),
                self.get_cti_reports_by_tag,
            ),
            ToolSpec(
                "search_mitre_techniques",
                "Look up MITRE ATT&CK (enterprise) techniques offline, by tactic (name, "
                "short name or TA id), by technique ID (T1053 lists its sub-techniques) or "
                "by keyword. Returns id, name, tactics and a short description.",
                _params(
                    {
                        "tactic": {
                            **_STRING,
                            "description": "A tactic such as 'persistence' or 'TA0003', a "
                            "technique ID such as 'T1053.003', or a keyword such as 'cron'.",
                        }
                    },
                    ("tactic",),
                ),
                self.search_mitre_techniques,
            ),
            ToolSpec(
                "search_sigma_rules",
                "Search the Sigma rule library by keyword, ATT&CK technique and platform; "
                "returns each rule's title, tags, log source and full YAML.",
                _params(
                    {
                        "keyword": {
                            **_OPTIONAL_STRING,
                            "description": "Words that must all occur in the rule.",
                        },
                        "technique_id": {
                            **_OPTIONAL_STRING,
                            "description": "An ATT&CK ID; T1053 also finds T1053.003.",
                        },
                        "platform": {
                            **_OPTIONAL_STRING,
                            "description": "One of: " + ", ".join(sigma_library.PLATFORMS) + ".",
                        },
                        "limit": {
                            "type": "integer",
                            "description": f"Rules to return (default 5, at most "
                            f"{MAX_SIGMA_RULES}).",
                        },
                    }
                ),
                self.search_sigma_rules,
            ),
            ToolSpec(
                "list_kusto_tables",
                "List the log tables that can be queried, with row and column counts.",
                _params({}),
                self.list_kusto_tables,
            ),
            ToolSpec(
                "get_table_schema",
                "Get a table's columns and their Kusto types.",
                _params(
                    {"table_name": {**_STRING, "description": "A table from list_kusto_tables."}},
                    ("table_name",),
                ),
                self.get_table_schema,
            ),
            ToolSpec(
                "sample_table_data",
                f"Show some rows of a table (at most {MAX_SAMPLE_ROWS}).",
                _params(
                    {
                        "table_name": {**_STRING, "description": "A table to sample."},
                        "rows": {
                            "type": "integer",
                            "description": f"Rows to show (default 5, at most {MAX_SAMPLE_ROWS}).",
                        },
                    },
                    ("table_name",),
                ),
                self.sample_table_data,
            ),
            ToolSpec(
                "execute_kql_query",
                f"Run a read-only KQL query and see its result (at most {MAX_QUERY_ROWS} rows; "
                "`truncated` says when there were more).",
                _params(
                    {
                        "query": {**_STRING, "description": "The KQL query."},
                        "limit": {
                            "type": "integer",
                            "description": f"Rows to return (default and maximum "
                            f"{MAX_QUERY_ROWS}).",
                        },
                    },
                    ("query",),
                ),
                self.execute_kql_query,
            ),
            ToolSpec(
                "validate_output_json",
                "Check a final answer against the output contract: a JSON object with "
                '"sigma_rule" (Sigma rule YAML), "kql_query" (the KQL) and "query_results" '
                "(the query's result rows, a list of objects).",
                _params(
                    {
                        "json_output": {
                            "type": ["string", "object"],
                            "description": "The final answer, as JSON text.",
                        }
                    },
                    ("json_output",),
                ),
                self.validate_output_json,
            ),
        ]


# -- argument checking -----------------------------------------------------------------

_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _check_arguments(tool: ToolSpec, arguments: Any) -> dict[str, Any]:
    """The arguments as keyword arguments, or a ToolError saying what is wrong."""
    usage = _usage(tool)
    if not isinstance(arguments, dict):
        raise ToolError(
            "invalid_arguments",
            f"Arguments to {tool.name} must be a JSON object, got {type(arguments).__name__}.",
            f"Call it as {usage}.",
        )
    properties: dict[str, Any] = tool.parameters["properties"]
    problems = []
    for name in tool.parameters["required"]:
        if name not in arguments:
            problems.append(f"missing required argument '{name}'")
    for name, value in arguments.items():
        if name not in properties:
            close = difflib.get_close_matches(name, list(properties), n=1)
            guess = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"unknown argument '{name}'{guess}")
            continue
        expected = properties[name]["type"]
        types = expected if isinstance(expected, list) else [expected]
        if not any(_JSON_TYPES[t](value) for t in types):
            problems.append(
                f"argument '{name}' must be {' or '.join(types)}, got {json_type(value)}"
            )
    if problems:
        raise ToolError(
            "invalid_arguments",
            f"Bad arguments to {tool.name}: " + "; ".join(problems) + ".",
            f"Call it as {usage}.",
        )
    return {k: v for k, v in arguments.items() if not (v is None and k not in _required(tool))}


def _required(tool: ToolSpec) -> list[str]:
    return list(tool.parameters["required"])


def _usage(tool: ToolSpec) -> str:
    parts = []
    for name, spec in tool.parameters["properties"].items():
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        optional = "" if name in tool.parameters["required"] else "?"
        parts.append(f"{name}{optional}: {'|'.join(types)}")
    return f"{tool.name}({', '.join(parts)})"


# -- ATT&CK helpers ----------------------------------------------------------------------


def _flag(entry: dict[str, Any], *names: str) -> bool:
    return any(str(entry.get(name, False)).lower() == "true" for name in names)


def _tactics(entry: dict[str, Any]) -> list[str]:
    tactics = entry.get("tactics") or []
    return [str(t) for t in tactics] if isinstance(tactics, list) else []


def _tactic_shortname(text: str) -> str | None:
    """The tactic *text* names (name, short name or TA id), if it names one."""
    folded = re.sub(r"[\s_]+", "-", text.strip().lower())
    for tactic in attack_lookup().all_tactics():
        names = {str(tactic["shortname"]), str(tactic["name"]).lower().replace(" ", "-")}
        if folded in names or (
            _TACTIC_ID.match(text.strip()) and text.strip().upper() == tactic["external_id"]
        ):
            return str(tactic["shortname"])
    return None


def _short_description(text: str, limit: int = 240) -> str:
    text = _HTML.sub("", _LINK.sub(r"\1", _CITATION.sub("", text)))
    text = " ".join(text.split())
    sentence = re.split(r"(?<=[a-z0-9)])\.\s", text, maxsplit=1)[0].rstrip(".") + "."
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rstrip() + "..."


def _technique_result(
    query: str, matched_as: str, found: list[dict[str, Any]], total: int
) -> dict[str, Any]:
    found = sorted(found, key=lambda t: str(t["external_id"]))
    out: dict[str, Any] = {
        "query": query,
        "matched_as": matched_as,
        "count": len(found),
        "techniques": [
            {
                "id": t["external_id"],
                "name": t["name"],
                "tactics": _tactics(t),
                "description": _short_description(str(t.get("description", ""))),
            }
            for t in found
        ],
    }
    if total > len(found):
        out["note"] = f"Showing {len(found)} of {total} matches; use more specific words."
    return out


# -- the output contract -------------------------------------------------------------------


def validate_output(json_output: str | dict[str, Any]) -> dict[str, Any]:
    """Check a final answer: {"sigma_rule": YAML, "kql_query": text, "query_results": [{}]}.

    Returns ``valid``, the ``errors`` that make it invalid (each saying what to fix) and
    ``warnings`` that do not.
    """
    errors: list[str] = []
    warnings: list[str] = []
    if isinstance(json_output, str):
        try:
            data: Any = json.loads(json_output)
        except json.JSONDecodeError as exc:
            return _verdict(
                [f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."], []
            )
    else:
        data = json_output
    if not isinstance(data, dict):
        return _verdict([f"The output must be a JSON object, not {json_type(data)}."], [])
    missing = [key for key in OUTPUT_KEYS if key not in data]
    if missing:
        errors.append("Missing key(s): " + ", ".join(f'"{k}"' for k in missing) + ".")
    extra = [key for key in data if key not in OUTPUT_KEYS]
    if extra:
        warnings.append("Extra key(s) ignored: " + ", ".join(f'"{k}"' for k in extra) + ".")
    if "sigma_rule" in data:
        errors += _check_sigma(data["sigma_rule"])
    if "kql_query" in data:
        kql = data["kql_query"]
        if not isinstance(kql, str):
            errors.append(f'"kql_query" must be a string, got {json_type(kql)}.')
        elif not kql.strip():
            errors.append('"kql_query" is empty.')
    if "query_results" in data:
        rows = data["query_results"]
        if not isinstance(rows, list):
            errors.append(f'"query_results" must be a list of objects, got {json_type(rows)}.')
        else:
            bad = [i for i, row in enumerate(rows) if not isinstance(row, dict)]
            if bad:
                errors.append(
                    '"query_results" must hold objects (column -> value); items at '
                    f"index {', '.join(map(str, bad[:5]))} are not."
                )
            if not rows:
                warnings.append('"query_results" is empty: give the rows your query returned.')
    return _verdict(errors, warnings)


def _check_sigma(rule: Any) -> list[str]:
    """One rule, or several as YAML documents separated by `---` (a detection that
    spans tables needs one rule per log source)."""
    if not isinstance(rule, str):
        return [f'"sigma_rule" must be a string of YAML, got {json_type(rule)}.']
    if not rule.strip():
        return ['"sigma_rule" is empty.']
    try:
        documents = [d for d in yaml.safe_load_all(rule) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        return [f'"sigma_rule" is not valid YAML{where}: {problem}.']
    if not documents:
        return ['"sigma_rule" is empty.']
    errors: list[str] = []
    for number, document in enumerate(documents, start=1):
        label = '"sigma_rule"' if len(documents) == 1 else f'"sigma_rule" document {number}'
        errors += _check_sigma_document(document, label)
    return errors


def _check_sigma_document(document: Any, label: str) -> list[str]:
    if not isinstance(document, dict):
        return [f"{label} must be a YAML mapping (title, logsource, detection, ...)."]
    missing = [k for k in ("title", "logsource", "detection") if k not in document]
    if missing:
        return [f"{label} lacks required field(s): {', '.join(missing)}."]
    try:
        parsed = SigmaRule.from_dict(document)
        for condition in parsed.detection.parsed_condition:
            condition.parsed  # noqa: B018 (conditions parse lazily; this raises on errors)
    except SigmaError as exc:
        return [f"{label} is not a valid Sigma rule: {str(exc).splitlines()[0]}"]
    except Exception as exc:  # pySigma raises plain errors on some malformed input
        return [f"{label} is not a valid Sigma rule: {type(exc).__name__}: {exc}"]
    return []


def _verdict(errors: list[str], warnings: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"valid": not errors, "errors": errors, "warnings": warnings}
    if errors:
        out["hint"] = "Fix the errors and validate again before submitting."
    return out
