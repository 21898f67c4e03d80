"""Every reason a conversation can end with, derived from what can end one: nothing is listed by hand.

A conversation ends when its turn policy says so (``task_done``, ``graph_complete``, a plugin
policy's own endings), when a limit of the settings is reached (each limit's reason), when a
guard stops it (the guard's name), or when the run itself fails (``error``, ``interrupted``).
"""

from __future__ import annotations

from rolecall.dialogue.instruction import InstructorExecutor
from rolecall.dialogue.society import POLICIES
from rolecall.guards import registered_guards
from rolecall.settings import Settings
from rolecall.transcripts.record import FAILED_REASONS


def termination_reasons() -> tuple[str, ...]:
    """The vocabulary of ``termination.reason``: policies' endings, limits, guards, then the run's failures."""
    endings = [
        *InstructorExecutor.endings,
        *(reason for policy in POLICIES.members().values() for reason in policy.endings),
    ]
    found = [*endings, *Settings.limits(), *registered_guards(), *sorted(FAILED_REASONS)]
    return tuple(dict.fromkeys(found))
