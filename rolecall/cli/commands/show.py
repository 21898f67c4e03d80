"""``rolecall show``, ``rolecall tasks`` and ``rolecall schema``: saved conversations and their record, in the terminal.

rolecall show FILE_OR_DIR [--id ID]
rolecall tasks FILE_OR_DIR [--id ID] [--mermaid]
rolecall schema
"""

from __future__ import annotations

import argparse
import json

from rich.console import Console

from rolecall.cli import options
from rolecall.cli.command import EXIT_OK, Command, register_command
from rolecall.errors import SpecError
from rolecall.tasks.graph import TaskGraph
from rolecall.terminal.render import render_graph, render_listing, render_timeline, render_transcript
from rolecall.transcripts import store
from rolecall.transcripts.record import json_schema


@register_command
class Show(Command):
    """Render a saved transcript."""

    name = "show"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        options.add_find_arguments(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        if args.id is not None:
            console.print(render_transcript(options.find(args)[0]))
            return EXIT_OK
        reader = store.Reader()
        with options.reading(args):
            transcripts = list(reader.read([args.file]))
        options.report_unreadable(reader.bad)
        if not transcripts:
            raise SpecError(f"{args.file}: no conversation")
        if len(transcripts) > 1:
            console.print(render_listing(transcripts))
            console.print(f"[dim]{len(transcripts)} conversations; showing the last (choose with --id)[/dim]")
        console.print(render_transcript(transcripts[-1]))
        return EXIT_OK


@register_command
class Tasks(Command):
    """Render a saved conversation's task graph and timeline."""

    name = "tasks"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        options.add_find_arguments(parser)
        parser.add_argument("--mermaid", action="store_true", help="print the graph as a Mermaid flowchart")

    def run(self, args: argparse.Namespace, console: Console) -> int:
        transcript, _ = options.find(args)
        if transcript.task_graph is None:
            raise SpecError(f"{args.file}: conversation {transcript.id} has no task graph")
        graph = TaskGraph.from_node_link(transcript.task_graph)
        if args.mermaid:
            print(graph.to_mermaid())
            return EXIT_OK
        console.print(f"[bold]{transcript.task.original}[/bold] [dim]({transcript.id})[/dim]")
        console.print(render_graph(graph))
        console.print(render_timeline(transcript.events))
        return EXIT_OK


@register_command
class Schema(Command):
    """Print the transcript JSON Schema."""

    name = "schema"
    quiet_help = "accepted for uniformity: the schema is all this command prints"

    def run(self, args: argparse.Namespace, console: Console) -> int:
        print(json.dumps(json_schema(), indent=2))
        return EXIT_OK
