"""KQL functions that detection queries need and duckdb-kql lacks or answers wrongly.

duckdb-kql keeps its function mappings as data (`translate.functions.SCALAR_FUNCTIONS`),
so we add rows there rather than fork it. Each row expands to a call of a DuckDB SQL
macro that `install_macros` defines on a connection; a connection without the macros
fails loudly on these functions instead of answering wrongly.
"""

from __future__ import annotations

from duckdb import DuckDBPyConnection
from duckdb_kql.translate.functions import SCALAR_FUNCTIONS, FunctionSpec

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"

#: DuckDB macros behind the added functions. `ctirealm_text` reads a dynamic (JSON)
#: string as its text, so `ipv4_is_private(Props.ip)` works as it does in Kusto.
MACROS: tuple[str, ...] = (
    """CREATE OR REPLACE TEMP MACRO ctirealm_text(s) AS
       CASE WHEN typeof(s) = 'JSON' THEN json_extract_string(s::JSON, '$')
            ELSE trim(CAST(s AS VARCHAR)) END""",
    f"""CREATE OR REPLACE TEMP MACRO ctirealm_ipv4(s) AS
       CASE WHEN regexp_full_match(ctirealm_text(s), '{_IPV4}') THEN
            TRY_CAST(split_part(ctirealm_text(s), '.', 1) AS BIGINT) * 16777216
          + TRY_CAST(split_part(ctirealm_text(s), '.', 2) AS BIGINT) * 65536
          + TRY_CAST(split_part(ctirealm_text(s), '.', 3) AS BIGINT) * 256
          + TRY_CAST(split_part(ctirealm_text(s), '.', 4) AS BIGINT) END""",
    """CREATE OR REPLACE TEMP MACRO ctirealm_ipv4_prefix(r) AS
       CASE WHEN NOT contains(ctirealm_text(r), '/') THEN 32
            WHEN TRY_CAST(split_part(ctirealm_text(r), '/', 2) AS INTEGER) BETWEEN 0 AND 32
            THEN TRY_CAST(split_part(ctirealm_text(r), '/', 2) AS INTEGER) END""",
    """CREATE OR REPLACE TEMP MACRO ctirealm_ipv4_is_in_range(ip, r) AS
       (ctirealm_ipv4(ip) >> (32 - ctirealm_ipv4_prefix(r)))
         = (ctirealm_ipv4(split_part(ctirealm_text(r), '/', 1))
            >> (32 - ctirealm_ipv4_prefix(r)))""",
    """CREATE OR REPLACE TEMP MACRO ctirealm_ipv4_is_private(ip) AS
       ctirealm_ipv4_is_in_range(ip, '10.0.0.0/8')
         OR ctirealm_ipv4_is_in_range(ip, '172.16.0.0/12')
         OR ctirealm_ipv4_is_in_range(ip, '192.168.0.0/16')""",
)

#: Registry rows: additions, and corrections where duckdb-kql's answer differs from
#: Kusto's. Kusto's `parse_json` of text that is not JSON returns the text as a dynamic
#: string; duckdb-kql's returns null, which would make `isnotnull(parse_json(x))` lie.
FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "ipv4_is_in_range",
        "template",
        "ctirealm_ipv4_is_in_range({0}, {1})",
        (2,),
        note="pytest-ctirealm: IPv4 address inside a CIDR range or equal to an address",
    ),
    FunctionSpec(
        "ipv4_is_private",
        "template",
        "ctirealm_ipv4_is_private({0})",
        (1,),
        note="pytest-ctirealm: RFC 1918 address",
    ),
    FunctionSpec(
        "parse_json",
        "template",
        "coalesce(TRY_CAST({0} AS JSON), to_json({0}))",
        (1,),
        note="pytest-ctirealm: text that is not JSON stays a dynamic string",
    ),
    FunctionSpec(
        "todynamic",
        "template",
        "coalesce(TRY_CAST({0} AS JSON), to_json({0}))",
        (1,),
        note="pytest-ctirealm: text that is not JSON stays a dynamic string",
    ),
)


def register_functions() -> None:
    """Add our rows to duckdb-kql's function registry (idempotent, process-wide)."""
    for spec in FUNCTIONS:
        SCALAR_FUNCTIONS[spec.name] = spec


def install_macros(con: DuckDBPyConnection) -> None:
    """Define the macros the added functions expand to on *con*."""
    for statement in MACROS:
        con.execute(statement)
