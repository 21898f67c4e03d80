"""rolecall's built-in tools, one module each: a new built-in is one new file here, found by its registry.

``base`` defines :class:`BuiltinTool` and :data:`BUILTINS`; every other public module of this
package registers one built-in (``calculator``, ``notes``, ``python``) and is imported the first
time :data:`BUILTINS` is read, so nothing else names it.
"""

from rolecall.tools.builtin.base import BUILTINS, ENTRY_POINT_GROUP, BuiltinTool, register_builtin

__all__ = ["BUILTINS", "ENTRY_POINT_GROUP", "BuiltinTool", "register_builtin"]
