"""Judges: whether each turn of a role-play is on task, read by word counts, by the embedded model, or by any LLM.

Import a judge by name from :data:`JUDGES` (``JUDGES.get("probe")``), or make one with
:func:`open_judge`, which gives each judge what it needs (a chat model for ``llm``). The
built-ins join the registry on import, exactly as a plugin's judge does.
"""

from __future__ import annotations

from pathlib import Path

from rolecall.errors import SpecError
from rolecall.judges.base import (
    JUDGES,
    Dialogue,
    Judge,
    TurnInContext,
    Verdict,
    in_context,
    judge_dialogue,
    register_judge,
)
from rolecall.judges.lexical import LexicalJudge
from rolecall.judges.llm import LLMJudge
from rolecall.judges.probe import ProbeJudge
from rolecall.models.base import ChatModel

#: The judge every place that decides quality uses unless told otherwise: the best offline judge by calibration.
DEFAULT_JUDGE = "probe"


def open_judge(name: str = DEFAULT_JUDGE, *, model: ChatModel | None = None, weights: Path | None = None) -> Judge:
    """A judge by name: ``llm`` reads with ``model``; ``probe`` with ``weights`` (default: the shipped ones)."""
    kind = JUDGES.get(name)
    if kind is LLMJudge:
        if model is None:
            raise SpecError("the llm judge needs a model: give --base-url and --model (or OPENAI_BASE_URL)")
        return LLMJudge(model)
    if kind is ProbeJudge:
        return ProbeJudge(weights=weights)
    return kind()


__all__ = [
    "DEFAULT_JUDGE",
    "JUDGES",
    "Dialogue",
    "Judge",
    "LLMJudge",
    "LexicalJudge",
    "ProbeJudge",
    "TurnInContext",
    "Verdict",
    "in_context",
    "judge_dialogue",
    "open_judge",
    "register_judge",
]
