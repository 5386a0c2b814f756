"""The error every malformed dataset file raises: it names the file and the field."""

from __future__ import annotations

from pathlib import Path


class DatasetError(ValueError):
    """A task, report or ground-truth file is malformed."""

    def __init__(self, path: Path | str, field: str | None, message: str) -> None:
        self.path = Path(path)
        self.field = field
        where = f"{self.path}: field '{field}'" if field else str(self.path)
        super().__init__(f"{where}: {message}")
