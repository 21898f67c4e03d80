"""rolecall's error tree, kept small so callers can tell mistakes from misfortune.

::

    RolecallError                 anything rolecall raises on purpose
    ├── SpecError                 bad input from the developer: spec, argument, file (exit 2)
    │   └── GraphError            an invalid task graph: cycle, unknown dependency, duplicate id
    └── RunError                  the run itself failed (exit 1)
        ├── ModelError            the model endpoint refused the request for good (400, 401, 404)
        ├── ModelUnavailableError the endpoint stayed unreachable after every retry
        ├── LocalModelError       the embedded model is missing or would not start
        └── BudgetExhausted       a batch's shared budget is spent; no further calls are made

Messages say what to do next, on one line. Constructors never log.
"""

from __future__ import annotations


class RolecallError(Exception):
    """Base class of every error rolecall raises on purpose; its message is always one line."""

    def __init__(self, message: str = "") -> None:
        super().__init__(one_line(str(message)))


class SpecError(RolecallError, ValueError):
    """The input is wrong: a spec field, a command-line value, a file that cannot be read."""


class GraphError(SpecError):
    """A task graph that cannot be run: a cycle, an unknown dependency, a duplicate id."""


class RunError(RolecallError):
    """The run failed for a reason outside the caller's input."""


class ModelError(RunError):
    """The endpoint answered with a permanent failure; retrying will not help."""


class ModelUnavailableError(RunError):
    """The endpoint kept failing with transient errors until the retries ran out."""


class LocalModelError(RunError):
    """The embedded model is not installed or its server would not start."""


class BudgetExhausted(RunError):
    """The batch's shared budget is spent; no further model calls are made."""


#: Every character that ends a line for ``str.splitlines``, written as its escape instead.
_LINE_BREAKS = str.maketrans({char: repr(char)[1:-1] for char in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


def one_line(text: str) -> str:
    """``text`` with its line breaks escaped: a message that stays one line whatever it quotes."""
    return text.translate(_LINE_BREAKS)


def shorten(value: object, limit: int = 60) -> str:
    """``value`` fit for a one-line message: on one line, cut to ``limit`` characters."""
    text = one_line(value if isinstance(value, str) else repr(value))
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
