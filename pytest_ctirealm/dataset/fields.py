"""Reading typed fields out of parsed YAML, with errors that name file and field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pytest_ctirealm.dataset.errors import DatasetError


def load_mapping(
    path: Path, required: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The YAML mapping in *path*: every *required* key, and no key outside *required*
    and *optional*."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DatasetError(path, None, f"not valid YAML ({exc})") from None
    except OSError as exc:
        raise DatasetError(path, None, f"cannot be read ({exc.strerror})") from None
    if not isinstance(data, Mapping):
        raise DatasetError(path, None, "expected a mapping of fields at the top level")
    missing = sorted(required - set(data))
    if missing:
        raise DatasetError(path, missing[0], "is required but missing")
    unknown = sorted(set(data) - required - optional)
    if unknown:
        known = ", ".join(sorted(required | optional))
        raise DatasetError(path, unknown[0], f"is not a known field (known: {known})")
    return dict(data)


def text(path: Path, data: Mapping[str, Any], field: str, *, min_length: int = 1) -> str:
    value = data[field]
    if not isinstance(value, str) or len(value.strip()) < min_length:
        raise DatasetError(path, field, f"must be text of at least {min_length} characters")
    return value.strip()


def text_list(path: Path, data: Mapping[str, Any], field: str) -> tuple[str, ...]:
    value = data[field]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise DatasetError(path, field, "must be a non-empty list of text values")
    if len(set(value)) != len(value):
        raise DatasetError(path, field, "lists a value twice")
    return tuple(value)


def date(path: Path, data: Mapping[str, Any], field: str) -> dt.date:
    value = data[field]
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise DatasetError(path, field, f"{value!r} is not a date (YYYY-MM-DD)") from None
