"""Sigma field names to KQL on our tables.

A field resolves, in order, through the aliases a service's SigmaHQ rules use (e.g.
`operationName` on activity logs is `OperationNameValue`), a column of the table matched
without case (`userAgent` -> `UserAgent`), or a path into a dynamic or JSON-text column
(`objectRef.resource` -> `tostring(ObjectRef.resource)`). pySigma's backend would quote a
dotted name into a string literal, which compares two constants and never matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pytest_ctirealm.telemetry.schema import ColumnSpec, TableSchema

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Alias:
    """A Sigma field as one of our columns or expressions, with value translations."""

    target: str
    values: dict[str, str] = field(default_factory=dict)


#: Per table: Sigma field (lower case) -> alias. Paths under a key ending in "." are
#: re-rooted (e.g. AzureActivity `properties.x` reads the dynamic `Properties_d.x`).
ALIASES: dict[str, dict[str, Alias]] = {
    "AzureActivity": {
        "operationname": Alias("OperationNameValue"),
        "properties.message": Alias("OperationNameValue"),
        "properties.": Alias("Properties_d"),
    },
    "SigninLogs": {
        "status": Alias('iff(ResultType == "0", "Success", "Failure")'),
        "properties.message": Alias(
            "AuthenticationProtocol", {"device code": "deviceCode", "ropc": "ropc"}
        ),
        "clientapp": Alias("ClientAppUsed"),
        "username": Alias("UserPrincipalName"),
        "devicedetail.trusttype": Alias("tostring(DeviceDetail.trustType)"),
        "devicedetail.deviceid": Alias("tostring(DeviceDetail.deviceId)"),
        "devicedetail.iscompliant": Alias("tostring(DeviceDetail.isCompliant)"),
    },
    "AuditLogs": {
        "properties.message": Alias("OperationName"),
        "operationname": Alias("OperationName"),
        "activitytype": Alias("OperationName"),
        "status": Alias("Result"),
        "properties.result": Alias("Result"),
        "initiatedby": Alias("tostring(InitiatedBy.user.userPrincipalName)"),
        "failure_status_reason": Alias("ResultReason"),
    },
    "AKSAudit": {"apigroup": Alias("tostring(ObjectRef.apiGroup)")},
    "AKSAuditAdmin": {"apigroup": Alias("tostring(ObjectRef.apiGroup)")},
}


class UnknownFieldError(ValueError):
    """A Sigma field that is no column, alias or path of the table."""


@dataclass(frozen=True)
class Resolved:
    expression: str
    #: Values to rewrite (lower-cased Sigma value -> value), from the alias.
    values: dict[str, str]
    #: Whether the expression is a text column, whose numeric Sigma values must be
    #: compared as text (ResultType "50126" is a string in Entra logs).
    is_text: bool


def _path(root: str, segments: list[str], numeric: bool) -> str:
    rendered = root + "".join(
        f".{s}" if _IDENTIFIER.match(s) else "['" + s.replace("'", "\\'") + "']" for s in segments
    )
    return f"{'tolong' if numeric else 'tostring'}({rendered})"


def resolve(schema: TableSchema, name: str, numeric_values: bool) -> Resolved:
    """The KQL expression for Sigma field *name* on *schema*'s table."""
    aliases = ALIASES.get(schema.name, {})
    alias = aliases.get(name.lower())
    if alias is not None:
        target = alias.target
        column = _column(schema, target)
        return Resolved(target, alias.values, column is not None and column.type == "string")
    column = _column(schema, name)
    if column is not None:
        return Resolved(column.name, {}, column.type == "string")
    head, _, rest = name.partition(".")
    if rest:
        root_alias = aliases.get(head.lower() + ".")
        root = _column(schema, root_alias.target if root_alias else head)
        if root is not None and root.type in ("dynamic", "string"):
            base = root.name if root.type == "dynamic" else f"parse_json({root.name})"
            return Resolved(_path(base, rest.split("."), numeric_values), {}, False)
    raise UnknownFieldError(
        f"field '{name}' is not a column of {schema.name}, an alias its rules use, or a path "
        "into one of its dynamic columns"
    )


def _column(schema: TableSchema, name: str) -> ColumnSpec | None:
    for column in schema.columns:
        if column.name.lower() == name.lower():
            return column
    return None
