"""A small, varied batch folder for the viewer's tests: finished, stopped, flagged, with a plan."""

from __future__ import annotations

from pathlib import Path

from rolecall import RolePlay, TaskGraph
from rolecall.testing import ScriptedModel
from rolecall.transcripts.store import append

INSTRUCTION = "Instruction: name a data source for {topic}\nInput: None"


def _plan() -> TaskGraph:
    graph = TaskGraph()
    graph.add("find", "Find sources")
    graph.add("compare", "Compare them", after=["find"])
    return graph


def make_folder(root: Path, conversations: int = 12) -> Path:
    """``conversations`` transcripts in ``root/batch/conversations.jsonl``; every third one never finishes."""
    out = root / "batch" / "conversations.jsonl"
    for number in range(conversations):
        topic = f"topic {number}"
        finishes = number % 3 != 2
        instructor = [INSTRUCTION.format(topic=topic), "<TASK_DONE>" if finishes else "just keep going"]
        roleplay = RolePlay(
            f"Research task {number} about {topic}", assistant_role=f"Analyst {number % 2}", user_role="Trader",
            user_model=ScriptedModel(instructor, repeat_last=True, name="scripted-user"),
            assistant_model=ScriptedModel([f"Solution: the {topic} source is Polygon.io.\nNext request."],
                                          repeat_last=True),
            max_turns=3, seed=number, guards={"max_reasks": 0, "off_format": "flag"},
            graph=_plan() if number == 0 else None,
        )  # fmt: skip
        append(out, roleplay.run())
    return out.parent
