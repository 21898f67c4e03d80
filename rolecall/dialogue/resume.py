"""Resuming any saved conversation: a role-play or a society, told apart by the agents it recorded."""

from __future__ import annotations

from typing import Any

from rolecall.dialogue.conversation import Conversation
from rolecall.dialogue.roleplay import RolePlay
from rolecall.dialogue.society import Society
from rolecall.models.base import ChatModel
from rolecall.transcripts.record import Transcript


def resume(
    transcript: Transcript,
    *,
    model: ChatModel | None = None,
    max_turns: int | None = None,
    token_budget: int | None = None,
    **options: Any,
) -> Conversation:
    """A conversation that continues ``transcript`` where it stopped, on ``model`` (see each kind's ``resume``)."""
    kind = Society if any(agent.kind == "member" for agent in transcript.agents) else RolePlay
    return kind.resume(transcript, model=model, max_turns=max_turns, token_budget=token_budget, **options)
