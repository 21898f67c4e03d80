"""The ``rolecall`` command line: a thin layer over the library.

``main(argv) -> int`` resolves options (flag > environment > spec), calls the library and
prints. Exit codes: 0 success, 2 bad input (one line naming it), 1 run failure. No
traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from rich.console import Console

from rolecall._version import __version__
from rolecall.batch import Batch, Progress, limited, load_batch_spec, summary
from rolecall.batch.view import batch_progress
from rolecall.cli.judge import add_judge_command, cmd_judge, open_judges
from rolecall.conversation import Conversation
from rolecall.errors import RolecallError, SpecError, one_line
from rolecall.evaluation import Evaluation, Scorecard, eval_label, load_suite, overrides_from
from rolecall.evaluation.report import render as render_scorecard
from rolecall.judges import DEFAULT_JUDGE, Judge, open_judge
from rolecall.judges.recorded import draft_reader, turn_reader
from rolecall.live import LiveReply
from rolecall.models.base import ChatModel
from rolecall.models.endpoint import open_model, resolve_endpoint
from rolecall.models.local import LOCAL_MODEL_NAME, LocalServer
from rolecall.roleplay import RolePlay
from rolecall.secrets import ScrubbingFilter, clean
from rolecall.spec import SocietySpec, Spec, load_spec, parse_spec
from rolecall.tasks.graph import TaskGraph
from rolecall.terminal_input import TerminalPerson
from rolecall.transcripts import store
from rolecall.transcripts.formats import FORMATS
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.marks import marks_beside
from rolecall.transcripts.marks import read as read_marks
from rolecall.transcripts.quality import QualityFloor, content_verdicts
from rolecall.transcripts.record import Transcript, json_schema
from rolecall.transcripts.report import HarvestOptions
from rolecall.transcripts.stats import collect, plot, render
from rolecall.view import (
    render_ending,
    render_graph,
    render_listing,
    render_message,
    render_timeline,
    render_transcript,
)
from rolecall.viewer import Catalog, Viewer, ViewServer

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise SpecError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rolecall", description="CAMEL-style multi-agent role-play.")
    parser.add_argument("--version", action="version", version=f"rolecall {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="hold a role-play and save its transcript")
    run.add_argument("spec", nargs="?", help="a role-play spec (YAML)")
    run.add_argument("--assistant-role", help="the executor's role, e.g. 'Python Programmer'")
    run.add_argument("--user-role", help="the instructor's role, e.g. 'Stock Trader'")
    run.add_argument("--task", help="what the two should achieve")
    run.add_argument("--max-turns", type=int, help="stop after this many instructions")
    run.add_argument("--seed", type=int, help="sampling seed; also makes the conversation id deterministic")
    run.add_argument(
        "--specify", action=argparse.BooleanOptionalAction, help="let a task specifier make the task specific"
    )
    run.add_argument("--plan", action=argparse.BooleanOptionalAction, help="let a planner split the task into a graph")
    run.add_argument(
        "--json-turns",
        action=argparse.BooleanOptionalAction,
        help="decode each turn under a JSON Schema (default: on for the embedded model, off elsewhere)",
    )
    run.add_argument(
        "--human", metavar="SIDE",
        help="write this side's turns yourself: user, assistant, or a society member's name",
    )  # fmt: skip
    _model_options(run)
    _output_options(run)

    show = commands.add_parser("show", help="render a saved transcript")
    show.add_argument("file", metavar="FILE_OR_DIR")
    show.add_argument("--id", help="conversation id (or a prefix); default: the last one")

    tasks = commands.add_parser("tasks", help="render a saved conversation's task graph and timeline")
    tasks.add_argument("file", metavar="FILE_OR_DIR")
    tasks.add_argument("--id", help="conversation id (or a prefix); default: the last one")
    tasks.add_argument("--mermaid", action="store_true", help="print the graph as a Mermaid flowchart")

    resume = commands.add_parser("resume", help="continue an interrupted or budget-stopped conversation")
    resume.add_argument("file", metavar="FILE_OR_DIR")
    resume.add_argument("--id", help="conversation id (or a prefix); default: the last one")
    resume.add_argument("--max-turns", type=int, help="turns allowed beyond those already held")
    _model_options(resume)
    _output_options(resume, default_help="default: the file it was read from")

    _add_data_commands(commands)
    _add_eval_command(commands)
    add_judge_command(commands)

    commands.add_parser("schema", help="print the transcript JSON Schema")

    serve = commands.add_parser("serve", help="run the embedded model's OpenAI-compatible server")
    serve.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--threads", type=int, help="CPU threads (default: one per core)")
    serve.add_argument(
        "--slots", type=int, default=LocalServer.DEFAULT_SLOTS,
        help=f"sequences decoded together, each keeping its prompt (default: {LocalServer.DEFAULT_SLOTS})",
    )  # fmt: skip
    serve.add_argument(
        "--extra-layouts", action=argparse.BooleanOptionalAction, default=True,
        help="let llama.cpp repack the weights for this CPU; off by itself if the server crashes (default: on)",
    )  # fmt: skip
    serve.add_argument("--gguf", type=Path, help="serve this model file instead (a fine-tuned SmolLM2, say)")
    serve.add_argument("--name", help="the model name the server answers to (default: the file's name)")
    return parser


def _add_data_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    """The commands that make and read datasets: batch, harvest, stats."""
    harvest = commands.add_parser("harvest", help="turn transcripts into a training dataset")
    harvest.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    harvest.add_argument("--format", required=True, choices=FORMATS)
    harvest.add_argument("--out", type=Path, required=True, help="folder for the dataset")
    harvest.add_argument("--perspective", default="assistant", help="assistant, user, or an agent name")
    harvest.add_argument("--loss", choices=("all", "last"), default="all")
    harvest.add_argument(
        "--reasons", default="task_done,graph_complete", help="termination reasons to keep (comma-separated)"
    )
    harvest.add_argument("--min-turns", type=int, default=1)
    harvest.add_argument("--min-score", type=float, help="drop conversations scoring below this (0..1)")
    harvest.add_argument(
        "--judge", help=f"the judge that says which turns are on task (default {DEFAULT_JUDGE}; lexical: word counts)"
    )
    _model_options(harvest)
    harvest.add_argument("--no-near-dup", action="store_true", help="exact dedup only")
    harvest.add_argument("--near-dup-threshold", type=float, default=0.8)
    harvest.add_argument("--split", type=float, default=1.0, help="train share, e.g. 0.95 (by task and roles)")
    harvest.add_argument("--split-seed", type=int, default=0, help="seed of the train/validation split")
    harvest.add_argument("--keep-rejected", action="store_true", help="write dropped conversations to rejected.jsonl")
    harvest.add_argument(
        "--tools-ok", action="store_true", help="keep only conversations whose tool calls all validated and ran"
    )
    harvest.add_argument("--no-human", action="store_true", help="drop conversations in which a person wrote turns")
    harvest.add_argument(
        "--content-checks", choices=("conversation", "turns", "off"), default="conversation",
        help="drop a role-play with any turn off task (default), train only its turns on task, or check structure only",
    )  # fmt: skip
    harvest.add_argument(
        "--marks", type=Path, help="a reviewer's keep/drop marks (rolecall view --review): drop, or keep past the floor"
    )
    harvest.add_argument("--quiet", action="store_true", help="no summary, only problems")

    batch = commands.add_parser("batch", help="hold many role-plays from one spec, resumably")
    batch.add_argument("spec", help="a batch spec (YAML)")
    batch.add_argument("--out", type=Path, required=True, help="folder for conversations, failures and manifest")
    batch.add_argument(
        "--concurrency", type=int,
        help="conversations in flight at once (default 8; 4 on the embedded model; 1 makes its seeded runs repeatable)",
    )  # fmt: skip
    batch.add_argument("--cache", type=Path, help="SQLite response cache: replays seen requests offline")
    batch.add_argument("--engine", choices=("local", "ray"), default="local")
    batch.add_argument("--ray-address", help="an existing Ray cluster (default: start a local one)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    _model_options(batch)

    view = commands.add_parser("view", help="browse transcripts and datasets in the browser (a local web app)")
    view.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    view.add_argument("--port", type=int, default=8642, help="port (default 8642; 0 picks a free one)")
    view.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    view.add_argument("--review", action="store_true", help="allow keep/drop marks, saved beside the data")
    view.add_argument("--marks", type=Path, help="the marks file (default: rolecall-marks.jsonl beside the data)")
    view.add_argument("--judge", help=f"the judge whose verdict each turn shows (default {DEFAULT_JUDGE})")

    stats = commands.add_parser("stats", help="counts and distributions over transcripts")
    stats.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    stats.add_argument("--plot", type=Path, help="write the distributions to FILE.html or FILE.png")
    stats.add_argument("--judge", help=f"the judge that says which turns are on task (default {DEFAULT_JUDGE})")
    _model_options(stats)


def _add_eval_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    evaluate = commands.add_parser("eval", help="hold the evaluation suite and score what the turns say")
    evaluate.add_argument(
        "spec", nargs="?", help="settings to hold every role-play under (a spec without roles or task)"
    )
    evaluate.add_argument("--suite", type=Path, help="a suite of one's own (default: rolecall's, see the README)")
    evaluate.add_argument("--limit", type=int, help="hold only the suite's first N role-plays")
    evaluate.add_argument("--out", type=Path, help="folder for the transcripts and eval.json (rerun to resume)")
    evaluate.add_argument("--json", type=Path, help="also write the scorecard to this file")
    evaluate.add_argument("--label", help="the configuration's name in the scorecard")
    evaluate.add_argument("--max-turns", type=int, help="instructions per role-play (default: the suite's)")
    evaluate.add_argument("--json-turns", action=argparse.BooleanOptionalAction, help="decode turns under JSON Schemas")
    evaluate.add_argument("--guards", action=argparse.BooleanOptionalAction, help="the guards on (default) or off")
    evaluate.add_argument("--concurrency", type=int, help="role-plays in flight (default 8; 4 on the embedded model)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress, only the scorecard")
    evaluate.add_argument("--judge", help=f"the judge that reads the turns (default {DEFAULT_JUDGE})")
    _model_options(evaluate)


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name (env ROLECALL_MODEL)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL)")


def _output_options(parser: argparse.ArgumentParser, default_help: str | None = None) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        help=f"JSONL file to append to ({default_help or f'default: {store.DEFAULT_FILE}'})",
    )
    parser.add_argument("--quiet", action="store_true", help="no live view, only the final line")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    console = Console(highlight=False)
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(ScrubbingFilter())
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        args = build_parser().parse_args(argv)
        return _COMMANDS[args.command](args, console)
    except SpecError as exc:
        if debug:
            raise
        _error(f"error: {exc}")
        return EXIT_BAD_INPUT
    except RolecallError as exc:
        if debug:
            raise
        _error(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error(message: str) -> None:
    """One plain line on stderr: never wrapped, never styled, never holding a secret."""
    print(f"rolecall: {one_line(clean(message))}", file=sys.stderr)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM behaves like Ctrl-C, so transcripts are saved and the local server stopped."""
    raise KeyboardInterrupt


