"""Turn policies: who speaks next, or that the conversation ends. The one loop asks, the policy answers.

A :class:`TurnPolicy` is told each message as it is recorded (:meth:`TurnPolicy.heard`, which
may end the conversation there) and is asked for the next step (:meth:`TurnPolicy.next`): a
:class:`Speaker`, or an :class:`End` with its termination reason. The two-agent role-play is
one policy (:mod:`rolecall.dialogue.roleplay`); a society's policies (round robin, a transition
graph, a moderator) join a registry as guards and judges join theirs
(:mod:`rolecall.dialogue.society`), so a new one is one new file in ``rolecall/dialogue/policies/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rolecall.agents.base import Agent
from rolecall.guards import Side
from rolecall.transcripts.record import Message


@dataclass(frozen=True)
class Speaker:
    """Who speaks next, on which side, and whether their message opens a new turn (counted by ``max_turns``)."""

    agent: Agent
    side: Side
    new_turn: bool = True
    others: Sequence[str] = ()


@dataclass(frozen=True)
class End:
    """The conversation ends: ``reason`` is its termination reason, one of the policy's :attr:`TurnPolicy.endings`."""

    reason: str
    detail: str | None = None


class TurnPolicy:
    """Decides the order of a conversation's messages and when it is done."""

    #: The termination reasons this policy can end a conversation with (they join the vocabulary).
    endings: ClassVar[tuple[str, ...]] = ()

    async def next(self, last: Message | None) -> Speaker | End:
        """The next speaker after ``last`` (``None`` at the start, and on resuming), or the end."""
        raise NotImplementedError

    def heard(self, message: Message) -> End | None:
        """Note ``message`` as it is recorded, before anyone reads it; an :class:`End` ends the conversation there."""
        return None

    def begin_turn(self) -> None:
        """A new turn starts (after the limits allowed it)."""
