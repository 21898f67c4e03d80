"""Batches: many conversations from one spec, concurrent, rate-limited, budgeted and resumable.

``spec`` says what varies and plans it; ``plan`` is what a runner holds (a batch spec's plan,
or an evaluation's); ``runner`` holds a plan into a folder; ``tasks``
makes up tasks per role pair; ``ray_engine`` runs the same plan as Ray tasks. The progress
bar is drawn by :mod:`rolecall.terminal.progress`.
"""

from rolecall.batch.plan import TASKS, BatchPlan, Plan
from rolecall.batch.runner import (
    CONVERSATIONS,
    FAILURES,
    MANIFEST,
    Batch,
    Finished,
    Progress,
    limited,
    scan,
    summary,
)
from rolecall.batch.spec import BatchSpec, Budget, Job, load_batch_spec, plan

__all__ = [
    "CONVERSATIONS",
    "FAILURES",
    "MANIFEST",
    "TASKS",
    "Batch",
    "BatchPlan",
    "BatchSpec",
    "Budget",
    "Finished",
    "Job",
    "Plan",
    "Progress",
    "limited",
    "load_batch_spec",
    "plan",
    "scan",
    "summary",
]
