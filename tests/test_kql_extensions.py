"""Functions we add to duckdb-kql, and the answers we correct or document."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from pytest_ctirealm.engines import EmbeddedEngine

addresses = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
prefixes = st.integers(0, 32)

_engine = EmbeddedEngine()


def scalar(kql: str) -> object:
    return _engine.query(f"print v = {kql}").rows[0][0]


@given(ip=addresses, network=addresses, prefix=prefixes)
def test_ipv4_is_in_range_agrees_with_the_ipaddress_module(
    ip: str, network: str, prefix: int
) -> None:
    cidr = ipaddress.ip_network(f"{network}/{prefix}", strict=False)
    expected = ipaddress.ip_address(ip) in cidr
    assert scalar(f"ipv4_is_in_range('{ip}', '{network}/{prefix}')") is expected


@given(ip=addresses, other=addresses)
def test_ipv4_is_in_range_without_prefix_means_the_same_address(ip: str, other: str) -> None:
    assert scalar(f"ipv4_is_in_range('{ip}', '{other}')") is (ip == other)


@given(ip=addresses)
def test_ipv4_is_private_is_rfc1918(ip: str) -> None:
    private = any(
        ipaddress.ip_address(ip) in ipaddress.ip_network(n)
        for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    )
    assert scalar(f"ipv4_is_private('{ip}')") is private


def test_invalid_addresses_give_null_not_an_error() -> None:
    assert scalar("ipv4_is_in_range('999.1.1.1', '10.0.0.0/8')") is None
    assert scalar("ipv4_is_in_range('10.0.0.1', '10.0.0.0/40')") is None
    assert scalar("ipv4_is_private('not an ip')") is None


def test_ipv4_functions_filter_rows_and_read_dynamic_strings() -> None:
    result = _engine.query(
        "datatable(d:dynamic)[dynamic({'ip':'10.1.2.3'}), dynamic({'ip':'8.8.8.8'}), "
        "dynamic({'ip':'172.31.0.9'})] | where not(ipv4_is_private(d.ip)) "
        "| project ip = tostring(d.ip)"
    )
    assert result.rows == [("8.8.8.8",)]


def test_pysigma_cidr_output_runs() -> None:
    # The shape pySigma's Kusto backend emits for `|cidr`.
    result = _engine.query(
        "datatable(IPAddress:string)['192.168.1.20', '192.169.0.1'] "
        "| where ipv4_is_in_range(IPAddress, '192.168.0.0/16')"
    )
    assert result.rows == [("192.168.1.20",)]


def test_parse_json_of_text_that_is_not_json_returns_the_text() -> None:
    # Kusto returns the input as a dynamic string; duckdb-kql alone returns null.
    assert scalar("parse_json('not json')") == "not json"
    assert scalar("isnull(parse_json('not json'))") is False
    assert scalar("parse_json('{\"a\": [1, 2]}')") == {"a": [1, 2]}
    assert scalar("tostring(todynamic('plain'))") == "plain"


def test_trim_difference_is_documented() -> None:
    # Microsoft documents trim() as removing *all* leading and trailing matches; the
    # translator removes one match at each end (its author reports Kusto's emulator
    # does the same). Patterns with a quantifier, the way detections write them,
    # agree under both readings.
    assert scalar("trim(' ', '   x   ')") == "  x  "
    assert scalar(r"trim(@'\s+', '   x   ')") == "x"
    assert scalar(r"trim(@'[^\w]+', '- Te st1// $')") == "Te st1"


def test_both_spellings_of_the_sign_in_table_resolve() -> None:
    rows = [{"Id": "a", "UserPrincipalName": "bob@contoso.com"}]
    with EmbeddedEngine.with_tables({"SigninLogs": rows}) as engine:
        assert engine.query("SignInLogs | project Id").rows == [("a",)]
        assert engine.query("SigninLogs | project Id").rows == [("a",)]
        joined = engine.query("SignInLogs | join kind=inner (SigninLogs) on Id | project Id")
        assert joined.rows == [("a",)]
        assert engine.tables() == ["SigninLogs"]
        assert engine.schema("SignInLogs").name == "SigninLogs"
