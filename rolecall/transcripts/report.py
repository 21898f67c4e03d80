"""What a harvest is asked to do and what it did: its options and its report.

Kept apart from the harvest itself so the dataset card (which describes both) and the
harvest (which fills the report) depend on this module, not on each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rolecall.errors import SpecError
from rolecall.transcripts.dedup import DedupReport
from rolecall.transcripts.formats import FORMATS, Format, Loss
from rolecall.transcripts.marks import Verdict
from rolecall.transcripts.quality import DraftReader, QualityFloor, TurnReader


@dataclass(frozen=True)
class HarvestOptions:
    format: str = "openai"
    perspective: str = "assistant"
    loss: Loss = "all"
    floor: QualityFloor = field(default_factory=QualityFloor)
    near_dup: bool = True
    near_dup_threshold: float = 0.8
    train_share: float = 1.0
    seed: int = 0
    keep_rejected: bool = False
    #: Which turns are on task, by a judge (the caller makes it from one of rolecall.judges); None: the word counts.
    turn_reader: TurnReader | None = None
    #: The same judge's reading of drafts: preference pairs keep a chosen reply on task against a rejected one off.
    draft_reader: DraftReader | None = None
    judge: str = "lexical"  # the name of the judge behind ``turn_reader``, for the report and the card
    #: A reviewer's verdicts by conversation id (``rolecall view --review``): drop, or keep past the floor.
    marks: Mapping[str, Verdict] = field(default_factory=dict)

    @property
    def export(self) -> Format:
        """The format named by ``format``."""
        return FORMATS.get(self.format)()

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise SpecError(f"--format {self.format!r}: choose one of {', '.join(FORMATS)}")
        if not 0 < self.train_share <= 1:
            raise SpecError(f"--split {self.train_share}: give the train share, between 0 and 1 (e.g. 0.95)")
        if self.floor.content == "turns" and not self.export.per_turn:
            per_turn = [name for name, fmt in FORMATS.members().items() if fmt.per_turn]
            raise SpecError(
                f"--content-checks turns trains some turns and not others: use --format {', '.join(per_turn)}"
            )
        if not 0 < self.near_dup_threshold <= 1:
            raise SpecError(f"--near-dup-threshold {self.near_dup_threshold}: give a similarity between 0 and 1")


@dataclass
class HarvestReport:
    """What a harvest read, kept, dropped and wrote."""

    format: str
    perspective: str
    loss: str
    read: int = 0
    kept: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    conversations: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    malformed: list[str] = field(default_factory=list)
    secrets_scrubbed: int = 0
    dedup: DedupReport = field(default_factory=DedupReport)
    models: Counter[str] = field(default_factory=Counter)
    params: list[dict[str, Any]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    judge: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)
    #: Tool use in the kept conversations: calls by tool, and how many failed.
    tool_calls: Counter[str] = field(default_factory=Counter)
    tool_errors: int = 0
    #: Conversations kept because a reviewer marked them keep although the floor would have dropped them.
    kept_by_mark: int = 0
    #: Preference pairs written (the ``dpo`` format), by source: ``guard:NAME``, ``critic_pick``, ``critic_review``.
    pairs: Counter[str] = field(default_factory=Counter)
    #: The trained agent's turns left untrained (context only) by the content checks by turn, by reason.
    untrained: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "perspective": self.perspective,
            "loss": self.loss,
            "read": self.read,
            "malformed_lines": len(self.malformed),
            "malformed": self.malformed[:100],
            "kept": self.kept,
            "conversations": dict(self.conversations),
            "rows": dict(self.rows),
            "dropped": dict(sorted(self.dropped.items())),
            "dedup": self.dedup.as_dict(),
            "secrets_scrubbed": self.secrets_scrubbed,
            "models": dict(self.models),
            "params": self.params,
            "mean_score": round(sum(self.scores) / len(self.scores), 4) if self.scores else None,
            "judge": self.judge,
            "files": self.files,
            "tool_calls": dict(self.tool_calls),
            "tool_errors": self.tool_errors,
            "kept_by_mark": self.kept_by_mark,
            "pairs": dict(self.pairs),
            "untrained_turns": dict(self.untrained),
        }
