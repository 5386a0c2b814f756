"""The CTI report library: the threat intelligence agents read before detecting.

One YAML file per report (id, title, source, published, tags, content), shipped with
the package under `dataset/reports/`; a user can point at a folder of their own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pytest_ctirealm.dataset import fields
from pytest_ctirealm.dataset.errors import DatasetError

_ID = re.compile(r"^rpt-[a-z0-9]+(-[a-z0-9]+)*$")
_TAG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FIELDS = {"id", "title", "source", "published", "tags", "content"}


@dataclass(frozen=True)
class Report:
    id: str
    title: str
    source: str
    published: dt.date
    tags: tuple[str, ...]
    content: str

    @property
    def word_count(self) -> int:
        return len(self.content.split())


def default_directory() -> Path:
    return Path(str(resources.files("pytest_ctirealm.dataset").joinpath("reports")))


def load_report(path: Path) -> Report:
    data = fields.load_mapping(path, _FIELDS)
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
