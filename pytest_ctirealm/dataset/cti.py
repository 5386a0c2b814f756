"""The CTI report library: the threat intelligence agents read before detecting.

One YAML file per report (id, title, source, published, tags, content), shipped with
the package under `dataset/reports/`; a user can point at a folder of their own.

A report written for a campaign also lists `indicators`: its own incident's indicators by
kind, as its text quotes them. They never occur in any telemetry (the tests check it over
several seeds): an agent that looks them up finds nothing, as it would in the next
intrusion. An address indicator in a documentation range must lie in
`campaign.REPORT_NETWORK`, the part no campaign instance draws from.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pytest_ctirealm.dataset import fields
from pytest_ctirealm.dataset.errors import DatasetError
from pytest_ctirealm.telemetry.campaign import ATTACKER_NETWORKS, REPORT_NETWORK

_ID = re.compile(r"^rpt-[a-z0-9]+(-[a-z0-9]+)*$")
_TAG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FIELDS = {"id", "title", "source", "published", "tags", "content"}
_OPTIONAL = frozenset({"indicators"})
#: The kinds of indicator a report may list.
INDICATOR_KINDS = (
    "ip",
    "domain",
    "url",
    "hash",
    "path",
    "file",
    "command",
    "account",
    "resource",
    "user_agent",
    "key",
)


@dataclass(frozen=True)
class Report:
    id: str
    title: str
    source: str
    published: dt.date
    tags: tuple[str, ...]
    content: str
    #: kind -> values (see INDICATOR_KINDS); empty for a report that lists none.
    indicators: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def indicator_values(self) -> list[str]:
        return [value for values in self.indicators.values() for value in values]

    @property
    def word_count(self) -> int:
        return len(self.content.split())


def default_directory() -> Path:
    return Path(str(resources.files("pytest_ctirealm.dataset").joinpath("reports")))


def load_report(path: Path) -> Report:
    data = fields.load_mapping(path, _FIELDS, _OPTIONAL)
    report_id = fields.text(path, data, "id")
    if not _ID.match(report_id):
        raise DatasetError(path, "id", f"{report_id!r} must look like 'rpt-some-name'")
    if report_id != path.stem:
        raise DatasetError(path, "id", f"{report_id!r} does not match the file name")
    source = fields.text(path, data, "source")
    if not source.startswith(("https://", "http://")):
        raise DatasetError(path, "source", f"{source!r} is not a link")
    tags = fields.text_list(path, data, "tags")
    for tag in tags:
        if not _TAG.match(tag):
            raise DatasetError(path, "tags", f"{tag!r} must be lowercase words joined by dashes")
    return Report(
        id=report_id,
        title=fields.text(path, data, "title"),
        source=source,
        published=fields.date(path, data, "published"),
        tags=tags,
        content=fields.text(path, data, "content", min_length=400),
        indicators=_indicators(path, data.get("indicators")),
    )


def _indicators(path: Path, value: object) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise DatasetError(path, "indicators", "must map indicator kinds to lists of values")
    out: dict[str, tuple[str, ...]] = {}
    for kind in value:
        if kind not in INDICATOR_KINDS:
            raise DatasetError(
                path, "indicators", f"{kind!r} is not one of {', '.join(INDICATOR_KINDS)}"
            )
        out[kind] = fields.text_list(path, value, kind)
        if kind == "ip":
            for address in out[kind]:
                _check_address(path, address)
    return out


def _check_address(path: Path, text: str) -> None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise DatasetError(path, "indicators", f"{text!r} is not an IP address") from None
    if any(address in network for network in ATTACKER_NETWORKS):
        raise DatasetError(
            path,
            "indicators",
            f"{text} lies where campaign instances draw attacker addresses; "
            f"use {REPORT_NETWORK} for a report's own incident",
        )


def load_reports(directory: Path | None = None) -> dict[str, Report]:
    """Every report in *directory* (default: the packaged library), by id."""
    directory = directory or default_directory()
    if not directory.is_dir():
        raise DatasetError(directory, None, "the report library folder does not exist")
    reports = [load_report(path) for path in sorted(directory.glob("*.yaml"))]
    if not reports:
        raise DatasetError(directory, None, "holds no report files (*.yaml)")
    return {report.id: report for report in reports}