# -- commands -----------------------------------------------------------------------------


def _spec_from_args(args: argparse.Namespace) -> Spec:
    inline = {"assistant_role": args.assistant_role, "user_role": args.user_role, "task": args.task}
    if args.spec:
        given = [f"--{name.replace('_', '-')}" for name, value in inline.items() if value is not None]
        if given:
            raise SpecError(f"give either a spec file or {', '.join(given)}, not both")
        spec = load_spec(args.spec)
    else:
        missing = [f"--{name.replace('_', '-')}" for name, value in inline.items() if not value]
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
    data = spec.model_dump(exclude_unset=True)
    updates = {"max_turns": args.max_turns, "seed": args.seed, "specify_task": args.specify, "plan": args.plan}
    data |= {key: value for key, value in updates.items() if value is not None}
    if args.json_turns is not None:
        data["assist"] = {**data.get("assist", {}), "json_turns": args.json_turns}
    return parse_spec(data, source=args.spec or "arguments")


def _check_writable(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as exc:
        raise SpecError(f"{path}: cannot write transcripts here: {exc.strerror}") from None


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    spec = _spec_from_args(args)
    out = args.out or store.DEFAULT_FILE
    _check_writable(out)
    endpoint = resolve_endpoint(
        base_url=args.base_url, model=args.model, spec_base_url=spec.base_url, spec_model=spec.model
    )
    if not args.quiet and endpoint.is_embedded:
        console.print("[dim]no endpoint configured: starting the embedded SmolLM2-135M model…[/dim]")
    live = None if args.quiet else LiveReply(console)
    human_critic = spec.critic is not None and spec.critic.by == "human"
    person = TerminalPerson(console, live).person(args.human) if args.human or human_critic else None
    with open_model(endpoint) as model:
        conversation = spec.build(model, person=person)
        conversation.watch = live.watch if live is not None else None
        return _hold(conversation, out, console, quiet=args.quiet, live=live)


def cmd_resume(args: argparse.Namespace, console: Console) -> int:
    saved, source = _find(args.file, args.id)
    out = args.out or source
    _check_writable(out)
    endpoint = resolve_endpoint(base_url=args.base_url, model=args.model)
    with open_model(endpoint) as model:
        roleplay = RolePlay.resume(saved, model=model, max_turns=args.max_turns)
        if not args.quiet:
            console.print(f"[dim]resuming {saved.id} at turn {roleplay.turn} as {roleplay.transcript.id}[/dim]")
        live = None if args.quiet else LiveReply(console)
        roleplay.watch = live.watch if live is not None else None
        return _hold(roleplay, out, console, quiet=args.quiet, live=live)


def _hold(roleplay: Conversation, out: Path, console: Console, *, quiet: bool, live: LiveReply | None = None) -> int:
    """Run the conversation with a live view (replies drawn as they are written); save it however it ends."""
    try:
        asyncio.run(_live(roleplay, console, quiet=quiet, live=live))
    except KeyboardInterrupt:
        roleplay.close("interrupted")
    finally:
        if live is not None:
            live.stop()
        roleplay.close("error")
        store.append(out, roleplay.transcript)
    transcript = roleplay.transcript
    console.print(render_ending(transcript))
    console.print(f"[dim]saved to {out}[/dim]")
    if transcript.status == "ok":
        return EXIT_OK
    reason = transcript.termination.reason if transcript.termination else "failed"
    _error(f"{reason}: {transcript.error.message if transcript.error else 'the run was stopped'} (saved to {out})")
    return EXIT_FAILED


async def _live(roleplay: Conversation, console: Console, *, quiet: bool, live: LiveReply | None) -> None:
    try:
        await _show_live(roleplay, console, quiet=quiet, live=live)
    finally:
        await roleplay.release()


async def _show_live(roleplay: Conversation, console: Console, *, quiet: bool, live: LiveReply | None) -> None:
    speakers: list[str] = []
    done = 0
    async for message in roleplay.stream():
        if quiet:
            continue
        if live is not None:
            live.stop()
        if message.index == 0 and roleplay.planned:
            console.print(render_graph(roleplay.graph))
        console.print(render_message(message, speakers))
        finished = roleplay.graph.progress().finished
        if roleplay.planned and finished != done:
            done = finished
            console.print(render_graph(roleplay.graph))


def _find(path: str | Path, conversation_id: str | None) -> tuple[Transcript, Path]:
    """One saved conversation and its file (see :func:`store.locate`), reporting unreadable lines."""
    reader = store.Reader()
    try:
        return store.locate(path, conversation_id, reader=reader)
    finally:
        _report_unreadable(reader)


def _report_unreadable(reader: store.Reader, *, limit: int = 20) -> None:
    for bad in reader.bad[:limit]:
        _error(f"skipped {bad}")
    if len(reader.bad) > limit:
        _error(f"skipped {len(reader.bad) - limit} more unreadable lines")


def cmd_show(args: argparse.Namespace, console: Console) -> int:
    if args.id is None:
        reader = store.Reader()
        transcripts = list(reader.read([args.file]))
        _report_unreadable(reader)
        if not transcripts:
            raise SpecError(f"{args.file}: no conversation")
        if len(transcripts) > 1:
            console.print(render_listing(transcripts))
            console.print(f"[dim]{len(transcripts)} conversations; showing the last (choose with --id)[/dim]")
        console.print(render_transcript(transcripts[-1]))
        return EXIT_OK
    console.print(render_transcript(_find(args.file, args.id)[0]))
    return EXIT_OK


def cmd_tasks(args: argparse.Namespace, console: Console) -> int:
    transcript, _ = _find(args.file, args.id)
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


def cmd_harvest(args: argparse.Namespace, console: Console) -> int:
    if args.min_turns < 0:
        raise SpecError("--min-turns: give 0 or more")
    floor = QualityFloor(
        reasons=frozenset(reason.strip() for reason in args.reasons.split(",") if reason.strip()),
        min_turns=args.min_turns,
        min_score=args.min_score,
        tools_ok=args.tools_ok,
        human=not args.no_human,
        content=args.content_checks,
    )
    marks = {id: mark.verdict for id, mark in read_marks(args.marks).items()} if args.marks else {}
    options = HarvestOptions(
        format=args.format, perspective=args.perspective, loss=args.loss, floor=floor,
        near_dup=not args.no_near_dup, near_dup_threshold=args.near_dup_threshold, train_share=args.split,
        seed=args.split_seed, keep_rejected=args.keep_rejected, marks=marks,
    )  # fmt: skip
    with ExitStack() as stack:
        judge = open_judges(args.judge or DEFAULT_JUDGE, stack, base_url=args.base_url, model=args.model)
        lexical = judge.name == "lexical"  # the word counts read transcripts directly, as fast as ever
        options = dataclasses.replace(
            options,
            judge=judge.name,
            turn_reader=None if lexical else turn_reader(judge),
            draft_reader=draft_reader(judge),
        )
        report = harvest(args.paths, args.out, options)
    for bad in report.malformed[:20]:
        _error(f"skipped {bad}")
    if len(report.malformed) > 20:
        _error(f"skipped {len(report.malformed) - 20} more unreadable lines")
    if args.quiet:
        return EXIT_OK
    dropped = ", ".join(f"{reason} {count}" for reason, count in sorted(report.dropped.items())) or "none"
    rows = ", ".join(f"{split} {count}" for split, count in sorted(report.rows.items())) or "no rows"
    console.print(
        f"read {report.read}, kept {report.kept} ({rows}); dropped: {dropped}; "
        f"unreadable lines {len(report.malformed)}; secrets scrubbed {report.secrets_scrubbed}"
        + (f"; kept past the floor by marks {report.kept_by_mark}" if marks else "")
        + (f"; turns left untrained {sum(report.untrained.values())}" if args.content_checks == "turns" else "")
    )
    console.print(f"[dim]dataset and card in {args.out}[/dim]")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, console: Console) -> int:
    reader = store.Reader()
    with ExitStack() as stack:
        judge = open_judges(args.judge or DEFAULT_JUDGE, stack, base_url=args.base_url, model=args.model)
        read = content_verdicts if judge.name == "lexical" else turn_reader(judge)
        stats = collect(reader.read(args.paths), read, judge.name)
    stats.malformed = len(reader.bad)
    _report_unreadable(reader)
    console.print(render(stats))
    if args.plot:
        plot(stats, args.plot)
        console.print(f"[dim]plot written to {args.plot}[/dim]")
    return EXIT_OK


