"""The pytest entry point. Thin on purpose: it wires the package's parts into pytest.

Until the benchmark options land it only offers the `kql_engine` fixture, which costs
nothing unless a test asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pytest

from pytest_ctirealm.engines import EmbeddedEngine

EngineFactory = Callable[..., EmbeddedEngine]


@pytest.fixture
def kql_engine() -> Iterator[EngineFactory]:
    """A factory of embedded KQL engines, closed when the test ends.

    ``kql_engine({"DeviceProcessEvents": rows})`` loads benchmark tables by name;
    keyword arguments go to `EmbeddedEngine` (limits, now, threads).
    """
    engines: list[EmbeddedEngine] = []

    def make(
        tables: Mapping[str, Iterable[Mapping[str, Any]]] | None = None, **kwargs: Any
    ) -> EmbeddedEngine:
        engine = EmbeddedEngine.with_tables(tables, **kwargs)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
