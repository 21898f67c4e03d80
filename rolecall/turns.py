"""Turn policies for societies: who speaks next.

``round_robin`` goes around the roster; ``graph`` follows allowed transitions (each
speaker hands over to the next of its successors in turn); ``moderator`` asks a moderator
agent to name the next speaker among the candidates, matched forgivingly against the
roster, falling back to the deterministic order when the answer names nobody.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import ConfigDict, Field

from rolecall.checked import Checked
from rolecall.errors import SpecError

Policy = Literal["round_robin", "moderator", "graph"]


class TurnSettings(Checked):
    """The spec's ``turns:`` section."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    policy: Policy = "round_robin"
    transitions: dict[str, list[str]] = Field(default_factory=dict)
    moderator_role: str = "Moderator"

    def validate_roster(self, roster: Sequence[str]) -> None:
        """Every name in the transitions is a member; a graph policy needs transitions."""
        if self.policy == "graph" and not self.transitions:
            raise SpecError("turns.transitions: the graph policy needs transitions")
        for source, targets in self.transitions.items():
            for name in (source, *targets):
                if name not in roster:
                    raise SpecError(f"turns.transitions: {name!r} is not a member ({', '.join(roster)})")
            if not targets:
                raise SpecError(f"turns.transitions.{source}: name at least one next speaker")


def round_robin(roster: Sequence[str], last: str) -> str:
    """The member after ``last`` in roster order."""
    return roster[(roster.index(last) + 1) % len(roster)]


def candidates(settings: TurnSettings, roster: Sequence[str], last: str) -> list[str]:
    """Who may speak after ``last``: its allowed successors, or everyone else."""
    allowed = settings.transitions.get(last)
    if allowed:
        return list(allowed)
    others = [name for name in roster if name != last]
    return others or list(roster)


def rotate(options: Sequence[str], handovers: int) -> str:
    """The deterministic choice among ``options`` at a speaker's ``handovers``-th handover."""
    return options[handovers % len(options)]


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
