"""The ReAct loop: the model reads the conversation, calls tools, and ends with a JSON
answer; the loop enforces the message limit, feeds tool results back, and asks again
when the answer does not meet the output contract."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from pytest_ctirealm.agent.models import Model, ModelError, ModelTurn
from pytest_ctirealm.agent.prompts import system_prompt, task_prompt
from pytest_ctirealm.agent.tools import ToolBox, validate_output
from pytest_ctirealm.agent.transcript import Message, ToolCall, Transcript
from pytest_ctirealm.dataset import Task
from pytest_ctirealm.workspace import Workspace

#: The reference's limit on messages per task.
DEFAULT_MESSAGE_LIMIT = 70
_FENCE = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


def extract_answer(text: str) -> dict[str, Any] | None:
    """The JSON object in a final answer (bare, or in a ```json fence), if any."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def run_task(
    task: Task,
    workspace: Workspace,
    model: Model,
    *,
    variant: str = "standard",
    message_limit: int = DEFAULT_MESSAGE_LIMIT,
    epoch: int = 0,
) -> Transcript:
    """Run *model* on *task* until it submits a valid answer, runs out of messages, or
    fails; the transcript says which."""
    toolbox = ToolBox(workspace, variant)
    transcript = Transcript(task.id, epoch, model.name, started=time.time())
    clock = time.perf_counter()
    transcript.messages += [
        Message("system", system_prompt(variant)),
        Message("user", task_prompt(task)),
    ]
    try:
        _converse(transcript, toolbox, model, message_limit)
    except ModelError as exc:
        transcript.status, transcript.error = "error", f"model failed: {exc}"
    transcript.tool_calls = list(toolbox.calls)
    transcript.elapsed = time.perf_counter() - clock
    return transcript


def _converse(transcript: Transcript, toolbox: ToolBox, model: Model, limit: int) -> None:
    while len(transcript.messages) < limit:
        turn = model.respond(transcript.messages, toolbox.specs())
        transcript.input_tokens += turn.input_tokens
        transcript.output_tokens += turn.output_tokens
        transcript.messages.append(_assistant(turn))
        if turn.tool_requests:
            _run_tools(transcript, toolbox, turn)
            continue
        answer = extract_answer(turn.text)
        if answer is None:
            problems = "It holds no JSON object."
        else:
            verdict = validate_output(answer)
            if verdict["valid"]:
                transcript.submission, transcript.status = answer, "submitted"
                return
            problems = " ".join(verdict["errors"])
        transcript.messages.append(
            Message(
                "user",
                f"That is not a valid final answer. {problems} Continue with the tools, or "
                'answer with one JSON object {"sigma_rule", "kql_query", "query_results"}.',
            )
        )
    transcript.status = "message_limit"
    transcript.error = f"no valid answer within {limit} messages"


def _assistant(turn: ModelTurn) -> Message:
    calls = [
        ToolCall(
            r.name,
            r.arguments if isinstance(r.arguments, dict) else {"raw": r.arguments},
            call_id=r.id,
        )
        for r in turn.tool_requests
    ]
    return Message(
        "assistant",
        turn.text,
        calls,
        input_tokens=turn.input_tokens,
        output_tokens=turn.output_tokens,
    )


def _run_tools(transcript: Transcript, toolbox: ToolBox, turn: ModelTurn) -> None:
    for request in turn.tool_requests:
        result = toolbox.call(request.name, request.arguments, call_id=request.id)
        transcript.messages.append(Message("tool", result, tool_call_id=request.id))
