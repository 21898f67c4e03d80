"""Task graphs: the subtasks a conversation works through, in dependency order, and their planner."""

from rolecall.tasks.graph import FINAL_STATUSES, Progress, Subtask, TaskGraph, TaskStatus
from rolecall.tasks.planner import Plan, Planner, PlanOutcome

__all__ = ["FINAL_STATUSES", "Plan", "PlanOutcome", "Planner", "Progress", "Subtask", "TaskGraph", "TaskStatus"]
