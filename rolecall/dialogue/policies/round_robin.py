"""``round_robin``: the members speak in roster order, the lead first, around and around."""

from __future__ import annotations

from rolecall.dialogue.society import SocietyPolicy, register_policy
from rolecall.transcripts.record import Message


@register_policy
class RoundRobin(SocietyPolicy):
    """Goes around the roster in order (allowed transitions are not consulted)."""

    name = "round_robin"

    async def choose(self, last: Message) -> str:
        return self.roster[(self.roster.index(last.speaker) + 1) % len(self.roster)]
