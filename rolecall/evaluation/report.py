"""Scorecards as people read them: a terminal table, and the Markdown tables of docs/on_task.md."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table

from rolecall.evaluation.scoring import Scorecard, SideScore
from rolecall.transcripts.content import REASONS, summary


def _share(side: SideScore, which: str) -> str:
    on = side.first_on if which == "first" else side.final_on
    return f"{100 * side.share(which):.0f}% ({on}/{side.slots})"


def render(card: Scorecard) -> RenderableType:
    """One scorecard as rich tables: shares per side, why turns were off task, how conversations ended."""
    shares = Table("side", "first drafts on task", "final turns on task", "turns written", title=card.label)
    for name, side in card.sides.items():
        shares.add_row(name, _share(side, "first"), _share(side, "final"), f"{side.written} of {side.slots}")
    shares.add_row(
        "both", f"{100 * card.share('first'):.0f}%", f"{100 * card.share('final'):.0f}%", str(card.turns), style="bold"
    )
    reasons = Table("side", "first drafts off task, by reason", "final turns off task, by reason", show_lines=True)
    for name, side in card.sides.items():
        reasons.add_row(name, summary(side.first_off), summary(side.final_off))
    seen = set().union(*(side.first_off.keys() | side.final_off.keys() for side in card.sides.values()))
    legend = Table("reason", "meaning", header_style="dim", style="dim")
    for name in sorted(seen & REASONS.keys()):
        legend.add_row(name, REASONS[name])
    facts = Table(show_header=False, box=None)
    facts.add_row("conversations", f"{card.conversations} ({card.successes} succeeded after real work)")
    facts.add_row("endings", summary(card.endings))
    facts.add_row("re-asks per turn", f"{card.reasks_per_turn:.2f} ({card.reasks} in all)")
    facts.add_row("tokens", f"{card.prompt_tokens:,} prompt, {card.completion_tokens:,} completion")
    facts.add_row("minutes", f"{card.minutes:.1f} ({card.conversation_minutes:.1f} conversation-minutes)")
    return Group(shares, reasons, legend, facts)


def markdown(cards: Sequence[Scorecard]) -> str:
    """Scorecards side by side as Markdown: shares, then endings, then reasons."""
    lines = [
        "| configuration | first drafts on task: instructor / executor / both | final turns on task: "
        "instructor / executor / both | succeeded | re-asks per turn | tokens | conversation-minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    for card in cards:
        instructor, executor = card.sides["instructor"], card.sides["executor"]
        lines.append(
            f"| {card.label} | {_share(instructor, 'first')} / {_share(executor, 'first')} / "
            f"**{100 * card.share('first'):.0f}%** | {_share(instructor, 'final')} / {_share(executor, 'final')} / "
            f"**{100 * card.share('final'):.0f}%** | {card.successes}/{card.conversations} | "
            f"{card.reasks_per_turn:.2f} | {card.prompt_tokens + card.completion_tokens:,} | "
            f"{card.conversation_minutes:.1f} |"
        )
    endings = sorted(set().union(*(card.endings for card in cards)))
    lines += ["", "| configuration | " + " | ".join(endings) + " |", "|---|" + "---|" * len(endings)]
    lines += [f"| {card.label} | " + " | ".join(str(card.endings[name]) for name in endings) + " |" for card in cards]
    lines += ["", "| configuration | side | first drafts off task | final turns off task |", "|---|---|---|---|"]
    for card in cards:
        for name, side in card.sides.items():
            lines.append(f"| {card.label} | {name} | {summary(side.first_off)} | {summary(side.final_off)} |")
    return "\n".join(lines) + "\n"
