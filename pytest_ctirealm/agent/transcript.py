"""The record of one agent run: its messages, every tool call with its result and timing,
the final submission and the token counts, saved as JSON lines (one file per task and
epoch) that read back into the same objects, so a run can be replayed and re-scored.

File layout, one JSON object a line, each with a ``type``:
``header`` (task, epoch, agent, start), the ``message`` lines in conversation order, the
``tool_call`` lines in call order (each with its result, error and timing), then ``footer``
(status, error, submission, tokens, elapsed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pytest_ctirealm.atomic import atomic_write

#: Version of the JSON-lines layout; bumped when a reader would misread older files.
FORMAT_VERSION = 1


@dataclass
class ToolCall:
    """One tool call: what was asked, what came back (JSON-able), and when."""

    name: str
    arguments: dict[str, Any]
    result: Any = None
    #: The error message when the call failed (its result then holds the error object).
    error: str | None = None
    #: Epoch seconds at the start of the call.
    started: float = 0.0
    #: Seconds the call took.
    elapsed: float = 0.0
    #: The model provider's id for the call, to pair it with its request ("" if none).
    call_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        return cls(
            name=str(data["name"]),
            arguments=dict(data.get("arguments") or {}),
            result=data.get("result"),
            error=data.get("error"),
            started=float(data.get("started", 0.0)),
            elapsed=float(data.get("elapsed", 0.0)),
            call_id=str(data.get("call_id", "")),
        )


@dataclass
class Message:
    """One message of the conversation ("system", "user", "assistant" or "tool")."""

    role: str
    content: str
    #: Calls an assistant message asks for (results are in the transcript's tool_calls).
    tool_calls: list[ToolCall] = field(default_factory=list)
    #: For a "tool" message: the id of the call it answers.
    tool_call_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "content": self.content,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
            "tool_call_id": self.tool_call_id,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            role=str(data["role"]),
            content=str(data.get("content") or ""),
            tool_calls=[ToolCall.from_dict(c) for c in data.get("tool_calls") or []],
            tool_call_id=data.get("tool_call_id"),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
        )


@dataclass
class Transcript:
    """Everything one run of one task (one epoch) did."""

    task_id: str
    epoch: int = 0
    agent: str = ""
    messages: list[Message] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    #: The final output (the contract's sigma_rule / kql_query / query_results), if any.
    submission: dict[str, Any] | None = None
    #: "running", "submitted", "message_limit", "error", ...
    status: str = "running"
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    #: Epoch seconds at the start of the run, and its length in seconds.
    started: float = 0.0
    elapsed: float = 0.0

    # -- JSON lines ------------------------------------------------------------------

    def to_jsonl(self) -> list[str]:
        """The transcript as JSON lines (no trailing newlines)."""
        header = {
            "type": "header",
            "version": FORMAT_VERSION,
            "task_id": self.task_id,
            "epoch": self.epoch,
            "agent": self.agent,
            "started": self.started,
        }
        footer = {
            "type": "footer",
            "status": self.status,
            "error": self.error,
            "submission": self.submission,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "elapsed": self.elapsed,
        }
        body = [
            *({"type": "message", **m.to_dict()} for m in self.messages),
            *({"type": "tool_call", **c.to_dict()} for c in self.tool_calls),
        ]
        return [_dumps(line) for line in (header, *body, footer)]

    @classmethod
    def from_jsonl(cls, lines: Iterable[str]) -> Transcript:
        """Read lines written by `to_jsonl` (blank lines are skipped)."""
        transcript: Transcript | None = None
        footer_seen = False
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"transcript line {number}: not JSON ({exc})") from None
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "header":
                if transcript is not None:
                    raise ValueError(f"transcript line {number}: a second header")
                version = data.get("version", FORMAT_VERSION)
                if version != FORMAT_VERSION:
                    raise ValueError(f"transcript line {number}: unknown format version {version}")
                transcript = cls(
                    task_id=str(data["task_id"]),
                    epoch=int(data.get("epoch", 0)),
                    agent=str(data.get("agent", "")),
                    started=float(data.get("started", 0.0)),
                )
                continue
            if transcript is None:
                raise ValueError(f"transcript line {number}: expected the header first")
            if footer_seen:
                raise ValueError(f"transcript line {number}: content after the footer")
            if kind == "message":
                transcript.messages.append(Message.from_dict(data))
            elif kind == "tool_call":
                transcript.tool_calls.append(ToolCall.from_dict(data))
            elif kind == "footer":
                footer_seen = True
                transcript.status = str(data.get("status", ""))
                transcript.error = data.get("error")
                transcript.submission = data.get("submission")
                transcript.input_tokens = int(data.get("input_tokens", 0))
                transcript.output_tokens = int(data.get("output_tokens", 0))
                transcript.elapsed = float(data.get("elapsed", 0.0))
            else:
                raise ValueError(f"transcript line {number}: unknown line type {kind!r}")
        if transcript is None:
            raise ValueError("transcript is empty: no header line")
        return transcript

    def write(self, path: Path) -> None:
        atomic_write(path, "\n".join(self.to_jsonl()) + "\n")

    @classmethod
    def read(cls, path: Path) -> Transcript:
        return cls.from_jsonl(path.read_text(encoding="utf-8").splitlines())


def _dumps(data: dict[str, Any]) -> str:
    # default=str: a stray datetime or path in a result is kept as text, not lost.
    return json.dumps(data, ensure_ascii=False, default=str)
