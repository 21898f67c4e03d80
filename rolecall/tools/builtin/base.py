"""What a built-in tool is, and the one registry that rolecall's built-ins and users' plugins join alike.

A spec names a built-in by a word (``tools: [calculator, notes]``). Each word is a
:class:`BuiltinTool` in :data:`BUILTINS`: rolecall's own are the modules of this package, each
one file that registers its class by :func:`register_builtin`, found the first time the
registry is read; an installed package joins by the entry point group ``rolecall.tools``::

    [project.entry-points."rolecall.tools"]
    clock = "my_package.tools:Clock"

A conversation's toolkit makes one instance of each built-in its agents name, with the
conversation's :class:`ToolSettings`, and asks it for the tools of every agent that names it:
what the instance keeps (the ``notes`` notebook) is shared by those agents and ends with the
conversation. A name that is not registered is a one-line ``SpecError``, never another tool.
"""

from __future__ import annotations

from typing import ClassVar

from rolecall.registry import Registry
from rolecall.settings import ToolSettings
from rolecall.tools.base import Tool

ENTRY_POINT_GROUP = "rolecall.tools"


class BuiltinTool:
    """A tool a spec names by a word. Subclass, set ``name`` and ``description``, write :meth:`tools`, register.

    ``description`` is one line for people choosing tools; what the model reads is each
    made tool's own description. The tools made are recorded with the built-in's name as
    their source, so a resumed conversation names the built-in again.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, settings: ToolSettings) -> None:
        """One instance per conversation that names the built-in, with that conversation's tool settings."""
        self.settings = settings

    def tools(self) -> list[Tool]:
        """The tools of one agent that names this built-in (asked once for each such agent)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Free what the instance holds when its conversation ends (optional; nothing by default)."""
        return None


#: Every built-in tool by name: this package's modules, then installed packages' (entry points).
BUILTINS: Registry[BuiltinTool] = Registry(
    "built-in tool",
    ENTRY_POINT_GROUP,
    BuiltinTool,
    name_of=lambda builtin: builtin.name,
    package="rolecall.tools.builtin",
)


def register_builtin(builtin: type[BuiltinTool]) -> type[BuiltinTool]:
    """Add ``builtin`` to :data:`BUILTINS` (usable as a class decorator); a spec may name it from then on."""
    return BUILTINS.register(builtin)
