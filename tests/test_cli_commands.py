"""Commands as objects in one registry: a new command is one class, every command takes the global flags,
and long reads report their progress."""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.console import Console

from rolecall import RolePlay, SpecError, Transcript
from rolecall.cli import COMMANDS, Command, build_parser, main, options, register_command
from rolecall.terminal.progress import read_progress
from rolecall.testing import ScriptedModel
from rolecall.transcripts import store
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.report import HarvestOptions

#: The commands of the design's contract, each of them a registered command.
CONTRACT = {"run", "resume", "show", "tasks", "schema", "serve", "harvest", "stats", "batch", "eval", "view", "judge"}


def roleplay(variant: int) -> Transcript:
    return RolePlay(
        f"Plan lunch number {variant}", assistant_role="Cook", user_role="Parent",
        user_model=ScriptedModel([f"Instruction: list lunch {variant}\nInput: None", "<TASK_DONE>"]),
        assistant_model=ScriptedModel([f"Solution: soup and bread, variant {variant}.\nNext request."]),
    ).run()  # fmt: skip


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A folder of two files holding five conversations."""
    for variant in range(5):
        store.append(tmp_path / "data" / f"part-{variant % 2}.jsonl", roleplay(variant), fsync=False)
    return tmp_path / "data"


class Hello(Command):
    """Greet someone (a command a plugin or a new file would add).

    rolecall hello NAME [--shout]
    """

    name = "hello"
    quiet_help = "greet without the exclamation mark"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("who")
        parser.add_argument("--shout", action="store_true")

    def run(self, args: argparse.Namespace, console: Console) -> int:
        if args.who == "nobody":
            raise SpecError("hello: give someone's name")
        greeting = f"hello {args.who}" + ("" if args.quiet else "!")
        console.print(greeting.upper() if args.shout else greeting)
        return 3 if args.debug else 0


def test_a_new_command_is_one_class_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with COMMANDS.scoped():
        register_command(Hello)
        assert main(["hello", "world", "--shout"]) == 0
        assert capsys.readouterr().out == "HELLO WORLD!\n"
        assert main(["--quiet", "hello", "world"]) == 0
        assert capsys.readouterr().out == "hello world\n"
        assert main(["hello", "world", "--quiet", "--debug"]) == 3  # the command's own exit code
        assert main(["hello", "nobody"]) == 2
        assert capsys.readouterr().err.strip() == "rolecall: error: hello: give someone's name"
        with pytest.raises(SystemExit):
            main(["hello", "--help"])
        shown = capsys.readouterr().out
        assert "Greet someone" in shown and "rolecall hello NAME [--shout]" in shown
        assert "greet without the exclamation mark" in shown
    assert "hello" not in COMMANDS and set(COMMANDS) >= CONTRACT  # gone with the scope; the built-ins stay
    assert main(["hello", "world"]) == 2
    assert "invalid choice: 'hello'" in capsys.readouterr().err


def test_the_registry_holds_the_contracts_commands_with_their_help() -> None:
    assert set(COMMANDS) >= CONTRACT
    for name, kind in COMMANDS.members().items():
        assert kind.name == name and kind.help(), name  # the docstring's first line is the help


def stub_arguments(kind: type[Command]) -> list[str]:
    """The least a command's parser accepts: a value for each required positional and option."""
    parser = argparse.ArgumentParser()
    kind().add_arguments(parser)
    argv: list[str] = []
    for action in parser._actions:
        value = str(next(iter(action.choices))) if action.choices else "1"
        if not action.option_strings and action.nargs not in ("?", "*"):
            argv.append(value)
        elif action.option_strings and action.required:
            argv += [action.option_strings[0], value]
    return argv


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_takes_quiet_and_debug_before_or_after_its_name(name: str) -> None:
    stub = stub_arguments(COMMANDS.get(name))
    parser = build_parser()
    for argv in ([name, *stub, "--quiet", "--debug"], ["--quiet", "--debug", name, *stub], ["--quiet", name, *stub]):
        args = parser.parse_args(argv)
        assert args.command == name and args.quiet is True, argv
        assert getattr(args, "debug", False) is ("--debug" in argv), argv
    plain = parser.parse_args([name, *stub])
    assert not hasattr(plain, "quiet") and not hasattr(plain, "debug")  # main makes them False


def test_cheap_commands_run_with_quiet_anywhere(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(saved), "--quiet", "--judge", "lexical"]) == 0
    assert "corpus" in capsys.readouterr().out
    assert main(["--quiet", "stats", str(saved), "--judge", "lexical"]) == 0
    assert "corpus" in capsys.readouterr().out
    assert main(["schema", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("{")
    assert main(["--quiet", "show", str(saved)]) == 0


def test_a_reader_reports_its_progress_through_every_file(saved: Path) -> None:
    told: list[store.ReadProgress] = []
    transcripts = list(store.Reader(on_progress=told.append).read([saved]))
    assert len(transcripts) == 5
    assert [progress.transcripts for progress in told if progress.files_read < 2][-1] == 5
    last = told[-1]
    total = sum(path.stat().st_size for path in saved.iterdir())
    assert (last.bytes_read, last.bytes_total, last.transcripts, last.files_read, last.files_total) == (
        total, total, 5, 2, 2
    )  # fmt: skip
    assert [progress.bytes_read for progress in told] == sorted(progress.bytes_read for progress in told)


def test_watching_reaches_the_readers_a_library_call_makes_for_itself(saved: Path, tmp_path: Path) -> None:
    told: list[store.ReadProgress] = []
    with store.watching(told.append):
        report = harvest([saved], tmp_path / "out", HarvestOptions())
    assert report.read == 5 and max(progress.transcripts for progress in told) == 5
    count = len(told)
    list(store.read(saved))  # outside the block nobody is told
    assert len(told) == count


def test_the_read_progress_bar_is_drawn_on_a_terminal_only() -> None:
    def drawn(*, quiet: bool, terminal: bool) -> str:
        out = io.StringIO()
        console = Console(file=out, force_terminal=terminal, width=100)
        with read_progress(quiet=quiet, label="reading", console=console) as update:
            update(store.ReadProgress(50, 100, 7, 0, 2))
        return out.getvalue()

    assert "7 transcripts" in drawn(quiet=False, terminal=True)
    assert drawn(quiet=True, terminal=True) == ""
    assert drawn(quiet=False, terminal=False) == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["stats", "DATA", "--judge", "lexical"],
        ["harvest", "DATA", "--format", "openai", "--out", "OUT", "--judge", "lexical"],
        ["judge", "DATA", "--out", "OUT/verdicts.jsonl", "--judge", "lexical"],
        ["show", "DATA"],
    ],
    ids=["stats", "harvest", "judge", "show"],
)
def test_commands_that_read_many_transcripts_show_their_progress(
    argv: list[str], saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[tuple[str, bool, store.ReadProgress]] = []

    @contextmanager
    def recording(*, quiet: bool, label: str = "reading") -> Iterator[Callable[[store.ReadProgress], None]]:
        yield lambda progress: told.append((label, quiet, progress))

    monkeypatch.setattr(options, "read_progress", recording)
    argv = [word.replace("DATA", str(saved)).replace("OUT", str(tmp_path / "out")) for word in argv]
    assert main(argv) == 0
    _, quiet, last = told[-1]
    assert (last.transcripts, last.files_read, quiet) == (5, 2, False)
    told.clear()
    assert main(["--quiet", *argv]) == 0
    assert told and all(quiet for _, quiet, _ in told)  # the bar is told it is off
