"""The agent runtime: the tools an agent works with and the record of its run."""

from pytest_ctirealm.agent.tools import (
    CTI_TOOLS,
    MAX_QUERY_ROWS,
    MAX_SAMPLE_ROWS,
    VARIANTS,
    ToolBox,
    ToolError,
    ToolSpec,
    validate_output,
)
from pytest_ctirealm.agent.transcript import Message, ToolCall, Transcript

__all__ = [
    "CTI_TOOLS",
    "MAX_QUERY_ROWS",
    "MAX_SAMPLE_ROWS",
    "VARIANTS",
    "Message",
    "ToolBox",
    "ToolCall",
    "ToolError",
    "ToolSpec",
    "Transcript",
    "validate_output",
]
