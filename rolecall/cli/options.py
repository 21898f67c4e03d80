"""Options that several commands share, declared once, and the one place configuration is layered.

Every setting a flag can give is resolved here as flag > environment > spec: the endpoint
(``--base-url``, ``--model`` over ``OPENAI_BASE_URL``, ``ROLECALL_MODEL`` over a spec's
``base_url``, ``model``), the spec's settings (``--max-turns``, ``--seed``, ``--json-turns``...
laid over a spec's fields), the judge (``--judge`` over the default), the concurrency
(``--concurrency`` over what fits the model). A flag means the same thing wherever it appears.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from rolecall.cli.command import stderr_line
from rolecall.errors import SpecError
from rolecall.judges import DEFAULT_JUDGE, JUDGES, Judge, LLMJudge, open_judge
from rolecall.models.base import ChatModel
from rolecall.models.endpoint import Endpoint, open_model, resolve_endpoint
from rolecall.terminal.progress import read_progress
from rolecall.transcripts import store
from rolecall.transcripts.record import Transcript

#: Conversations held at once against an endpoint, and against the embedded model.
DEFAULT_CONCURRENCY, EMBEDDED_CONCURRENCY = 8, 4
#: Unreadable lines named one by one before the rest are counted.
UNREADABLE_SHOWN = 20

#: Each settings flag (its ``args`` name) and where it goes in a spec: a field, or (section, field).
SETTING_FLAGS: dict[str, tuple[str, ...]] = {
    "max_turns": ("max_turns",),
    "seed": ("seed",),
    "specify": ("specify_task",),
    "plan": ("plan",),
    "json_turns": ("assist", "json_turns"),
    "guards": ("guards", "enabled"),
}


class _Configured(Protocol):
    """Anything that names an endpoint: a run spec, a batch's template."""

    @property
    def base_url(self) -> str | None: ...

    @property
    def model(self) -> str | None: ...


# -- the endpoint ---------------------------------------------------------------------------


def add_endpoint_options(parser: argparse.ArgumentParser, *, of: str = "") -> None:
    """``--model`` and ``--base-url``; ``of`` names what they are for ("the llm judge's")."""
    whose = f"{of} " if of else ""
    parser.add_argument("--model", help=f"{whose}model name (env ROLECALL_MODEL)")
    parser.add_argument("--base-url", help=f"{whose}OpenAI-compatible endpoint (env OPENAI_BASE_URL)")


def endpoint(args: argparse.Namespace, spec: _Configured | None = None) -> Endpoint:
    """The endpoint of the flags, then the environment, then ``spec``."""
    return resolve_endpoint(
        base_url=args.base_url,
        model=args.model,
        spec_base_url=spec.base_url if spec is not None else None,
        spec_model=spec.model if spec is not None else None,
    )


def announce_embedded(console: Console, chosen: Endpoint, *, quiet: bool) -> None:
    """Say that the embedded model is starting (it takes a few seconds), unless ``quiet``."""
    if not quiet and chosen.is_embedded:
        console.print("[dim]no endpoint configured: starting the embedded SmolLM2-135M model…[/dim]")


# -- spec settings --------------------------------------------------------------------------


def add_setting_flags(parser: argparse.ArgumentParser, helps: dict[str, str]) -> None:
    """The settings flags named in ``helps`` (keys of :data:`SETTING_FLAGS`), each with its help."""
    for name, text in helps.items():
        flag = f"--{name.replace('_', '-')}"
        if name in ("max_turns", "seed"):
            parser.add_argument(flag, type=int, help=text)
        else:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=text)


