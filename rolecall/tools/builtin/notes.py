"""The ``notes`` tool: a scratchpad the agents of one conversation share.

An agent adds a line (a figure it worked out, a decision) and any agent with the tool reads
them all back later, so what was settled early is not lost to a short context window. The
notebook lives as long as its conversation; its lines are in the transcript as tool results.
"""

from __future__ import annotations

from typing import Literal

from rolecall.settings import ToolSettings
from rolecall.tools.base import FunctionTool, Tool, ToolError
from rolecall.tools.builtin.base import BuiltinTool, register_builtin

MAX_NOTES = 200
MAX_NOTE_CHARS = 2000


class Notebook:
    """The lines written so far in one conversation, oldest first."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def tool(self) -> FunctionTool:
        """The ``notes`` tool over this notebook."""

        def notes(action: Literal["add", "read"], text: str = "") -> str:
            """Share notes with the other agents of this conversation: 'add' a line of text, or 'read' them all.

            Args:
                action: add to write the text as a new note; read to get every note so far
                text: the note to add (for add)
            """
            if action == "read":
                if not self.lines:
                    return "no notes yet"
                return "\n".join(f"{number}. {line}" for number, line in enumerate(self.lines, 1))
            line = " ".join(text.split())
            if not line:
                raise ToolError("give the text of the note to add")
            if len(self.lines) >= MAX_NOTES:
                raise ToolError(f"the notebook is full ({MAX_NOTES} notes)")
            self.lines.append(line[:MAX_NOTE_CHARS])
            return f"noted ({len(self.lines)} notes)"

        made = FunctionTool(notes)
        made.source = "notes"
        return made

    def __repr__(self) -> str:
        return f"<Notebook {len(self.lines)} lines>"


@register_builtin
class NotesBuiltin(BuiltinTool):
    """``notes`` in a spec: one :class:`Notebook` per conversation, shared by every agent that names it."""

    name = "notes"
    description = "a scratchpad the agents of one conversation share"

    def __init__(self, settings: ToolSettings) -> None:
        super().__init__(settings)
        self.notebook = Notebook()

    def tools(self) -> list[Tool]:
        return [self.notebook.tool()]
