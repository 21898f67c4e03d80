"""``rolecall eval``: hold the evaluation suite under a model and settings, and score what the turns say.

    rolecall eval [SPEC.yaml] [--suite FILE] [--limit N] [--out DIR] [--json FILE] [--judge NAME] ...

The spec (without roles or task) and the settings flags are laid over the suite's settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

from rolecall.cli import options
from rolecall.cli.command import EXIT_FAILED, EXIT_OK, Command, register_command, stderr_line
from rolecall.evaluation import Evaluation, Scorecard, eval_label, load_suite, overrides_from
from rolecall.evaluation.report import render as render_scorecard
from rolecall.judges import Judge
from rolecall.models.base import ChatModel
from rolecall.models.endpoint import open_model
from rolecall.transcripts.record import Transcript


@register_command
class Eval(Command):
    """Hold the evaluation suite and score what the turns say."""

    name = "eval"
    quiet_help = "no progress, only the scorecard"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "spec", nargs="?", help="settings to hold every role-play under (a spec without roles or task)"
        )
        parser.add_argument("--suite", type=Path, help="a suite of one's own (default: rolecall's, see the README)")
        parser.add_argument("--limit", type=int, help="hold only the suite's first N role-plays")
        parser.add_argument("--out", type=Path, help="folder for the transcripts and eval.json (rerun to resume)")
        parser.add_argument("--json", type=Path, help="also write the scorecard to this file")
        parser.add_argument("--label", help="the configuration's name in the scorecard")
        options.add_setting_flags(
            parser,
            {
                "max_turns": "instructions per role-play (default: the suite's)",
                "json_turns": "decode turns under JSON Schemas",
                "guards": "the guards on (default) or off",
            },
        )
        options.add_concurrency_option(parser, what="role-plays")
        options.add_judge_option(parser, "reads the turns")
        options.add_endpoint_options(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        suite = load_suite(args.suite).first(args.limit)
        overrides = options.layered(overrides_from(args.spec) if args.spec else {}, args)
        spec = suite.spec_for(suite.roleplays[0], overrides)
        chosen = options.endpoint(args, spec)
        if args.json is not None:
            options.check_writable(args.json, "the scorecard")
        options.announce_embedded(console, chosen, quiet=args.quiet)

        def done(transcript: Transcript) -> None:
            if not args.quiet:
                ending = transcript.termination.reason if transcript.termination else transcript.status
                roles = {agent.kind: agent.role for agent in transcript.agents}
                console.print(f"[dim]{roles.get('assistant')} / {roles.get('user')}: {ending}[/dim]")

        with ExitStack() as stack:
            model = stack.enter_context(open_model(chosen))
            judge = options.open_judge_of(args, stack, model=model)
            label = args.label or eval_label(spec.settings().for_model(model)[0])
            out = args.out or Path("rolecall-eval") / f"{model.name}-{label}".replace("/", "_")
            evaluation = Evaluation(suite, overrides, out, label)
            card = asyncio.run(_hold(evaluation, model, judge, options.concurrency(args, model), done))
        console.print(render_scorecard(card))
        if args.json is not None:
            args.json.write_text(json.dumps(evaluation.result, indent=2) + "\n", encoding="utf-8")
        console.print(f"[dim]{out}: {card.conversations} transcripts and eval.json[/dim]")
        if card.failed:
            stderr_line(
                f"{card.failed} role-plays failed (see their errors with rolecall show {out}); rerun to hold them again"
            )
        return EXIT_OK if card.failed == 0 else EXIT_FAILED


async def _hold(
    evaluation: Evaluation, model: ChatModel, judge: Judge, concurrency: int, done: Callable[[Transcript], None]
) -> Scorecard:
    try:
        return await evaluation.hold(model, judge, concurrency=concurrency, on_done=done)
    finally:
        await model.aclose()
