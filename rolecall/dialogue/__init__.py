"""Conversations: one dialogue loop, a turn pipeline, and the turn policies that order who speaks.

:class:`Conversation` holds the loop and the record; :class:`RolePlay` (an instructor and an
executor over a task graph) and :class:`Society` (members under a turn policy from
:data:`POLICIES`) are kinds of it. :func:`resume` continues any saved conversation.
"""

from rolecall.dialogue.conversation import Conversation
from rolecall.dialogue.endings import termination_reasons
from rolecall.dialogue.policy import End, Speaker, TurnPolicy
from rolecall.dialogue.resume import resume
from rolecall.dialogue.roleplay import RolePlay
from rolecall.dialogue.society import POLICIES, Society, SocietyPolicy, register_policy, society_id

__all__ = [
    "POLICIES",
    "Conversation",
    "End",
    "RolePlay",
    "Society",
    "SocietyPolicy",
    "Speaker",
    "TurnPolicy",
    "register_policy",
    "resume",
    "society_id",
    "termination_reasons",
]
