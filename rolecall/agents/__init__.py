"""Agents: the participants of a conversation and the prompts that cast them."""

from rolecall.agents.base import Agent, Role, Said
from rolecall.agents.context import TokenEstimator
from rolecall.agents.roleplay_agents import DONE_TOKEN, Assist, Executor, Instructor, TaskSpecifier

__all__ = [
    "DONE_TOKEN",
    "Agent",
    "Assist",
    "Executor",
    "Instructor",
    "Role",
    "Said",
    "TaskSpecifier",
    "TokenEstimator",
]
