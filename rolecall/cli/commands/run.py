"""``rolecall run`` and ``rolecall resume``: hold a dialogue with a live view, and save it however it ends.

rolecall run SPEC.yaml | --assistant-role R --user-role R --task T [--human SIDE] ...
rolecall resume FILE_OR_DIR [--id ID] [--max-turns N]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rich.console import Console

from rolecall.cli import options
from rolecall.cli.command import EXIT_FAILED, EXIT_OK, Command, register_command, stderr_line
from rolecall.dialogue import Conversation, resume
from rolecall.errors import SpecError
from rolecall.models.endpoint import open_model
from rolecall.spec import SocietySpec, Spec, load_spec, parse_spec
from rolecall.terminal.live import LiveReply
from rolecall.terminal.person import TerminalPerson
from rolecall.terminal.render import render_ending, render_graph, render_message
from rolecall.transcripts import store

#: The flags that give a role-play inline instead of a spec file, by their spec field.
_INLINE = {"assistant_role": "--assistant-role", "user_role": "--user-role", "task": "--task"}


@register_command
class Run(Command):
    """Hold a role-play and save its transcript."""

    name = "run"
    quiet_help = "no live view, only the final line"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("spec", nargs="?", help="a role-play spec (YAML)")
        parser.add_argument("--assistant-role", help="the executor's role, e.g. 'Python Programmer'")
        parser.add_argument("--user-role", help="the instructor's role, e.g. 'Stock Trader'")
        parser.add_argument("--task", help="what the two should achieve")
        options.add_setting_flags(
            parser,
            {
                "max_turns": "stop after this many instructions",
                "seed": "sampling seed; also makes the conversation id deterministic",
                "specify": "let a task specifier make the task specific",
                "plan": "let a planner split the task into a graph",
                "json_turns": "decode each turn under a JSON Schema (default: on for the embedded model, off "
                "elsewhere)",
            },
        )
        parser.add_argument(
            "--human", metavar="SIDE",
            help="write this side's turns yourself: user, assistant, or a society member's name",
        )  # fmt: skip
        options.add_endpoint_options(parser)
        options.add_out_option(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        spec = spec_of(args)
        out = args.out or store.DEFAULT_FILE
        options.check_writable(out)
        chosen = options.endpoint(args, spec)
        options.announce_embedded(console, chosen, quiet=args.quiet)
        live = None if args.quiet else LiveReply(console)
        human_critic = spec.critic is not None and spec.critic.by == "human"
        person = TerminalPerson(console, live).person(args.human) if args.human or human_critic else None
        with open_model(chosen) as model:
            conversation = spec.build(model, person=person)
            conversation.watch = live.watch if live is not None else None
            return hold(conversation, out, console, quiet=args.quiet, live=live)


@register_command
class Resume(Command):
    """Continue an interrupted or budget-stopped conversation."""

    name = "resume"
    quiet_help = "no live view, only the final line"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        options.add_find_arguments(parser)
        parser.add_argument("--max-turns", type=int, help="turns allowed beyond those already held")
        options.add_endpoint_options(parser)
        options.add_out_option(parser, default="default: the file it was read from")

    def run(self, args: argparse.Namespace, console: Console) -> int:
        saved, source = options.find(args)
        out = args.out or source
        options.check_writable(out)
        with open_model(options.endpoint(args)) as model:
            conversation = resume(saved, model=model, max_turns=args.max_turns)  # a role-play or a society
            if not args.quiet:
                console.print(
                    f"[dim]resuming {saved.id} at turn {conversation.turn} as {conversation.transcript.id}[/dim]"
                )
            live = None if args.quiet else LiveReply(console)
            conversation.watch = live.watch if live is not None else None
            return hold(conversation, out, console, quiet=args.quiet, live=live)


def spec_of(args: argparse.Namespace) -> Spec:
    """The spec of ``run``'s arguments: a spec file or the inline roles and task, with the settings flags over it."""
    inline = {field: getattr(args, field) for field in _INLINE}
    if args.spec:
        given = [_INLINE[field] for field, value in inline.items() if value is not None]
        if given:
            raise SpecError(f"give either a spec file or {', '.join(given)}, not both")
        spec = load_spec(args.spec)
    else:
        missing = [_INLINE[field] for field, value in inline.items() if not value]
        if missing:
            raise SpecError(f"give a spec file, or all of --assistant-role, --user-role, --task (missing {missing[0]})")
        spec = parse_spec(
            {"task": args.task, "assistant": {"role": args.assistant_role}, "user": {"role": args.user_role}},
            source="arguments",
        )
    roleplay_only = {"--specify": args.specify, "--plan": args.plan}
    if isinstance(spec, SocietySpec) and any(value is not None for value in roleplay_only.values()):
        flag = next(flag for flag, value in roleplay_only.items() if value is not None)
        raise SpecError(f"{flag} applies to two-agent role-plays, not to a society")
    return parse_spec(options.layered(spec.model_dump(exclude_unset=True), args), source=args.spec or "arguments")


def hold(conversation: Conversation, out: Path, console: Console, *, quiet: bool, live: LiveReply | None) -> int:
    """Run the conversation with a live view (replies drawn as they are written); save it however it ends."""
    try:
        asyncio.run(_live(conversation, console, quiet=quiet, live=live))
    except KeyboardInterrupt:
        conversation.close("interrupted")
    finally:
        if live is not None:
            live.stop()
        conversation.close("error")
        store.append(out, conversation.transcript)
    transcript = conversation.transcript
    console.print(render_ending(transcript))
    console.print(f"[dim]saved to {out}[/dim]")
    if transcript.status == "ok":
        return EXIT_OK
    reason = transcript.termination.reason if transcript.termination else "failed"
    stderr_line(f"{reason}: {transcript.error.message if transcript.error else 'the run was stopped'} (saved to {out})")
    return EXIT_FAILED


async def _live(conversation: Conversation, console: Console, *, quiet: bool, live: LiveReply | None) -> None:
    try:
        await _show_live(conversation, console, quiet=quiet, live=live)
    finally:
        await conversation.release()


async def _show_live(conversation: Conversation, console: Console, *, quiet: bool, live: LiveReply | None) -> None:
    speakers: list[str] = []
    done = 0
    async for message in conversation.stream():
        if quiet:
            continue
        if live is not None:
            live.stop()
        if message.index == 0 and conversation.planned:
            console.print(render_graph(conversation.graph))
        console.print(render_message(message, speakers))
        finished = conversation.graph.progress().finished
        if conversation.planned and finished != done:
            done = finished
            console.print(render_graph(conversation.graph))
