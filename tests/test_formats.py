"""Export formats are one registry: a new format is one class (or one new module), and nothing asks a name.

A plugin's format is registered in :meth:`Registry.scoped` so it leaves with its test; a new
module of ``rolecall.transcripts.formats`` is found by the registry in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rolecall
from rolecall import RolePlay, Transcript
from rolecall.errors import SpecError
from rolecall.models.base import Completion, ToolCall
from rolecall.testing import ScriptedModel
from rolecall.transcripts import append
from rolecall.transcripts.formats import FORMATS, Format, Kept, get_format, register_format
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.quality import QualityFloor
from rolecall.transcripts.report import HarvestOptions

DONE = "<TASK_DONE>"
TOPICS = ["moving averages", "a risk limit of two percent", "backtests over five years", "alerts by email"]
BUILT_INS = ["openai", "sharegpt", "alpaca", "trl", "trl-pc", "parquet", "dpo"]


def instruction(variant: int, step: int) -> str:
    return f"Instruction: add {TOPICS[(variant + step) % len(TOPICS)]} to the bot, step {step}\nInput: None"


def solution(variant: int, step: int) -> str:
    return f"Solution: {TOPICS[(variant + step) % len(TOPICS)]} is in, tested, variant {variant}.\nNext request."


def roleplay(variant: int) -> Transcript:
    """A finished role-play of two instructions and two answers, worded by ``variant``."""
    return RolePlay(
        "Develop a trading bot", assistant_role="Python Programmer", user_role="Stock Trader",
        user_model=ScriptedModel([instruction(variant, 0), instruction(variant, 1), DONE]),
        assistant_model=ScriptedModel([solution(variant, 0), solution(variant, 1)]),
    ).run()  # fmt: skip


def tool_roleplay() -> Transcript:
    """A finished role-play whose executor calls the calculator before it answers."""
    call = ToolCall(id="", name="calculator", arguments={"expression": "3 * 2.40"})
    return RolePlay(
        "Price the rye bread", assistant_role="Accountant", user_role="Baker",
        user_model=ScriptedModel(["Instruction: price 3 loaves of rye at 2.40 each\nInput: None", DONE]),
        assistant_model=ScriptedModel([Completion(text="", tool_calls=[call]),
                                       "Solution: 3 loaves of rye cost 7.20 euros.\nNext request."]),
        assistant_tools=["calculator"],
    ).run()  # fmt: skip


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("formats") / "in.jsonl"
    for transcript in [roleplay(0), roleplay(1), roleplay(2), tool_roleplay()]:
        append(path, transcript, fsync=False)
    return path


class Answers(Format):
    """One row per trained answer: the line before it and the answer (a plugin's format, as a user writes it)."""

    name = "answers"
    drops = "every tool call and result, and all but the line before each answer"
    per_turn = True

    def rows(self, kept: Kept) -> Iterator[dict[str, Any]]:
        turns = kept.chat.turns
        for index in kept.trained():
            if turns[index].plain:
                yield {"id": kept.transcript.id, "prompt": turns[index - 1].content, "answer": turns[index].content}

    def llama_factory(self, file_name: str, *, loss: str) -> dict[str, Any]:
        return {"file_name": file_name, "columns": {"prompt": "prompt", "response": "answer"}}


@pytest.fixture
def answers() -> Iterator[type[Format]]:
    with FORMATS.scoped():
        yield register_format(Answers)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_built_ins_are_listed_in_one_order_and_say_what_they_drop() -> None:
    assert list(FORMATS)[: len(BUILT_INS)] == BUILT_INS
    assert [name for name in BUILT_INS if get_format(name).per_turn] == ["openai", "alpaca", "trl-pc"]
    assert all(FORMATS.get(name).drops != Format.drops for name in BUILT_INS)
    assert [name for name in BUILT_INS if get_format(name).suffix != "jsonl"] == ["parquet"]


def test_a_plugin_format_writes_its_rows_and_the_card_names_it(
    answers: type[Format], source: Path, tmp_path: Path
) -> None:
    report = harvest([source], tmp_path / "out", HarvestOptions(format="answers"))
    assert report.kept == 4 and report.files == ["train.jsonl"]
    rows = lines(tmp_path / "out" / "train.jsonl")
    assert [{"prompt": row["prompt"], "answer": row["answer"]} for row in rows[:6]] == [
        {"prompt": instruction(variant, step), "answer": solution(variant, step)}
        for variant in range(3)
        for step in range(2)
    ]
    assert [row["answer"] for row in rows[6:]] == ["Solution: 3 loaves of rye cost 7.20 euros.\nNext request."]
    assert report.rows == {"train": 7}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "tags: [rolecall, synthetic, role-play, answers]" in card and "in the **answers** format" in card
    assert f"What the answers format leaves out: {Answers.drops}." in card
    assert json.loads((tmp_path / "out" / "dataset_info.json").read_text()) == {
        "rolecall_train": {"file_name": "train.jsonl", "columns": {"prompt": "prompt", "response": "answer"}}
    }
    axolotl = (tmp_path / "out" / "axolotl.yaml").read_text()
    assert axolotl == "# Axolotl reads the openai, sharegpt and trl formats with type: chat_template.\n"


def test_a_plugin_format_follows_the_loss_and_the_other_formats_cards_list_it(
    answers: type[Format], source: Path, tmp_path: Path
) -> None:
    harvest([source], tmp_path / "last", HarvestOptions(format="answers", loss="last"))
    assert [row["answer"] for row in lines(tmp_path / "last" / "train.jsonl")[:3]] == [
        solution(variant, 1) for variant in range(3)
    ]
    harvest([source], tmp_path / "openai", HarvestOptions(format="openai"))
    card = (tmp_path / "openai" / "README.md").read_text()
    assert f"; answers: {Answers.drops}.\n" in card  # the tool section lists every other format, the plugin's too


def test_a_plugin_format_leaves_with_its_scope(source: Path, tmp_path: Path) -> None:
    with FORMATS.scoped():
        register_format(Answers)
        assert "answers" in FORMATS and list(FORMATS)[-1] == "answers"
    assert "answers" not in FORMATS
    with pytest.raises(SpecError, match="choose one of"):
        HarvestOptions(format="answers")


def test_an_unknown_format_is_a_one_line_error_listing_the_known_ones(answers: type[Format], tmp_path: Path) -> None:
    with pytest.raises(SpecError) as raised:
        HarvestOptions(format="csv")
    message = str(raised.value)
    assert "\n" not in message and message.startswith("--format 'csv': choose one of ")
    assert message.removeprefix("--format 'csv': choose one of ").split(", ") == [*BUILT_INS, "answers"]
    with pytest.raises(SpecError, match=r"^no such format 'csv'; known: openai, sharegpt, .*, dpo, answers$"):
        get_format("csv")


def test_the_cli_refuses_an_unknown_format_naming_the_known_ones(
    answers: type[Format], source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rolecall.cli import main

    out = str(tmp_path / "out")
    assert main(["harvest", "--judge", "lexical", str(source), "--format", "csv", "--out", out]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "invalid choice: 'csv'" in error and all(f"'{name}'" in error for name in [*BUILT_INS, "answers"])
    assert main(["harvest", "--judge", "lexical", str(source), "--format", "answers", "--out", out, "--quiet"]) == 0
    assert len(lines(tmp_path / "out" / "train.jsonl")) == 7


def test_content_checks_by_turn_ask_the_format_whether_it_trains_per_turn(
    answers: type[Format], source: Path, tmp_path: Path
) -> None:
    by_turn = QualityFloor(content="turns")
    with pytest.raises(SpecError, match=r"use --format openai, alpaca, trl-pc, answers$"):
        HarvestOptions(format="trl", floor=by_turn)
    report = harvest([source], tmp_path / "out", HarvestOptions(format="answers", floor=by_turn))
    assert report.kept == 4 and report.rows == {"train": 7}


NEW_MODULE = '''
"""A format added as one new module of rolecall.transcripts.formats: answers as plain text blocks."""

from pathlib import Path
from typing import Any

from rolecall._secrets import scrub
from rolecall.transcripts.formats.base import Format, register_format


class _Blocks:
    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8")

    def write(self, row: dict[str, Any]) -> int:
        text, found = scrub(row["text"])
        self._file.write(text + "\\n\\n")
        return found

    def close(self) -> None:
        self._file.close()


@register_format
class Blocks(Format):
    """The trained agent's answers, one text block each."""

    name = "blocks"
    drops = "everything but the answers"
    suffix = "txt"

    def rows(self, kept):
        return [{"text": kept.chat.turns[index].content} for index in kept.trained()]

    def sink(self, path: Path, split: str) -> _Blocks:
        return _Blocks(path)
'''

RUN = """
import sys
import rolecall.transcripts.formats as formats

formats.__path__.append(sys.argv[1])  # as if blocks.py were a file of the package
from rolecall.cli import main

sys.exit(main(["harvest", "--judge", "lexical", sys.argv[2], "--format", "blocks", "--out", sys.argv[3], "--quiet"]))
"""


def test_a_new_module_in_the_formats_package_is_a_format_with_nothing_else_edited(source: Path, tmp_path: Path) -> None:
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / "blocks.py").write_text(textwrap.dedent(NEW_MODULE))
    where = str(Path(rolecall.__file__).parent.parent)  # the rolecall under test
    env = os.environ | {"PYTHONPATH": os.pathsep.join([where, os.environ.get("PYTHONPATH", "")])}
    run = [sys.executable, "-c", RUN, str(tmp_path / "package"), str(source), str(tmp_path / "out")]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    blocks = (tmp_path / "out" / "train.txt").read_text().split("\n\n")
    assert blocks[:6] == [solution(variant, step) for variant in range(3) for step in range(2)]
    assert blocks[6:] == ["", "Solution: 3 loaves of rye cost 7.20 euros.\nNext request.", ""]  # the call, the answer
    report = json.loads((tmp_path / "out" / "harvest_report.json").read_text())
    assert report["format"] == "blocks" and report["files"] == ["train.txt"]
    assert "in the **blocks** format" in (tmp_path / "out" / "README.md").read_text()


def compared_constants(node: ast.Compare) -> list[object]:
    """The constants a comparison compares with, those in a literal tuple, list or set included."""
    operands = [node.left, *node.comparators]
    items = [item for o in operands for item in (o.elts if isinstance(o, ast.Tuple | ast.List | ast.Set) else [o])]
    return [item.value for item in items if isinstance(item, ast.Constant)]


def test_nothing_outside_the_formats_package_branches_on_a_format_name() -> None:
    package = Path(rolecall.__file__).parent
    names = set(FORMATS)
    found = [
        f"{path.relative_to(package)}:{node.lineno}: {ast.unparse(node)}"
        for path in package.rglob("*.py")
        if "formats" not in path.relative_to(package).parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Compare) and names.intersection(map(str, compared_constants(node)))
    ]
    assert found == []
