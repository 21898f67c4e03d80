"""Tools agents call while they work: typed Python functions, built-ins, and MCP servers' tools.

>>> @tool
... def cost(grams: float, price_per_kg: float) -> float:
...     '''What an amount of an ingredient costs.'''
...     return grams / 1000 * price_per_kg
>>> RolePlay(task, assistant_role="Accountant", user_role="Baker",
...          assistant_tools=[cost, "calculator", "python"], model=model)   # doctest: +SKIP
"""

from rolecall.tools.base import BadArguments, FunctionTool, Tool, ToolError, tool
from rolecall.tools.builtin import BUILTINS, BuiltinTool, register_builtin
from rolecall.tools.builtin.calculator import Calculator
from rolecall.tools.builtin.notes import Notebook
from rolecall.tools.builtin.python import PythonSandbox
from rolecall.tools.mcp import McpServerSpec
from rolecall.tools.toolbox import Toolbox, Toolkit, ToolResult, ToolSource

__all__ = [
    "BUILTINS",
    "BadArguments",
    "BuiltinTool",
    "Calculator",
    "FunctionTool",
    "McpServerSpec",
    "Notebook",
    "PythonSandbox",
    "Tool",
    "ToolError",
    "ToolResult",
    "ToolSource",
    "Toolbox",
    "Toolkit",
    "register_builtin",
    "tool",
]
