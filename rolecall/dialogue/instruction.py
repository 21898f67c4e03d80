"""The role-play's turn policy: the instructor speaks, the executor answers, the task graph moves.

Each turn the instructor speaks; unless it said the done token, the executor answers. The
done token closes the current subtask and the next ready one starts (the instructor is told
which in a note); a subtask that used up its turn allowance fails, and what depends on it is
skipped. The conversation ends when no subtask is left: ``task_done`` for a single task,
``graph_complete`` for a plan.
"""

from __future__ import annotations

from collections.abc import Callable

from rolecall.agents.roleplay_agents import Executor, Instructor
from rolecall.dialogue.policy import End, Speaker, TurnPolicy
from rolecall.prompts import prompt
from rolecall.tasks.graph import Subtask, TaskGraph
from rolecall.transcripts.record import SUCCESSFUL_ENDINGS, Message


class InstructorExecutor(TurnPolicy):
    """CAMEL's protocol over a task graph: instruction, solution, and the done token to move on."""

    endings = SUCCESSFUL_ENDINGS

    def __init__(
        self,
        instructor: Instructor,
        executor: Executor,
        graph: Callable[[], TaskGraph],
        *,
        planned: bool,
        note: Callable[[str], None],
    ) -> None:
        self.instructor = instructor
        self.executor = executor
        self.graph = graph  # the conversation's graph as it is now (a plan may replace the first one)
        self.planned = planned
        self.note = note  # records a note to the instructor, shown before its next turn

    async def next(self, last: Message | None) -> Speaker | End:
        if last is not None and last.role == "user" and not self.instructor.is_done(last.content):
            return Speaker(self.executor, "assistant", new_turn=False)  # an instruction: the executor answers it
        overdue = self._close_overdue_subtask()
        if overdue is not None:
            return overdue
        return Speaker(self.instructor, "user", new_turn=True)

    def begin_turn(self) -> None:
        active = self.graph().active
        if active is not None:
            active.turns += 1

    def heard(self, message: Message) -> End | None:
        if message.role != "user" or not self.instructor.is_done(message.content):
            return None
        graph = self.graph()
        active = graph.active
        if active is None:
            return End("task_done")
        graph.complete(active.id, result=f"done at turn {message.turn}")
        return self._advance(finished=active, outcome="done")

    def start_next(self) -> Subtask | None:
        graph = self.graph()
        subtask = graph.next_ready()
        return graph.start(subtask.id) if subtask is not None else None

    def _advance(self, *, finished: Subtask, outcome: str) -> End | None:
        """Start the next subtask and tell the instructor; the end when the graph is finished."""
        following = self.start_next()
        if following is None:
            progress = self.graph().progress()
            if not self.planned:
                return End("task_done")
            return End("graph_complete", detail=None if progress.done == progress.total else str(progress))
        self.note(prompt("next_subtask", {"finished": finished.title, "outcome": outcome, "subtask": following.title}))
        return None

    def _close_overdue_subtask(self) -> End | None:
        """Fail the active subtask if it used its turn allowance; the end when that finishes the graph."""
        graph = self.graph()
        active = graph.active
        if active is None or active.max_turns is None or active.turns < active.max_turns:
            return None
        skipped = graph.fail(active.id, result=f"no done token within {active.max_turns} turns")
        outcome = "out of turns and marked failed"
        if skipped:
            outcome += "; skipped as a result: " + ", ".join(f'"{other.title}"' for other in skipped)
        return self._advance(finished=active, outcome=outcome)