#: Conversations a batch holds at once against an endpoint, and against the embedded model.
DEFAULT_CONCURRENCY, EMBEDDED_CONCURRENCY = 8, 4


def cmd_batch(args: argparse.Namespace, console: Console) -> int:
    spec = load_batch_spec(args.spec)
    if args.concurrency is not None and args.concurrency < 1:
        raise SpecError("--concurrency must be at least 1")
    store.ensure_writable(args.out, "batch")
    template = spec.template()
    endpoint = resolve_endpoint(
        base_url=args.base_url, model=args.model, spec_base_url=template.base_url, spec_model=template.model
    )
    spec_text = Path(args.spec).read_bytes().decode("utf-8", "replace")
    if args.engine == "ray":
        from rolecall.batch.ray_engine import run_on_ray

        progress = run_on_ray(
            spec, args.out, endpoint, concurrency=args.concurrency or DEFAULT_CONCURRENCY, cache=args.cache,
            address=args.ray_address, spec_text=spec_text,
        )  # fmt: skip
        console.print(summary(progress))
        return EXIT_OK if progress.failed == 0 and progress.stopped is None else EXIT_FAILED
    with open_model(endpoint) as model:
        wrapped = limited(model, spec, cache=args.cache)
        # The embedded server decodes the conversations in flight together; on two cores it is busy from two on,
        # and 2, 4 and 8 hold as many conversations a minute (bench/embedded.py): 4 leaves room on more cores.
        concurrency = args.concurrency or (EMBEDDED_CONCURRENCY if model.embedded else DEFAULT_CONCURRENCY)
        with batch_progress(console, quiet=args.quiet) as on_change:
            runner = Batch(spec, args.out, wrapped, concurrency=concurrency, on_change=on_change, spec_text=spec_text)
            progress = asyncio.run(_run_batch(runner, wrapped))
    console.print(summary(progress))
    return EXIT_OK if progress.failed == 0 and progress.stopped is None else EXIT_FAILED


