"""Agents: the participants of a conversation and the prompts that cast them."""

from rolecall.agents.base import Agent, Role
from rolecall.agents.context import TokenEstimator
from rolecall.agents.roleplay_agents import Executor, Instructor, TaskSpecifier
from rolecall.transcripts.perspective import Said

__all__ = [
    "Agent",
    "Executor",
    "Instructor",
    "Role",
    "Said",
    "TaskSpecifier",
    "TokenEstimator",
]
