"""Train/validation splits by group, so that one task and role pair never straddles the split."""

from __future__ import annotations

import hashlib

from rolecall.transcripts.record import Transcript


def group_of(transcript: Transcript) -> str:
    """The group a conversation belongs to: its task and its (sorted) roles."""
    roles = sorted(agent.role for agent in transcript.agents if agent.kind in ("user", "assistant", "member"))
    return "\x1f".join([transcript.task.original.strip().lower(), *roles])


def split_of(group: str, train_share: float, seed: int) -> str:
    """``"train"`` or ``"validation"``, decided by a seeded hash of the group (stable across runs)."""
    digest = hashlib.blake2b(f"{seed}\x1f{group}".encode(), digest_size=8).digest()
    return "train" if int.from_bytes(digest) / 2**64 < train_share else "validation"
