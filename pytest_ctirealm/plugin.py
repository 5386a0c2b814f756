"""The pytest entry point. Thin on purpose: options live in `options`, each mode in its
own package, registered only when asked for, so a project that has the plugin
installed but does not use it sees no change."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pytest

from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.options import add_options
from pytest_ctirealm.rules.session import RuleValidation, rule_settings

EngineFactory = Callable[..., EmbeddedEngine]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    settings = rule_settings(config)
    if settings is not None:
        config.stash[settings.KEY] = settings
        config.pluginmanager.register(RuleValidation(config, settings), "ctirealm-rules")
        # Rule folders are collected even when they are not among pytest's test paths.
        config.args.extend(str(root) for root in settings.roots)


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
