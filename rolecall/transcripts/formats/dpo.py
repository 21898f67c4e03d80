"""The ``dpo`` format: preference pairs from rejected drafts and the critic's choices, for TRL's DPO.

Each row is ``{"prompt": [...], "chosen": [...], "rejected": [...], "source"}``, TRL's
conversational preference format; :mod:`rolecall.transcripts.preferences` finds the pairs.
The harvest report counts rows by ``source`` and the dataset card has a section on them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rolecall.transcripts.formats.base import Format, Kept, register_format
from rolecall.transcripts.preferences import dpo_rows


@register_format
class DPO(Format):
    """{"prompt", "chosen", "rejected", "source"}: a better and a worse reply to the same moment."""

    name = "dpo"
    drops = "every turn that no guard or critic judged (only pairs are rows); tool calls and results"

    def rows(self, kept: Kept) -> list[dict[str, Any]]:
        return dpo_rows(kept.transcript, kept.chat, kept.judged)

    def source_of(self, row: dict[str, Any]) -> str:
        return str(row["source"])

    def card_section(self, sources: Counter[str]) -> str:
        counts = ", ".join(f"{source}: {count}" for source, count in sources.most_common()) or "none"
        return f"""## Preference pairs

{sum(sources.values())} pairs ({counts}). `guard:NAME`: a draft that guard rejected, against the reply
accepted after the re-ask; `critic_pick`: the critic's chosen candidate against each one it passed over;
`critic_review`: a reply the critic sent back, against the one it approved. Each row's `prompt` is the trained
agent's conversation up to that reply; `chosen` and `rejected` are one assistant message each (TRL's
conversational preference format); `source` says which record the pair came from.

"""
