"""``graph``: each speaker hands over to one of its allowed successors, each of them in turn.

The spec's ``turns.transitions`` names who may follow whom; a speaker with none listed hands
over to the next member in roster order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from rolecall.dialogue.society import Society, SocietyPolicy, register_policy
from rolecall.errors import SpecError
from rolecall.transcripts.record import Message


@register_policy
class TransitionGraph(SocietyPolicy):
    """Follows the allowed transitions: each speaker's successors take turns after it."""

    name = "graph"
    #: Whether the spec must list transitions for this policy (a moderator can choose without them).
    needs_transitions: ClassVar[bool] = True

    def __init__(self, society: Society) -> None:
        super().__init__(society)
        if self.needs_transitions and not self.settings.transitions:
            raise SpecError("turns.transitions: the graph policy needs transitions")
        self._handovers: Counter[str] = Counter()

    async def prepare(self) -> None:
        """Count the hand-overs a resumed conversation already made, so each speaker's successors go on in turn."""
        spoken = [message.speaker for message in self.society.messages if message.is_dialogue]
        for speaker in spoken[:-1]:
            if self.settings.transitions.get(speaker):
                self._handovers[speaker] += 1

    def candidates(self, last: str) -> list[str]:
        """Who may speak after ``last``: its allowed successors, or everyone else."""
        allowed = self.settings.transitions.get(last)
        if allowed:
            return list(allowed)
        return [name for name in self.roster if name != last] or list(self.roster)

    def fallback(self, last: str, options: Sequence[str]) -> str:
        """The deterministic choice: ``last``'s successors in turn, else the next member in roster order."""
        if self.settings.transitions.get(last):
            chosen = options[self._handovers[last] % len(options)]
            self._handovers[last] += 1
            return chosen
        start = self.roster.index(last) + 1
        return next(name for name in [*self.roster[start:], *self.roster[:start]] if name in options)

    async def choose(self, last: Message) -> str:
        return self.fallback(last.speaker, self.candidates(last.speaker))
