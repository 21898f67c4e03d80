"""How conversations look in a terminal: messages, transcripts, task graphs, timelines.

Only the CLI prints; these functions build rich renderables and leave printing to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from rolecall.errors import GraphError
from rolecall.tasks.graph import Subtask, TaskGraph
from rolecall.transcripts.record import HUMAN_MODEL, Event, Message, Transcript

SPEAKER_STYLES = ("bold cyan", "bold green", "bold magenta", "bold yellow", "bold blue", "bold red")
STATUS_MARKS = {
    "pending": ("○", "dim"),
    "active": ("▶", "yellow"),
    "done": ("✔", "green"),
    "failed": ("✘", "red"),
    "skipped": ("↷", "dim"),
}


def speaker_style(speaker: str, speakers: list[str]) -> str:
    """A stable colour per speaker, by order of first appearance."""
    if speaker not in speakers:
        speakers.append(speaker)
    return SPEAKER_STYLES[speakers.index(speaker) % len(SPEAKER_STYLES)]


def render_tool_message(message: Message, speakers: list[str]) -> RenderableType:
    """A tool call (``→ name(arguments)``) or a tool's result (``← name``), indented under its agent."""
    style = speaker_style(message.speaker, speakers).replace("bold ", "")
    if message.role == "tool":
        failed = message.error is not None
        head = Text.assemble(("  ← ", "dim"), (message.name or "tool", "bold red" if failed else "bold"))
        head.append(f"  {message.latency_ms:.0f} ms" + ("  failed" if failed else ""), style="dim")
        lines = message.content.splitlines() or [""]
        shown = "\n".join(f"    {line}" for line in lines[:12])
        if len(lines) > 12:
            shown += f"\n    … {len(lines) - 12} more lines"
        return Group(head, Text(shown, style="red" if failed else "dim"))
    parts: list[RenderableType] = []
    if message.content:
        parts.append(Text(f"  {message.content}", style=style))
    for call in message.tool_calls or ():
        parts.append(Text.assemble(("  → ", "dim"), (call.name, f"bold {style}"), f"({call.arguments_text()})"))
    return Group(*parts)


def render_message(message: Message, speakers: list[str]) -> RenderableType:
    """One message as a titled panel (the footer holds the facts of the call); tool calls and results as lines."""
    if not message.is_dialogue or message.tool_calls:
        return render_tool_message(message, speakers)
    style = speaker_style(message.speaker, speakers)
    title = Text.assemble((f"turn {message.turn} · ", "dim"), (message.speaker, style))
    facts = [f"{message.usage.completion_tokens} tok", f"{message.latency_ms:.0f} ms"]
    if message.model == HUMAN_MODEL:
        facts = [f"typed in {message.latency_ms / 1000:.1f} s"]
    if message.first_token_ms is not None:
        facts.append(f"first token {message.first_token_ms:.0f} ms")
    if message.retries:
        facts.append(f"{message.retries} retries")
    if message.finish_reason not in (None, "stop"):
        facts.append(f"finish: {message.finish_reason}")
    body = Text(message.content) if message.content else Text("(empty reply)", style="italic red")
    return Panel(
        body,
        title=title,
        title_align="left",
        subtitle=Text(" · ".join(facts), style="dim"),
        subtitle_align="right",
        border_style=style.replace("bold ", ""),
    )


def render_ending(transcript: Transcript) -> RenderableType:
    """A one-line summary of how a conversation ended."""
    termination = transcript.termination
    reason = termination.reason if termination else "unfinished"
    style = "green" if transcript.status == "ok" else "red"
    usage = transcript.usage
    line = Text.assemble(
        ("ended: ", "bold"),
        (reason, f"bold {style}"),
        (f" at turn {termination.turn if termination else '?'}", ""),
        (f" · {len(transcript.spoken)} messages", "dim"),
        (f" · {usage.prompt_tokens + usage.completion_tokens} tokens", "dim"),
        (f" · id {transcript.id}", "dim"),
    )
    if termination and termination.detail:
        line.append(f"\n{termination.detail}", style="dim")
    return line


def render_transcript(transcript: Transcript) -> RenderableType:
    """A whole saved conversation: header, messages, graph if planned, ending."""
    header = Table.grid(padding=(0, 2))
    header.add_row(Text("task", style="bold"), Text(transcript.task.original))
    if transcript.task.specified:
        header.add_row(Text("specified", style="bold"), Text(transcript.task.specified))
    for agent in transcript.agents:
        tools = f" · tools: {', '.join(tool.name for tool in agent.tools)}" if agent.tools else ""
        header.add_row(Text(agent.kind, style="bold"), Text(f"{agent.name} ({agent.model or 'no model'}){tools}"))
    speakers: list[str] = []
    parts: list[RenderableType] = [header]
    parts += [render_message(message, speakers) for message in transcript.messages]
    if transcript.planned:
        try:
            parts.append(render_graph(TaskGraph.from_node_link(transcript.task_graph or {})))
        except GraphError as exc:
            parts.append(Text(f"task graph unreadable: {exc}", style="red"))
    parts.append(render_ending(transcript))
    return Group(*parts)


def _subtask_line(subtask: Subtask) -> Text:
    mark, style = STATUS_MARKS[subtask.status]
    line = Text.assemble((f"{mark} ", style), (subtask.title, style if subtask.status != "active" else "bold"))
    line.append(f"  [{subtask.id}]", style="dim")
    if subtask.result and subtask.status in ("failed", "skipped"):
        line.append(f"  {subtask.result}", style="dim")
    return line


def render_graph(graph: TaskGraph) -> RenderableType:
    """The graph as a tree (a subtask under each subtask it waits on) with a progress bar."""
    progress = graph.progress()
    root = Tree(Text(f"subtasks · {progress}", style="bold"), guide_style="dim")
    branches: dict[str, Tree] = {}
    for subtask in graph:
        parent = branches.get(subtask.after[-1], root) if subtask.after else root
        branches[subtask.id] = parent.add(_subtask_line(subtask))
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=max(progress.total, 1), completed=progress.finished, width=40),
        f"{progress.finished}/{progress.total}",
    )
    return Group(root, bar)


def render_timeline(events: Iterable[Event]) -> RenderableType:
    """Task status changes over turns, replayed from a transcript's events."""
    table = Table("turn", "subtask", "status", box=None, header_style="bold")
    for event in events:
        if event.kind != "task_status":
            continue
        extra: dict[str, Any] = event.model_extra or {}
        status = str(extra.get("status"))
        mark, style = STATUS_MARKS.get(status, ("?", ""))
        table.add_row(str(event.turn), escape(str(extra.get("task"))), Text(f"{mark} {status}", style=style))
    return table


def render_listing(transcripts: Iterable[Transcript]) -> RenderableType:
    """One row per conversation in a file."""
    table = Table("id", "roles", "task", "ended", "turns", header_style="bold")
    for transcript in transcripts:
        roles = " / ".join(agent.role for agent in transcript.agents if agent.kind in ("user", "assistant"))
        reason = transcript.termination.reason if transcript.termination else "unfinished"
        turns = str(transcript.messages[-1].turn) if transcript.messages else "0"
        table.add_row(transcript.id, roles, transcript.task.original[:50], reason, turns)
    return table
