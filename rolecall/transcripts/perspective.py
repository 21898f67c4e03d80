"""One agent's side of a saved conversation: the chat a trainer sees when that agent is taught.

The mapping follows what the agent saw while it spoke: its system prompt; for the
instructor, the kickoff and rolecall's subtask notes, with the executor's replies as
``user``; for the executor, the instructions as ``user`` (done tokens hidden, as they were);
for a society member, the others' lines prefixed with their names. Consecutive lines from
the other side are joined, and the chat ends with the trained agent's last message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from rolecall.errors import SpecError
from rolecall.models.base import ToolCall
from rolecall.transcripts.record import AgentInfo, Message, Transcript

ChatRole = Literal["system", "user", "assistant", "tool"]

#: The speaker of lines rolecall itself adds to a view (the kickoff, subtask notes).
NARRATOR = "rolecall"


class Said(NamedTuple):
    """One item of a conversation as an agent's view is derived from it.

    A line that calls tools carries them in ``calls``; a tool's result carries the
    ``call_id`` it answers, the ``tool``'s name, and whether it ``failed``. Only the agent
    that made the calls sees either.
    """

    speaker: str
    content: str
    calls: tuple[ToolCall, ...] = ()
    call_id: str | None = None
    tool: str | None = None
    failed: bool = False


@dataclass(frozen=True)
class Turn:
    role: ChatRole
    content: str
    calls: tuple[ToolCall, ...] = ()
    call_id: str | None = None
    tool: str | None = None

    @property
    def plain(self) -> bool:
        """A turn of text only (no calls, not a result): one that may be joined to its neighbour."""
        return not self.calls and self.call_id is None


@dataclass(frozen=True)
class Chat:
    """A conversation as one agent's training example."""

    conversation_id: str
    agent: AgentInfo
    turns: list[Turn]  # the system prompt first
    #: The agent's turns that are context only, never trained, by index: why (a content check's reason).
    untrained: Mapping[int, str] = field(default_factory=dict)

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The tools the trained agent was offered, as OpenAI's ``tools`` list carries them."""
        return [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in self.agent.tools
        ]

    @property
    def calls_tools(self) -> bool:
        return any(turn.calls or turn.call_id is not None for turn in self.turns)

    @property
    def system(self) -> str:
        return self.turns[0].content

    def assistant_indexes(self) -> list[int]:
        return [index for index, turn in enumerate(self.turns) if turn.role == "assistant"]

    def trained_indexes(self) -> list[int]:
        """The agent's turns a row may train: all of its turns but those marked untrained."""
        return [index for index in self.assistant_indexes() if index not in self.untrained]


def trained_agent(transcript: Transcript, perspective: str) -> AgentInfo:
    """The agent ``perspective`` names: ``assistant`` (executor), ``user`` (instructor), or a name."""
    for agent in transcript.agents:
        if agent.kind == perspective and perspective in ("assistant", "user"):
            return agent
    for agent in transcript.agents:
        if agent.name == perspective:
            return agent
    names = ", ".join(a.name for a in transcript.agents if a.kind in ("user", "assistant", "member"))
    raise SpecError(f"--perspective {perspective!r} names no agent of conversation {transcript.id} ({names})")


def _tool_line(message: Message) -> Said:
    if message.role == "tool":
        return Said(message.speaker, message.content, (), message.tool_call_id or "", message.name, bool(message.error))
    return Said(message.speaker, message.content, tuple(message.tool_calls or ()))


def lines_for(transcript: Transcript, *, name: str, kind: str) -> list[Said]:
    """What the agent ``name`` of ``kind`` saw, in order, as lines.

    The one derivation of an agent's view: the live conversation builds its prompts from
    it, and harvesting builds training examples from it. An agent sees its own tool calls
    and their results; the others see only what it answered.
    """
    done_token = transcript.done_token_in_use
    notes: dict[int, list[str]] = {}
    if kind == "user":
        for event in transcript.events:
            extra = event.model_extra or {}
            if event.kind == "instructor_note" and isinstance(extra.get("at"), int) and "text" in extra:
                notes.setdefault(extra["at"], []).append(str(extra["text"]))
    lines: list[Said] = []
    if kind in ("user", "member") and transcript.kickoff:
        lines.append(Said(NARRATOR, transcript.kickoff))
    for message in transcript.messages:
        lines += [Said(NARRATOR, note) for note in notes.get(message.index, ())]
        if not message.is_dialogue or message.tool_calls:
            if message.speaker == name:
                lines.append(_tool_line(message))
            continue
        if message.speaker == name:
            lines.append(Said(name, message.content))
        elif kind == "assistant" and message.role == "user" and done_token in message.content:
            continue  # the executor never sees the done token
        elif kind == "member":
            lines.append(Said(message.speaker, f"{message.speaker}: {message.content}"))
        else:
            lines.append(Said(message.speaker, message.content))
    lines += [Said(NARRATOR, note) for note in notes.get(len(transcript.messages), ())]
    return lines


def chat_for(transcript: Transcript, perspective: str) -> Chat | None:
    """The training chat of the agent ``perspective`` names; None when it never spoke."""
    agent = trained_agent(transcript, perspective)
    lines = lines_for(transcript, name=agent.name, kind=agent.kind)
    turns = _alternating([_turn(line, agent.name) for line in lines])
    if not any(turn.role == "assistant" for turn in turns):
        return None
    return Chat(transcript.id, agent, [Turn("system", agent.dataset_system_prompt), *turns])


def _turn(line: Said, trained: str) -> Turn:
    if line.call_id is not None:
        return Turn("tool", line.content, call_id=line.call_id, tool=line.tool)
    return Turn("assistant" if line.speaker == trained else "user", line.content, calls=line.calls)


def _alternating(lines: list[Turn]) -> list[Turn]:
    merged: list[Turn] = []
    for line in lines:
        if merged and merged[-1].role == line.role and merged[-1].plain and line.plain:
            merged[-1] = Turn(line.role, f"{merged[-1].content}\n\n{line.content}")
        else:
            merged.append(line)
    while merged and merged[0].role in ("assistant", "tool"):
        merged.pop(0)
    while merged and (merged[-1].role != "assistant" or merged[-1].calls):  # end on an answer
        merged.pop()
    return merged
