"""Values a developer builds by hand: their constructors raise rolecall's ``SpecError``, on one line.

pydantic reports a bad value with its own ``ValidationError``, many lines long. rolecall's
public configuration values (``Settings`` and its sections, ``GenerationParams``, ``Price``,
``Role``, ``Member``, ``TurnSettings``) derive from :class:`Checked`, so ``Settings(max_turns=0)``
raises ``SpecError("max_turns: Input should be greater than 0")`` like a spec file would.
``model_validate`` still raises pydantic's ``ValidationError`` (carrying the same line), for
code written against pydantic.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ValidationError

from rolecall.errors import SpecError, shorten


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem of a pydantic error as 'field.path: what is wrong', on one line."""
    first = exc.errors()[0]
    inner = (first.get("ctx") or {}).get("error")
    if isinstance(inner, SpecError):  # a Checked value inside already said it in full
        path = ".".join(shorten(part, 40) for part in first["loc"])
        return f"{path}: {inner}" if path else str(inner)
    where = ".".join(shorten(part, 40) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "missing (required)"
    return f"{where}: {message}"


#: How many Checked constructors are running: pydantic calls a custom ``__init__`` for nested values too.
_depth: ContextVar[int] = ContextVar("checked_depth", default=0)


def require_text_keys(data: Any, where: str = "") -> None:
    """A ``SpecError`` naming the first mapping key in ``data`` that is not text (YAML allows any).

    Checked values are built with keyword arguments, so every key on the way must be a string.
    """
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise SpecError(f"{where or '(top level)'}: the key {shorten(key, 40)} is not text")
            require_text_keys(value, f"{where}.{shorten(key, 40)}" if where else shorten(key, 40))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            require_text_keys(item, f"{where}.{index}" if where else str(index))


class Checked(BaseModel):
    """A pydantic value whose construction raises ``SpecError`` instead of ``ValidationError``.

    Only the outermost value converts the error, so the field path it names is complete.
    """

    def __init__(self, /, **data: Any) -> None:
        token = _depth.set(_depth.get() + 1)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if _depth.get() > 1:
                raise
            raise SpecError(describe_validation_error(exc)) from None
        finally:
            _depth.reset(token)
