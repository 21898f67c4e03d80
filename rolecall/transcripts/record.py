"""The transcript record: one conversation, whole, as a versioned pydantic value.

Field names are a contract read by outside tools (harvesters, checks); new fields may be
added, none renamed. ``SCHEMA_VERSION`` changes only when a reader would misread old files.
Storage lives in ``store.py``; this module only says what a conversation *is*.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rolecall._version import __version__
from rolecall.models.base import ToolCall, Usage

#: Version 2 added tool calls and tool results; version-1 files read as they are (they hold neither).
SCHEMA_VERSION: Literal[2] = 2
#: Every version this rolecall reads.
READABLE_VERSIONS = (1, 2)

Status = Literal["ok", "failed"]

#: The done token of the CAMEL protocol (a contract; configurable per spec).
DONE_TOKEN = "<TASK_DONE>"
#: The endings that mean the task was done (and so nothing is left to resume).
SUCCESSFUL_ENDINGS = ("task_done", "graph_complete")
#: Reasons that mean the run itself failed rather than stopped.
FAILED_REASONS = frozenset({"error", "interrupted"})


def utc_now() -> str:
    """Current time as ISO-8601 UTC, the one timestamp format in transcripts."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def conversation_id(*parts: object) -> str:
    """A deterministic id from the things that define a conversation (roles, task, sample, seed)."""
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()
    return digest[:16]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class TaskText(_Record):
    original: str
    specified: str | None = None


class ToolInfo(_Record):
    """A tool offered to an agent: what the model was shown, and where the tool came from."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)  # a JSON Schema of the arguments
    source: Any = None  # how a spec names it again: a built-in's name, "module:function", {mcp: {...}}


class AgentInfo(_Record):
    name: str
    role: str
    kind: str
    system_prompt: str
    model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    tools: list[ToolInfo] = Field(default_factory=list)
    #: How tools were explained in the system prompt: {route, note (appended), native (the note for function
    #: calling)}, so a dataset that writes calls natively can say so in its system prompt.
    tool_prompt: dict[str, str] | None = None
    #: The part of the system prompt that asked for JSON turns (``assist.json_turns``); the turns are recorded
    #: as the plain text rendered from them, so datasets leave this part out.
    json_note: str | None = None

    @property
    def dataset_system_prompt(self) -> str:
        """The system prompt a training row carries: the one that fits its turns as they are exported.

        Tools are written as native calls (:attr:`native_system_prompt`), and turns decoded as JSON
        are written as the plain text rendered from them, so the request for JSON is left out.
        """
        prompt = self.native_system_prompt
        return prompt.replace(self.json_note, "", 1) if self.json_note else prompt

    @property
    def native_system_prompt(self) -> str:
        """The system prompt as it reads when the tools are called natively (as every dataset writes them)."""
        found = self.tool_prompt or {}
        note, native = found.get("note"), found.get("native")
        if found.get("route") != "json" or not note or native is None or not self.system_prompt.endswith(note):
            return self.system_prompt
        return self.system_prompt.removesuffix(note) + native


#: The ``model`` of a message a person wrote (``rolecall run --human``).
HUMAN_MODEL = "human"


class Message(_Record):
    """One agent speaking once, with the facts of the call that produced it.

    A message may carry ``tool_calls`` (the agent asked for tools; ``content`` holds any text
    said with them). Each call's result is a message of its own: ``role`` "tool", the
    calling agent as ``speaker``, the tool's ``name``, the ``tool_call_id`` it answers, and
    ``error`` when the call failed (``content`` then says what happened).
    """

    index: int = Field(ge=0)
    turn: int = Field(ge=0)
    speaker: str
    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    error: str | None = None
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = Field(default=0.0, ge=0)
    #: Milliseconds to the first token, when the reply was streamed to a live view.
    first_token_ms: float | None = Field(default=None, ge=0)
    finish_reason: str | None = None
    retries: int = 0
    reasks: int = 0
    response_id: str | None = None
    created_at: str = Field(default_factory=utc_now)

    @property
    def is_dialogue(self) -> bool:
        """Whether the message is a line of the dialogue (not a tool result, not only tool calls)."""
        return self.role != "tool" and not (self.tool_calls and not self.content)


class Termination(_Record):
    reason: str
    turn: int
    detail: str | None = None


class TotalUsage(_Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None


class Event(_Record):
    """Something that happened besides a message: a task status change, a guard verdict."""

    turn: int = Field(ge=0)
    kind: str


class ErrorInfo(_Record):
    type: str
    message: str


class Transcript(_Record):
    """A whole conversation, as saved: one JSON line per transcript."""

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    id: str = Field(min_length=1)
    status: Status = "ok"
    created_at: str = Field(default_factory=utc_now)
    finished_at: str | None = None
    rolecall_version: str = __version__
    task: TaskText
    agents: list[AgentInfo] = Field(default_factory=list)
    kickoff: str | None = None
    seed: int | None = None
    done_token: str | None = None
    limits: dict[str, Any] = Field(default_factory=dict)  # files of 0.1; now part of settings
    settings: dict[str, Any] = Field(default_factory=dict)
    defaults_applied: dict[str, Any] = Field(default_factory=dict)
    parent_id: str | None = None
    messages: list[Message] = Field(default_factory=list)
    termination: Termination | None = None
    usage: TotalUsage = Field(default_factory=TotalUsage)
    task_graph: dict[str, Any] | None = None
    events: list[Event] = Field(default_factory=list)
    error: ErrorInfo | None = None

    @property
    def done_token_in_use(self) -> str:
        """The done token this conversation was held with (the protocol's own when the file names none)."""
        return self.done_token or DONE_TOKEN

    @property
    def planned(self) -> bool:
        """Whether the saved task graph was declared or planned (not the one-node graph of a plain task)."""
        info = (self.task_graph or {}).get("graph")
        return isinstance(info, dict) and info.get("planned") is True

    @property
    def spoken(self) -> list[Message]:
        """The messages that are dialogue: no tool results, no message that only calls tools."""
        return [message for message in self.messages if message.is_dialogue]

    @property
    def tool_results(self) -> list[Message]:
        """The results of the tool calls, in order (``error`` set on those that failed)."""
        return [message for message in self.messages if message.role == "tool"]

    def agent(self, name: str) -> AgentInfo:
        """The agent called ``name``; ``KeyError`` if there is none."""
        for info in self.agents:
            if info.name == name:
                return info
        raise KeyError(name)

    def to_json(self) -> str:
        """The transcript as one line of JSON (no newline inside)."""
        return self.model_dump_json(exclude_none=False)

    @classmethod
    def from_json(cls, line: str | bytes) -> Transcript:
        return cls.model_validate_json(line)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the transcript record, as ``rolecall schema`` prints it."""
    return Transcript.model_json_schema()
