"""Agents: the participants of a conversation and the prompts that cast them."""

from rolecall.agents.base import Agent, Role, Said
from rolecall.agents.context import TokenEstimator
from rolecall.agents.roleplay_agents import Executor, Instructor, TaskSpecifier

__all__ = [
    "Agent",
    "Executor",
    "Instructor",
    "Role",
    "Said",
    "TaskSpecifier",
    "TokenEstimator",
]
