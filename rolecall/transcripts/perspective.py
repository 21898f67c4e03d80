"""One agent's side of a saved conversation: the chat a trainer sees when that agent is taught.

The mapping follows what the agent saw while it spoke: its system prompt; for the
instructor, the kickoff and rolecall's subtask notes, with the executor's replies as
``user``; for the executor, the instructions as ``user`` (done tokens hidden, as they were);
for a society member, the others' lines prefixed with their names. Consecutive lines from
the other side are joined, and the chat ends with the trained agent's last message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rolecall.errors import SpecError
from rolecall.transcripts.record import AgentInfo, Transcript

ChatRole = Literal["system", "user", "assistant"]

#: The speaker of lines rolecall itself adds to a view (the kickoff, subtask notes).
NARRATOR = "rolecall"


@dataclass(frozen=True)
class Turn:
    role: ChatRole
    content: str


@dataclass(frozen=True)
class Chat:
    """A conversation as one agent's training example."""

    conversation_id: str
    agent: AgentInfo
    turns: list[Turn]  # the system prompt first

    @property
    def system(self) -> str:
        return self.turns[0].content

    def assistant_indexes(self) -> list[int]:
        return [index for index, turn in enumerate(self.turns) if turn.role == "assistant"]


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


def lines_for(transcript: Transcript, *, name: str, kind: str) -> list[tuple[str, str]]:
    """What the agent ``name`` of ``kind`` saw, in order, as (speaker, text) lines.

    The one derivation of an agent's view: the live conversation builds its prompts from
    it, and harvesting builds training examples from it.
    """
    done_token = transcript.done_token or "<TASK_DONE>"
    notes: dict[int, list[str]] = {}
    if kind == "user":
        for event in transcript.events:
            extra = event.model_extra or {}
            if event.kind == "instructor_note" and isinstance(extra.get("at"), int) and "text" in extra:
                notes.setdefault(extra["at"], []).append(str(extra["text"]))
    lines: list[tuple[str, str]] = []
    if kind in ("user", "member") and transcript.kickoff:
        lines.append((NARRATOR, transcript.kickoff))
    for message in transcript.messages:
        lines += [(NARRATOR, note) for note in notes.get(message.index, ())]
        if message.speaker == name:
            lines.append((name, message.content))
        elif kind == "assistant" and message.role == "user" and done_token in message.content:
            continue  # the executor never sees the done token
        elif kind == "member":
            lines.append((message.speaker, f"{message.speaker}: {message.content}"))
        else:
            lines.append((message.speaker, message.content))
    lines += [(NARRATOR, note) for note in notes.get(len(transcript.messages), ())]
    return lines


def chat_for(transcript: Transcript, perspective: str) -> Chat | None:
    """The training chat of the agent ``perspective`` names; None when it never spoke."""
    agent = trained_agent(transcript, perspective)
    lines = lines_for(transcript, name=agent.name, kind=agent.kind)
    turns = _alternating([Turn("assistant" if speaker == agent.name else "user", text) for speaker, text in lines])
    if not any(turn.role == "assistant" for turn in turns):
        return None
    return Chat(transcript.id, agent, [Turn("system", agent.system_prompt), *turns])


def _alternating(lines: list[Turn]) -> list[Turn]:
    merged: list[Turn] = []
    for line in lines:
        if merged and merged[-1].role == line.role:
            merged[-1] = Turn(line.role, f"{merged[-1].content}\n\n{line.content}")
        else:
            merged.append(line)
    while merged and merged[0].role == "assistant":
        merged.pop(0)
    while merged and merged[-1].role != "assistant":
        merged.pop()
    return merged
