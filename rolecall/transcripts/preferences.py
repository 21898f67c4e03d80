"""Preference pairs from what a conversation already recorded, for DPO-style training.

Three records hold a better and a worse reply to the same moment of a conversation:

* ``guard:NAME``: a draft the guard rejected (the event's ``rejected`` text) against the reply
  accepted after the re-ask;
* ``critic_pick``: the candidate the critic chose against each one it passed over;
* ``critic_review``: a reply the critic sent back against the reply it approved.

A pair's prompt is the trained agent's chat up to that reply (its system prompt first), so
perspective and the quality floor apply as for the other formats. Given a judge's reading of
drafts (a :data:`~rolecall.transcripts.quality.DraftReader`), a pair is kept only when the
judge calls the chosen reply on task and the rejected one off: a guard's re-ask or a critic's
preference is not by itself proof that one reply is better. Rows follow TRL's
conversational preference format: ``prompt`` (messages), ``chosen`` and ``rejected`` (one
assistant message each), plus ``source``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rolecall.transcripts.perspective import Chat, Turn
from rolecall.transcripts.quality import DraftReader
from rolecall.transcripts.record import Transcript


@dataclass(frozen=True)
class Pair:
    """A better and a worse reply of the trained agent to the same prompt."""

    source: str
    prompt: list[Turn]
    chosen: str
    rejected: str
    message_index: int = -1  # the chosen reply's message in the transcript

    def row(self) -> dict[str, Any]:
        return {
            "prompt": [{"role": turn.role, "content": turn.content} for turn in self.prompt],
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
            "source": self.source,
        }


def _worse_replies(extra: dict[str, Any], kind: str, accepted: str) -> Iterator[tuple[str, str]]:
    """(source, worse reply) of one guard or critic event about a reply that was finally ``accepted``."""
    if kind == "guard" and extra.get("action") == "reask" and isinstance(extra.get("rejected"), str):
        yield f"guard:{extra.get('guard')}", extra["rejected"]
    elif kind == "critic" and extra.get("mode") == "pick":
        candidates, choice = extra.get("candidates"), extra.get("choice")
        if (
            isinstance(candidates, list) and isinstance(choice, int) and 0 <= choice < len(candidates)
            and candidates[choice] == accepted
        ):  # fmt: skip
            yield from (("critic_pick", str(other)) for n, other in enumerate(candidates) if n != choice)
    elif kind == "critic" and extra.get("mode") == "review" and isinstance(extra.get("rejected"), str):
        yield "critic_review", extra["rejected"]


def pairs(transcript: Transcript, chat: Chat, judged: DraftReader | None = None) -> list[Pair]:
    """Every preference pair about a reply of ``chat``'s trained agent that the chat holds (with ``judged``: those
    whose chosen reply the judge calls on task and whose rejected reply it calls off)."""
    name = chat.agent.name
    events: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for event in transcript.events:
        extra = event.model_extra or {}
        if event.kind in ("guard", "critic") and extra.get("speaker") == name:
            events.setdefault(event.turn, []).append((event.kind, extra))
    found: list[Pair] = []
    used: set[int] = set()
    for message in transcript.spoken:
        if message.speaker != name or message.tool_calls or message.turn not in events:
            continue
        # the reply's place in the chat: the first unused answer with its text (answers are never merged)
        where = next(
            (n for n, turn in enumerate(chat.turns) if turn.role == "assistant" and n not in used
             and not turn.calls and turn.content == message.content),
            None,
        )  # fmt: skip
        if where is None:
            continue
        used.add(where)
        for kind, extra in events.pop(message.turn):
            for source, worse in _worse_replies(extra, kind, message.content):
                if worse.strip() and worse != message.content:
                    found.append(Pair(source, chat.turns[:where], message.content, worse, message.index))
    if judged is None or not found:
        return found
    readings = judged(transcript, [(p.message_index, text) for p in found for text in (p.chosen, p.rejected)])
    return [pair for number, pair in enumerate(found) if readings[2 * number] and not readings[2 * number + 1]]


def dpo_rows(transcript: Transcript, chat: Chat, judged: DraftReader | None = None) -> list[dict[str, Any]]:
    """The ``dpo`` format's rows of one conversation."""
    return [pair.row() for pair in pairs(transcript, chat, judged)]
