"""Guards: small named checks that keep each agent in its role and the dialogue moving.

``base`` defines :class:`Guard`, :class:`Verdict`, :class:`Turn` and the registry; ``builtin``
registers rolecall's own guards, first, in the order they run.
"""

from rolecall.guards import builtin  # imported first: it registers the built-in guards, in the order they run
from rolecall.guards.base import (
    ENTRY_POINT_GROUP,
    Guard,
    Side,
    Turn,
    Verdict,
    action_of,
    build,
    first_verdict,
    register_guard,
    registered_guards,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Guard",
    "Side",
    "Turn",
    "Verdict",
    "action_of",
    "build",
    "builtin",
    "first_verdict",
    "register_guard",
    "registered_guards",
]
