"""The switch that says which model endpoints this process may reach: any (the default), or only those allowed.

Tests turn it to "only the servers started here" (:func:`only_allowed`): a fake OpenAI server
and the embedded model's server note their own address as they start (:func:`allow`), so a
test that reaches any other model, without saying so, is caught. Every request to a model asks
:func:`check_request` first; a refused one raises :class:`ModelRequestRefused` and is remembered
(:func:`refused`), so the test fails even when the conversation saved the error and went on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from rolecall.errors import RunError

_started: set[str] = set()  # the servers this process started (fake ones, the embedded model)
_only_started = False  # True: every other endpoint is refused
_refused: list[str] = []


class ModelRequestRefused(RunError):
    """A request to a model endpoint that this process was not allowed to reach."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def allow(url: str) -> None:
    """Note ``url``'s server as one this process started: it may always be reached."""
    _started.add(_origin(url))


def check_request(url: str) -> None:
    """Raise :class:`ModelRequestRefused` when ``url`` may not be reached now."""
    if _only_started and _origin(url) not in _started:
        _refused.append(url)
        raise ModelRequestRefused(
            f"a request to the model at {url} was refused: only servers started here may be reached "
            "(a test that means to reach another says so with @pytest.mark.model_requests)"
        )


@contextmanager
def only_allowed() -> Iterator[list[str]]:
    """Within the block, only servers noted by :func:`allow` may be reached; yields the refused URLs."""
    global _only_started  # noqa: PLW0603 - one switch per process
    saved = _only_started
    _only_started = True
    _refused.clear()
    try:
        yield _refused
    finally:
        _only_started = saved


def only_started() -> bool:
    """Whether the switch is on: only servers started here may be reached."""
    return _only_started


def refused() -> list[str]:
    """The URLs refused since the switch was last turned."""
    return list(_refused)
