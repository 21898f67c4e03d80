"""Corpus statistics: counts and distributions over many transcripts, as a table or a plot.

Streams the files once. ``render`` gives a rich table; ``plot`` writes the distributions as
a self-contained HTML page (inline SVG, no dependency) or, with matplotlib, a PNG.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table

from rolecall._secrets import write_text
from rolecall.errors import SpecError
from rolecall.transcripts.content import Reading
from rolecall.transcripts.quality import TurnReader, content_verdicts
from rolecall.transcripts.record import SUCCESSFUL_ENDINGS, Transcript


@dataclass
class CorpusStats:
    conversations: int = 0
    messages: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_unknown: int = 0
    turns: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    guards: Counter[str] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)
    malformed: int = 0
    tool_calls: Counter[str] = field(default_factory=Counter)  # by tool
    tool_errors: Counter[str] = field(default_factory=Counter)  # by tool
    calling_turns: int = 0  # turns in which an agent called at least one tool
    judge: str = "lexical"  # the judge that read which turns are on task
    judged: Counter[str] = field(default_factory=Counter)  # instructor / executor turns read
    on_task: Counter[str] = field(default_factory=Counter)  # of those, on task
    off_reasons: Counter[str] = field(default_factory=Counter)  # why the others were not

    def add(self, transcript: Transcript, read: TurnReader = content_verdicts) -> None:
        self.conversations += 1
        self.messages += len(transcript.spoken)
        self.failed += transcript.status == "failed"
        usage = transcript.usage
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.tokens.append(usage.prompt_tokens + usage.completion_tokens)
        if usage.cost_usd is None:
            self.cost_unknown += 1
        else:
            self.cost_usd += usage.cost_usd
        self.turns.append(transcript.messages[-1].turn if transcript.messages else 0)
        verdicts = read(transcript) if {"user", "assistant"} <= {agent.kind for agent in transcript.agents} else {}
        sides = Reading.of(transcript).sides
        for message in transcript.spoken:
            if message.index in verdicts:
                side = "instructor" if sides.get(message.speaker) == "user" else "executor"
                reason = verdicts[message.index]
                self.judged[side] += 1
                self.on_task[side] += reason is None
                if reason is not None:
                    self.off_reasons[reason] += 1
        self.reasons[ending(transcript, verdicts)] += 1
        for event in transcript.events:
            extra = event.model_extra or {}
            if event.kind == "guard":
                self.guards[f"{extra.get('guard')}:{extra.get('action')}"] += 1
        for message in transcript.spoken:
            self.models[message.model or "unknown"] += 1
        results = transcript.tool_results
        for result in results:
            self.tool_calls[result.name or "?"] += 1
            self.tool_errors[result.name or "?"] += result.error is not None
        self.calling_turns += len({(result.turn, result.speaker) for result in results})

    @property
    def calls_per_turn(self) -> float:
        """Tool calls per turn in which tools were called."""
        return sum(self.tool_calls.values()) / self.calling_turns if self.calling_turns else 0.0


def ending(transcript: Transcript, verdicts: dict[int, str | None] | None = None) -> str:
    """How a conversation ended; a role-play declared done before any solution did real work (by ``verdicts``,
    else the word counts) is not a success."""
    reason = transcript.termination.reason if transcript.termination else "unfinished"
    kinds = {agent.kind for agent in transcript.agents}
    if reason in SUCCESSFUL_ENDINGS and {"user", "assistant"} <= kinds:
        verdicts = verdicts if verdicts is not None else content_verdicts(transcript)
        executor = {agent.name for agent in transcript.agents if agent.kind == "assistant"}
        worked = any(
            verdicts.get(message.index, "") is None for message in transcript.spoken if message.speaker in executor
        )
        if not worked:
            return f"{reason}_without_work"
    return reason


def collect(
    transcripts: Iterable[Transcript], read: TurnReader = content_verdicts, judge: str = "lexical"
) -> CorpusStats:
    """The statistics of ``transcripts``; ``read`` (a judge's reading, named ``judge``) says which turns are on task."""
    stats = CorpusStats(judge=judge)
    for transcript in transcripts:
        stats.add(transcript, read)
    return stats


def render(stats: CorpusStats) -> RenderableType:
    """The statistics as rich tables."""
    summary = Table("", "value", title="corpus", header_style="bold", show_header=False)
    turns = stats.turns or [0]
    summary.add_row("conversations", f"{stats.conversations} ({stats.failed} failed)")
    summary.add_row("messages", str(stats.messages))
    summary.add_row("turns per conversation", f"mean {statistics.fmean(turns):.1f}, median {statistics.median(turns)}")
    summary.add_row("prompt / completion tokens", f"{stats.prompt_tokens:,} / {stats.completion_tokens:,}")
    cost = f"${stats.cost_usd:.4f}" + (f" (+{stats.cost_unknown} without a price)" if stats.cost_unknown else "")
    summary.add_row("cost", cost)
    if stats.malformed:
        summary.add_row("unreadable lines", str(stats.malformed))
    for side in ("instructor", "executor"):
        if stats.judged[side]:
            share = stats.on_task[side] / stats.judged[side]
            summary.add_row(
                f"{side} turns on task ({stats.judge})", f"{stats.on_task[side]} of {stats.judged[side]} ({share:.0%})"
            )
    if stats.tool_calls:
        calls, errors = sum(stats.tool_calls.values()), sum(stats.tool_errors.values())
        summary.add_row("tool calls", f"{calls} ({errors} failed), {stats.calls_per_turn:.2f} per calling turn")
    parts: list[RenderableType] = [summary]
    if stats.tool_calls:
        table = Table("tool", "calls", "errors", "error share", header_style="bold")
        for name, count in stats.tool_calls.most_common():
            errors = stats.tool_errors[name]
            table.add_row(name, str(count), str(errors), f"{100 * errors / count:.0f}%")
        parts.append(table)
    off_task = (f"off task ({stats.judge})", stats.off_reasons)
    for title, counter in (
        ("termination", stats.reasons),
        ("guard verdicts", stats.guards),
        off_task,
        ("models", stats.models),
    ):
        if counter:
            table = Table(title, "count", "share", header_style="bold")
            total = sum(counter.values())
            for key, count in counter.most_common():
                table.add_row(key, str(count), f"{100 * count / total:.0f}%")
            parts.append(table)
    return Group(*parts)


def _histogram(values: list[int], bins: int = 12) -> list[tuple[str, int]]:
    if not values:
        return []
    low, high = min(values), max(values)
    width = max(1, -(-(high - low + 1) // bins))
    counts: Counter[int] = Counter((value - low) // width for value in values)
    return [(f"{low + i * width}-{low + (i + 1) * width - 1}", counts[i]) for i in range(max(counts) + 1)]


def charts(stats: CorpusStats) -> list[tuple[str, list[tuple[str, int]]]]:
    return [
        ("Termination reasons", stats.reasons.most_common()),
        ("Turns per conversation", _histogram(stats.turns)),
        ("Tokens per conversation", _histogram(stats.tokens)),
        ("Guard verdicts", stats.guards.most_common()),
        *([("Tool calls", stats.tool_calls.most_common())] if stats.tool_calls else []),
    ]


def svg_bars(rows: list[tuple[str, int]]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    top = max(count for _, count in rows) or 1
    height = 22 * len(rows) + 10
    bars = []
    for i, (label, count) in enumerate(rows):
        y = 5 + 22 * i
        width = 360 * count / top
        bars.append(
            f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label)}</text>'
            f'<rect x="190" y="{y}" width="{width:.1f}" height="16" fill="#4c6ef5"/>'
            f'<text x="{195 + width:.1f}" y="{y + 13}" font-size="11">{count}</text>'
        )
    return f'<svg width="600" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'


def plot(stats: CorpusStats, path: Path) -> None:
    """Write the distributions to ``path``: ``.html`` (no dependency) or ``.png`` (matplotlib)."""
    if path.suffix.lower() in (".html", ".htm"):
        sections = "".join(f"<h2>{title}</h2>{svg_bars(rows)}" for title, rows in charts(stats))
        write_text(
            path,
            f"<!doctype html><meta charset='utf-8'><title>rolecall stats</title>"
            f"<body style='font-family:sans-serif'><h1>{stats.conversations} conversations</h1>{sections}</body>\n",
        )
        return
    if path.suffix.lower() != ".png":
        raise SpecError(f"--plot {path}: give a .html or .png file")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError(
            "--plot FILE.png needs matplotlib: pip install 'rolecall[plot]', or give a .html file"
        ) from None
    drawn = charts(stats)
    figure, axes = plt.subplots((len(drawn) + 1) // 2, 2, figsize=(12, 4 * ((len(drawn) + 1) // 2)))
    for number, axis in enumerate(axes.flat):
        if number >= len(drawn):
            axis.set_visible(False)
            continue
        title, rows = drawn[number]
        axis.barh([label for label, _ in rows][::-1], [count for _, count in rows][::-1], color="#4c6ef5")
        axis.set_title(title)
    figure.suptitle(f"{stats.conversations} conversations")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
