"""pySigma's Kusto backend, told not to quote the expressions our field mapping emits
(`tostring(ObjectRef.resource)`): quoted, they would be string literals."""

from __future__ import annotations

import re
from typing import ClassVar

from sigma.backends.kusto.kusto import KustoBackend


class CtirealmKustoBackend(KustoBackend):
    name: ClassVar[str] = "pytest-ctirealm Kusto backend"
    field_quote_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^(\w+|[A-Za-z_]+\(.*\))$")
