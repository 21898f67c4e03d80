"""The lexical judge: rolecall's word-count content checks behind the judge interface.

It reads markers, word overlap and a few phrasings (:mod:`rolecall.transcripts.content`), so
it is fast (the 100,000-conversation harvest bench runs on it) and blind to meaning: it passes
fluent text about another task and flags good short questions that share no word with the
task. ``rolecall judge calibrate`` shows how far it is from the labels; it is never the
default where quality is decided.
"""

from __future__ import annotations

from collections.abc import Sequence

from rolecall.judges.base import Judge, TurnInContext, Verdict, register_judge
from rolecall.transcripts.content import problem

#: A done token no turn holds: done turns never reach a judge (``judge_dialogue`` decides them).
_NO_DONE = "\x00no-done-token\x00"


def word_count_reason(turn: TurnInContext) -> str | None:
    """Why the content checks call ``turn`` off task, or None (the reason the other judges name too)."""
    return problem(turn.text, turn.side, turn.context, _NO_DONE)


@register_judge
class LexicalJudge(Judge):
    """Word counts and markers: rolecall's content checks (off_topic, repeated, promise, ...). Fast, blind to
    meaning."""

    name = "lexical"

    async def verdicts(self, turns: Sequence[TurnInContext]) -> list[Verdict]:
        return [self.read(turn) for turn in turns]

    def read(self, turn: TurnInContext) -> Verdict:
        reason = word_count_reason(turn)
        return self.verdict(reason is None, 1.0 if reason is None else 0.0, reason)