async def _run_batch(runner: Batch, model: ChatModel) -> Progress:
    try:
        return await runner.run()
    finally:
        await model.aclose()


def cmd_view(args: argparse.Namespace, console: Console) -> int:
    paths = [Path(path) for path in args.paths]
    for path in paths:
        if not path.exists():
            raise SpecError(f"{path}: no such file or folder")
    if not 0 <= args.port <= 65535:
        raise SpecError(f"--port {args.port}: give a port between 0 and 65535")
    marks = args.marks or marks_beside(paths[0])
    if args.review:
        _check_writable(marks)
    catalog = Catalog(paths)
    catalog.refresh()
    stack = ExitStack()
    judge = open_judges(args.judge or DEFAULT_JUDGE, stack)  # a model server starts with the first page judged
    try:
        viewer = Viewer(catalog, marks_path=marks, review=args.review, judge=judge)
        server = ViewServer(viewer, host=args.host, port=args.port)
    except OSError as exc:
        stack.close()
        raise SpecError(f"--port {args.port}: cannot listen on {args.host}: {exc.strerror}") from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        _error(f"warning: listening on {args.host}: anyone who can reach this machine can read the data")
    console.print(f"{len(catalog.entries)} entries · [bold]{server.url}[/bold] · Ctrl-C stops")
    if args.review:
        console.print(f"[dim]marks go to {marks}[/dim]")
    server.start()
    try:
        signal.pause()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the normal way to stop a viewer
        pass
    finally:
        server.stop()
        stack.close()
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, console: Console) -> int:
    suite = load_suite(args.suite).first(args.limit)
    overrides = overrides_from(args.spec) if args.spec else {}
    if args.max_turns is not None:
        overrides["max_turns"] = args.max_turns
    if args.json_turns is not None:
        overrides["assist"] = {**overrides.get("assist", {}), "json_turns": args.json_turns}
    if args.guards is False:
        overrides["guards"] = {"enabled": False}
    spec = suite.spec_for(suite.roleplays[0], overrides)
    endpoint = resolve_endpoint(
        base_url=args.base_url, model=args.model, spec_base_url=spec.base_url, spec_model=spec.model
    )
    if args.json is not None:
        _check_writable(args.json)
    if not args.quiet and endpoint.is_embedded:
        console.print("[dim]no endpoint configured: starting the embedded SmolLM2-135M model…[/dim]")

    def done(transcript: Transcript) -> None:
        if not args.quiet:
            ending = transcript.termination.reason if transcript.termination else transcript.status
            roles = {agent.kind: agent.role for agent in transcript.agents}
            console.print(f"[dim]{roles.get('assistant')} / {roles.get('user')}: {ending}[/dim]")

    with ExitStack() as stack:
        model = stack.enter_context(open_model(endpoint))
        judge = stack.enter_context(open_judge(args.judge or DEFAULT_JUDGE, model=model))
        label = args.label or eval_label(spec.settings().for_model(model)[0])
        out = args.out or Path("rolecall-eval") / f"{model.name}-{label}".replace("/", "_")
        evaluation = Evaluation(suite, overrides, out, label)
        concurrency = args.concurrency or (EMBEDDED_CONCURRENCY if model.embedded else DEFAULT_CONCURRENCY)
        card = asyncio.run(_run_eval(evaluation, model, judge, concurrency, done))
    console.print(render_scorecard(card))
    if args.json is not None:
        args.json.write_text(json.dumps(evaluation.result, indent=2) + "\n", encoding="utf-8")
    console.print(f"[dim]{out}: {card.conversations} transcripts and eval.json[/dim]")
    if card.failed:
        _error(f"{card.failed} role-plays failed (see their errors with rolecall show {out}); rerun to hold them again")
    return EXIT_OK if card.failed == 0 else EXIT_FAILED


