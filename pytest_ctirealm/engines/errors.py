"""The engine's exceptions: one type per thing a query writer can do something about.

Agents read these messages as tool results, so each says what went wrong and what to do
next, in plain words; `to_dict()` is the shape the tools return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class EngineError(Exception):
    """Base of every error a query or a load can raise."""

    code = "engine_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}" if hint else message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross from the query process to the caller intact, whatever their
        # constructor takes.
        return (_rebuild, (type(self), dict(self.__dict__), self.args))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out


class QuerySyntaxError(EngineError):
    """The KQL text does not parse."""

    code = "syntax_error"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.line = line
        self.column = column
        super().__init__(message, hint=hint)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.line is not None:
            out["line"] = self.line
            out["column"] = self.column
        return out


class _UnknownName(EngineError):
    """A name the query uses that the database does not have, with near matches."""

    kind = "name"

    def __init__(self, name: str, suggestions: Sequence[str], known: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = list(suggestions)
        if self.suggestions:
            hint = "Did you mean: " + ", ".join(self.suggestions) + "?"
        elif known:
            hint = f"Known {self.kind}s: " + ", ".join(known) + "."
        else:
            hint = None
        super().__init__(f"Unknown {self.kind} '{name}'.", hint=hint)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "name": self.name, "suggestions": self.suggestions}


class UnknownTableError(_UnknownName):
    code = "unknown_table"
    kind = "table"


class UnknownColumnError(_UnknownName):
    code = "unknown_column"
    kind = "column"


class UnsupportedQueryError(EngineError):
    """Valid KQL that the embedded engine does not implement."""

    code = "unsupported"


class QueryNotAllowedError(EngineError):
    """The query tries to write, administer or reach outside the database."""

    code = "not_allowed"


class QueryTimeoutError(EngineError):
    """The query ran past its time limit and was cancelled."""

    code = "timeout"


class QueryResourceError(EngineError):
    """The query needed more memory than the engine allows."""

    code = "resource_limit"


class QueryExecutionError(EngineError):
    """The query parsed and translated but failed while running."""

    code = "execution_error"


class DataLoadError(EngineError):
    """Rows handed to the engine do not fit the table's schema."""

    code = "data_error"


def _rebuild(cls: type[EngineError], state: dict[str, Any], args: tuple[Any, ...]) -> EngineError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error