def layered(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """A spec's fields with the settings flags given laid over them (sections merged, not replaced)."""
    data = dict(spec)
    for name, (*section, key) in SETTING_FLAGS.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if section:
            data[section[0]] = {**data.get(section[0], {}), key: value}
        else:
            data[key] = value
    return data


# -- the judge ------------------------------------------------------------------------------


def add_judge_option(parser: argparse.ArgumentParser, does: str) -> None:
    """``--judge NAME``: the judge that ``does`` (default :data:`DEFAULT_JUDGE`)."""
    parser.add_argument("--judge", help=f"the judge that {does} (default {DEFAULT_JUDGE}): {', '.join(JUDGES)}")


def open_judge_of(
    args: argparse.Namespace, stack: ExitStack, *, name: str | None = None, model: ChatModel | None = None
) -> Judge:
    """The judge of ``--judge`` (or ``name``), open for as long as ``stack``.

    The llm judge reads with ``model`` when given, else with the endpoint of the flags (and the
    environment), opened on ``stack`` only when that judge is the one asked for.
    """
    name = name or args.judge or DEFAULT_JUDGE
    if model is None and JUDGES.get(name) is LLMJudge:
        model = stack.enter_context(open_model(endpoint(args)))
    return stack.enter_context(open_judge(name, model=model))


# -- output, concurrency, reading -----------------------------------------------------------


def add_out_option(parser: argparse.ArgumentParser, *, default: str = f"default: {store.DEFAULT_FILE}") -> None:
    """``--out FILE.jsonl``: where a conversation is appended."""
    parser.add_argument("--out", type=Path, help=f"JSONL file to append to ({default})")


def check_writable(path: Path, what: str = "transcripts") -> None:
    """Prove ``path`` can be appended to before any work is done; a one-line ``SpecError`` if not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as exc:
        raise SpecError(f"{path}: cannot write {what} here: {exc.strerror}") from None


def add_concurrency_option(parser: argparse.ArgumentParser, *, what: str = "conversations", note: str = "") -> None:
    """``--concurrency N``: ``what`` in flight at once, as :func:`concurrency` resolves it."""
    defaults = f"default {DEFAULT_CONCURRENCY}; {EMBEDDED_CONCURRENCY} on the embedded model"
    parser.add_argument("--concurrency", type=int, help=f"{what} in flight at once ({defaults}{note})")


def concurrency(args: argparse.Namespace, model: ChatModel | None = None) -> int:
    """``--concurrency``, else what fits ``model``.

    The embedded server decodes the conversations in flight together; on two cores it is busy
    from two on, and 2, 4 and 8 hold as many conversations a minute (bench/embedded.py): 4
    leaves room on more cores.
    """
    if args.concurrency is not None:
        if args.concurrency < 1:
            raise SpecError("--concurrency must be at least 1")
        return int(args.concurrency)
    return EMBEDDED_CONCURRENCY if model is not None and model.embedded else DEFAULT_CONCURRENCY


@contextmanager
def reading(args: argparse.Namespace, label: str = "reading") -> Iterator[None]:
    """A progress bar (stderr, unless ``--quiet``) for every transcript read inside the block."""
    with read_progress(quiet=args.quiet, label=label) as shown, store.watching(shown):
        yield


def report_unreadable(bad: Sequence[object]) -> None:
    """Name the lines a read had to skip on stderr, the first :data:`UNREADABLE_SHOWN` of them."""
    for line in bad[:UNREADABLE_SHOWN]:
        stderr_line(f"skipped {line}")
    if len(bad) > UNREADABLE_SHOWN:
        stderr_line(f"skipped {len(bad) - UNREADABLE_SHOWN} more unreadable lines")


def find(args: argparse.Namespace) -> tuple[Transcript, Path]:
    """The conversation of ``FILE_OR_DIR`` and ``--id`` (default: the last), and the file it was read from."""
    reader = store.Reader()
    try:
        with reading(args):
            return store.locate(args.file, args.id, reader=reader)
    finally:
        report_unreadable(reader.bad)


def add_find_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE_OR_DIR [--id ID]``: one saved conversation, as :func:`find` reads it."""
    parser.add_argument("file", metavar="FILE_OR_DIR")
    parser.add_argument("--id", help="conversation id (or a prefix); default: the last one")
