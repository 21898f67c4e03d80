"""``moderator``: a moderator agent names the next speaker among those allowed.

Its answer is matched forgivingly against the candidates' names and roles (exact, then
mentioned, then a close spelling); an answer that names nobody falls back to the graph
policy's deterministic order. Each choice is a ``turn_policy`` event, and the moderator's
calls are metered like every other.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from rolecall.agents.base import Agent
from rolecall.dialogue.policies.graph import TransitionGraph
from rolecall.dialogue.society import Society, register_policy
from rolecall.models.base import GenerationParams
from rolecall.prompts import prompt, templates
from rolecall.transcripts.perspective import NARRATOR, Said
from rolecall.transcripts.record import AgentInfo, Message

#: How much of the last message the moderator reads (its end: where the hand-over is asked for).
_LAST_CHARS = 1500


@register_policy
class Moderated(TransitionGraph):
    """Asks a moderator agent who speaks next among the allowed candidates."""

    name = "moderator"
    needs_transitions = False

    def __init__(self, society: Society) -> None:
        super().__init__(society)
        self.moderator: Agent | None = None

    async def prepare(self) -> None:
        await super().prepare()
        society = self.society
        self.moderator = Agent(
            self.settings.moderator_role,
            model=society.model,
            template=templates()["moderator_system"],
            prompt_values={"roster": ", ".join(self.roster), "task": society.task},
            params=society.params.merged(GenerationParams(max_tokens=16, temperature=0.0)),
        )
        self.moderator.kind = "moderator"
        if not society.resumed:
            society.transcript.agents.append(AgentInfo(**self.moderator.describe()))

    async def choose(self, last: Message) -> str:
        options = self.candidates(last.speaker)
        fallback = self.fallback(last.speaker, options)
        if self.moderator is None or len(options) == 1:
            return fallback
        request = prompt(
            "moderator",
            {"last": last.speaker, "message": last.content[-_LAST_CHARS:], "candidates": ", ".join(options)},
        )
        answer = self.society.meter.add(await self.moderator.step([Said(NARRATOR, request)])).text
        roles = {member.role: member.name for member in self.society.members if member.name in options}
        chosen = match_name(answer, options, aliases=roles)
        self.society.record.event(
            "turn_policy", policy=self.name, answer=answer, chosen=chosen or fallback, fallback=chosen is None
        )
        return chosen or fallback


def match_name(reply: str, options: Sequence[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The member a free-text answer names, forgivingly: exact, then mentioned, then close spelling."""
    text = reply.strip().strip("\"'`*.").strip()
    lowered = {option.lower(): option for option in options}
    for alias, name in (aliases or {}).items():
        lowered.setdefault(alias.lower(), name)
    if text.lower() in lowered:
        return lowered[text.lower()]
    mentions = [
        (found.start(), name)
        for key, name in lowered.items()
        if (found := re.search(rf"\b{re.escape(key)}\b", text, re.IGNORECASE))
    ]
    if mentions:
        return min(mentions)[1]
    close = difflib.get_close_matches(text.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None
