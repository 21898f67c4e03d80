"""Task graphs: the subtasks a conversation works through, in dependency order (the planner agent writes them)."""

from rolecall.tasks.graph import FINAL_STATUSES, Progress, Subtask, TaskGraph, TaskStatus

__all__ = ["FINAL_STATUSES", "Progress", "Subtask", "TaskGraph", "TaskStatus"]
