"""The spec's ``turns:`` section: which turn policy a society follows, and what it may read.

The policies themselves live in :mod:`rolecall.dialogue.policies`, one file each; this is only
what a spec says about them, checked against the roster.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ConfigDict, Field

from rolecall._checked import Checked
from rolecall.errors import SpecError


class TurnSettings(Checked):
    """The spec's ``turns:`` section."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    #: A registered turn policy: round_robin, graph (follows ``transitions``), moderator, or a plugin's.
    policy: str = Field(default="round_robin", min_length=1, max_length=40)
    transitions: dict[str, list[str]] = Field(default_factory=dict)
    moderator_role: str = "Moderator"

    def validate_roster(self, roster: Sequence[str]) -> None:
        """Every name in the transitions is a member, and each names at least one next speaker."""
        for source, targets in self.transitions.items():
            for name in (source, *targets):
                if name not in roster:
                    raise SpecError(f"turns.transitions: {name!r} is not a member ({', '.join(roster)})")
            if not targets:
                raise SpecError(f"turns.transitions.{source}: name at least one next speaker")
