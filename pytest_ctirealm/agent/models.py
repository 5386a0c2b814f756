"""What the loop talks to: a model that answers a conversation with text and tool
requests. Providers (OpenAI, Anthropic) and the offline agents implement `Model`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pytest_ctirealm.agent.transcript import Message, Transcript


@dataclass(frozen=True)
class ToolRequest:
    """A tool call the model asks for. `arguments` is what the model sent: a dict, or the
    raw text when it was not valid JSON (the tool box reports that back)."""

    id: str
    name: str
    arguments: Any


@dataclass(frozen=True)
class ModelTurn:
    text: str = ""
    tool_requests: tuple[ToolRequest, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0


class ModelError(Exception):
    """The model could not answer (after retries): the run ends as an error, not a score."""


class Model(Protocol):
    name: str

    def respond(self, messages: Sequence[Message], tools: list[dict[str, Any]]) -> ModelTurn:
        """The model's next turn for the conversation so far."""
        ...


@dataclass
class ScriptedModel:
    """Plays fixed turns in order: deterministic tests of the loop. Running out of turns
    is a model failure, as a provider that stops answering would be."""

    turns: list[ModelTurn]
    name: str = "scripted"
    _next: int = field(default=0, init=False)

    def respond(self, messages: Sequence[Message], tools: list[dict[str, Any]]) -> ModelTurn:
        if self._next >= len(self.turns):
            raise ModelError(f"the script has only {len(self.turns)} turns")
        turn = self.turns[self._next]
        self._next += 1
        return turn


def replay_turns(transcript: Transcript) -> list[ModelTurn]:
    """The assistant turns of a recorded run, to play them again (re-running the tools)."""
    return [
        ModelTurn(
            text=message.content,
            tool_requests=tuple(
                ToolRequest(call.call_id or f"replay-{i}-{j}", call.name, call.arguments)
                for j, call in enumerate(message.tool_calls)
            ),
            input_tokens=message.input_tokens,
            output_tokens=message.output_tokens,
        )
        for i, message in enumerate(transcript.messages)
        if message.role == "assistant"
    ]


def replay_model(transcripts: Iterable[Transcript]) -> ScriptedModel:
    """A model that repeats a recorded run's turns."""
    turns: list[ModelTurn] = []
    for transcript in transcripts:
        turns += replay_turns(transcript)
    return ScriptedModel(turns, name="replay")
