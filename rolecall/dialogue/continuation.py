"""What every resumed conversation shares: whether it can go on, its new id, and the limits it goes on with.

A conversation that ended by finishing its task cannot be resumed; one with no saved message
has nothing to resume from. The continuation gets the id ``<old id>-r<n>``, the saved settings
(a caller's options change any of them), and limits that count *beyond* what was already
spent: ``max_turns`` more turns, ``token_budget`` more tokens (by default the original ones again).
"""

from __future__ import annotations

from typing import Any

from rolecall.errors import SpecError
from rolecall.settings import Settings
from rolecall.transcripts.record import SUCCESSFUL_ENDINGS, Transcript


def check_resumable(transcript: Transcript) -> None:
    """A one-line ``SpecError`` when ``transcript`` finished its task or saved nothing to go on from."""
    reason = transcript.termination.reason if transcript.termination else None
    if reason in SUCCESSFUL_ENDINGS:
        raise SpecError(f"conversation {transcript.id} already ended with {reason}; nothing to resume")
    if transcript.task_graph is None or not transcript.messages:
        raise SpecError(f"conversation {transcript.id} has no saved progress to resume from")


def continued_id(transcript: Transcript) -> str:
    """``<base id>-r<n+1>``: each continuation of a conversation is numbered after the one it continues."""
    base_id, _, generation = transcript.id.partition("-r")
    return f"{base_id}-r{int(generation) + 1 if generation.isdigit() else 1}"


def continued_settings(
    transcript: Transcript, *, max_turns: int | None = None, token_budget: int | None = None
) -> tuple[Settings, dict[str, Any]]:
    """The saved settings, and the limits (as options) that allow ``max_turns`` and ``token_budget`` more."""
    check_resumable(transcript)
    saved = Settings.saved(
        transcript.settings, limits=transcript.limits, seed=transcript.seed, done_token=transcript.done_token
    )
    turn = transcript.messages[-1].turn
    spent = transcript.usage.prompt_tokens + transcript.usage.completion_tokens
    extra_budget = token_budget if token_budget is not None else saved.token_budget
    limits = {
        "max_turns": turn + (max_turns or saved.max_turns),
        "token_budget": spent + extra_budget if extra_budget is not None else None,
    }
    return saved, limits