async def _run_eval(
    evaluation: Evaluation, model: ChatModel, judge: Judge, concurrency: int, done: Callable[[Transcript], None]
) -> Scorecard:
    try:
        return await evaluation.hold(model, judge, concurrency=concurrency, on_done=done)
    finally:
        await model.aclose()


def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    if args.threads is not None and not 1 <= args.threads <= 1024:
        raise SpecError(f"--threads {args.threads}: give a number of threads from 1 to 1024")
    if not 1 <= args.slots <= 256:
        raise SpecError(f"--slots {args.slots}: give a number of slots from 1 to 256")
    if args.gguf is not None and not args.gguf.is_file():
        raise SpecError(f"--gguf {args.gguf}: no such file")
    name = args.name or (args.gguf.stem if args.gguf is not None else LOCAL_MODEL_NAME)
    server = LocalServer(
        port=args.port, threads=args.threads, slots=args.slots, extra_layouts=args.extra_layouts, gguf=args.gguf,
        name=name,
    )  # fmt: skip
    server.start()
    try:
        console.print(f"serving {name} at {server.base_url} (Ctrl-C to stop)")
        console.print(f"[dim]OPENAI_BASE_URL={server.base_url} rolecall run …[/dim]")
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


_COMMANDS = {
    "run": cmd_run,
    "resume": cmd_resume,
    "show": cmd_show,
    "tasks": cmd_tasks,
    "batch": cmd_batch,
    "harvest": cmd_harvest,
    "stats": cmd_stats,
    "eval": cmd_eval,
    "judge": cmd_judge,
    "schema": cmd_schema,
    "view": cmd_view,
    "serve": cmd_serve,
}
