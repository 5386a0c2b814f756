"""The data SigmaHQ's validators download (log-source taxonomy, file-name conventions,
Windows event ids), written locally instead, for the benchmark's own log sources.

Linux process and file rules get the field names Microsoft XDR's pipeline understands;
the cloud and Kubernetes sources are registered with no field list, because their
fields include open-ended paths into dynamic columns that no list can hold (the
validators skip field-name checks for a source without one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sigma.pipelines.microsoftxdr.mappings import MICROSOFT_XDR_FIELD_MAPPINGS

from pytest_ctirealm.sigma.logsources import SERVICE_TABLES
from pytest_ctirealm.telemetry.schema import benchmark_tables

_LINUX = {"process_creation": "DeviceProcessEvents", "file_event": "DeviceFileEvents"}


def _linux_fields(table: str) -> list[str]:
    mapped = MICROSOFT_XDR_FIELD_MAPPINGS.table_mappings.get(table, {})
    columns = benchmark_tables()[table].column_names
    return sorted({*mapped, *columns}, key=str.casefold)


def taxonomy() -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for category, table in _LINUX.items():
        entries[f"linux_{category}"] = {
            "logsource": {"product": "linux", "category": category},
            "field": {"native": _linux_fields(table), "custom": [], "redundant": []},
        }
    for product, service in SERVICE_TABLES:
        entries[f"{product}_{service}"] = {
            "logsource": {"product": product, "service": service},
            "field": {"native": [], "custom": [], "redundant": []},
        }
    return {"version": "pytest-ctirealm", "taxonomy": entries}


_DOCUMENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "taxonomy": taxonomy,
    "filename": lambda: {"version": "pytest-ctirealm", "pattern": {}},
    "windows_eventid": lambda: {"version": "pytest-ctirealm", "category_no_eventid": []},
    "windows_provider": lambda: {"version": "pytest-ctirealm", "category_provider_name": {}},
}


def use_offline_sigmahq_data(cache_dir: Path) -> None:
    """Point every SigmaHQ data loader (and its disk cache) at files under *cache_dir*."""
    from sigma.validators.sigmahq.data import (
        data_filename,
        data_taxonomy,
        data_windows_eventid,
        data_windows_provider,
    )

    loaders: dict[str, Any] = {
        "taxonomy": data_taxonomy,
        "filename": data_filename,
        "windows_eventid": data_windows_eventid,
        "windows_provider": data_windows_provider,
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, module in loaders.items():
        path = cache_dir / f"sigmahq_{name}.json"
        path.write_text(json.dumps(_DOCUMENTS[name]()), encoding="utf-8")
        module.set_cache_dir(str(cache_dir / "sigmahq-cache"))
        module.set_url(str(path))
