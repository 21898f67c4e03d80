"""Tool-use datasets: every format that has a place for calls keeps them, loads in `datasets`, and renders."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rolecall import RolePlay, Transcript
from rolecall.cli import main
from rolecall.models.base import Completion, ToolCall
from rolecall.testing import ScriptedModel
from rolecall.transcripts import append

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
DONE = "<TASK_DONE>"


def tool_roleplay(variant: int, *, failing: bool = False) -> Transcript:
    """Two instructions; the executor calls the calculator (and notes) before answering each."""
    expression = "1/0" if failing else f"{variant} * 2.40"
    user = [
        f"Instruction: price {variant} loaves of rye at 2.40 each\nInput: None",
        f"Instruction: write down the price of {variant} rye loaves for the menu board\nInput: None",
        DONE,
    ]
    assistant = [
        Completion(text="", tool_calls=[ToolCall(id="", name="calculator", arguments={"expression": expression})]),
        f"Solution: {variant} loaves of rye cost {variant * 2.4:.2f} euros in all, variant {variant}.\nNext request.",
        Completion(
            text="Noting it.",
            tool_calls=[
                ToolCall(id="", name="notes", arguments={"action": "add", "text": f"rye x{variant}"}),
                ToolCall(id="", name="notes", arguments={"action": "read"}),
            ],
        ),
        f"Solution: the menu board now lists {variant} rye loaves with their price, variant {variant}.\nNext request.",
    ]
    return RolePlay(
        "Price the rye bread", assistant_role="Accountant", user_role="Baker", user_model=ScriptedModel(user),
        assistant_model=ScriptedModel(assistant), assistant_tools=["calculator", "notes"], sample=variant,
    ).run()  # fmt: skip


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tools") / "t.jsonl"
    for variant in range(1, 6):
        append(path, tool_roleplay(variant), fsync=False)
    append(path, tool_roleplay(9, failing=True), fsync=False)
    return path


def harvested(transcripts: Path, out: Path, fmt: str, *extra: str) -> list[dict[str, Any]]:
    assert (
        main(["harvest", "--judge", "lexical", str(transcripts), "--format", fmt, "--out", str(out), "--quiet", *extra])
        == 0
    )
    if fmt == "parquet":
        return []
    return [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]


def test_openai_rows_carry_tools_calls_and_tool_messages(transcripts: Path, tmp_path: Path) -> None:
    rows = harvested(transcripts, tmp_path, "openai", "--no-near-dup")
    assert len(rows) == 6
    row = rows[0]
    assert [tool["function"]["name"] for tool in row["tools"]] == ["calculator", "notes"]
    roles = [message["role"] for message in row["messages"]]
    assert roles == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    calling = row["messages"][2]
    assert "content" not in calling and calling["weight"] == 1
    assert calling["tool_calls"][0]["function"] == {"name": "calculator", "arguments": '{"expression": "1 * 2.40"}'}
    assert row["messages"][3] == {"role": "tool", "tool_call_id": calling["tool_calls"][0]["id"], "content": "2.4"}
    assert row["messages"][6]["content"] == "Noting it." and len(row["messages"][6]["tool_calls"]) == 2
    assert row["messages"][8]["content"] == "1. rye x1"


def test_sharegpt_rows_use_function_call_and_observation_turns(transcripts: Path, tmp_path: Path) -> None:
    row = harvested(transcripts, tmp_path, "sharegpt", "--no-near-dup")[0]
    assert [turn["from"] for turn in row["conversations"]] == [
        "system", "human", "function_call", "observation", "gpt", "human", "function_call", "observation", "gpt",
    ]  # fmt: skip
    assert json.loads(row["conversations"][2]["value"]) == {
        "name": "calculator",
        "arguments": {"expression": "1 * 2.40"},
    }
    assert len(json.loads(row["conversations"][6]["value"])) == 2  # parallel calls: a list
    assert row["conversations"][7]["value"] == "noted (1 notes)\n1. rye x1"
    assert [tool["name"] for tool in json.loads(row["tools"])] == ["calculator", "notes"]
    info = json.loads((tmp_path / "dataset_info.json").read_text())["rolecall_train"]
    assert info["columns"]["tools"] == "tools" and info["tags"]["function_tag"] == "function_call"


def test_trl_rows_keep_arguments_as_objects_for_chat_templates(transcripts: Path, tmp_path: Path) -> None:
    row = harvested(transcripts, tmp_path / "trl", "trl", "--no-near-dup")[0]
    calling, result = row["messages"][2], row["messages"][3]
    assert calling["tool_calls"][0] == {
        "type": "function",
        "function": {"name": "calculator", "arguments": {"expression": "1 * 2.40"}},
    }
    assert result == {"role": "tool", "name": "calculator", "content": "2.4"}
    assert row["tools"][0]["type"] == "function"
    pc = harvested(transcripts, tmp_path / "pc", "trl-pc", "--no-near-dup")
    assert len(pc) == 6 * 4  # four trained turns each: two calls, two answers
    assert pc[0]["completion"][0]["tool_calls"][0]["function"]["name"] == "calculator"
    assert pc[1]["prompt"][-1]["role"] == "tool" and pc[0]["tools"] == row["tools"]


def test_alpaca_keeps_the_answers_and_the_card_says_what_each_format_drops(transcripts: Path, tmp_path: Path) -> None:
    rows = harvested(transcripts, tmp_path, "alpaca", "--no-near-dup")
    assert len(rows) == 12 and rows[0]["output"].startswith("Solution: 1 loaves")
    assert rows[0]["instruction"].startswith("Instruction: price 1 loaves")
    card = (tmp_path / "README.md").read_text()
    assert "Tool calls in the kept conversations: 18 (notes: 12, calculator: 6); 1 of them ended in an error" in card
    assert "alpaca format leaves out: every tool call and result" in card
    report = json.loads((tmp_path / "harvest_report.json").read_text())
    assert report["tool_calls"] == {"calculator": 6, "notes": 12} and report["tool_errors"] == 1


def test_tools_ok_keeps_only_conversations_whose_calls_all_ran(transcripts: Path, tmp_path: Path) -> None:
    rows = harvested(transcripts, tmp_path, "openai", "--no-near-dup", "--tools-ok")
    assert len(rows) == 5
    report = json.loads((tmp_path / "harvest_report.json").read_text())
    assert report["dropped"] == {"tool_error": 1}


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "alpaca", "trl", "trl-pc", "parquet"])
def test_every_tool_use_export_loads_with_datasets(fmt: str, transcripts: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    harvested(transcripts, tmp_path, fmt, "--no-near-dup")
    name = "train.parquet" if fmt == "parquet" else "train.jsonl"
    loaded = datasets.load_dataset("parquet" if fmt == "parquet" else "json", data_files=str(tmp_path / name))["train"]
    assert len(loaded) == (12 if fmt == "alpaca" else 24 if fmt == "trl-pc" else 6)
    if fmt in ("openai", "trl"):
        assert loaded[0]["tools"][1]["function"]["name"] == "notes"
        assert loaded[0]["messages"][2]["tool_calls"][0]["function"]["name"] == "calculator"


# -- real chat templates --------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    """The environment Hugging Face renders chat templates in (sandboxed, loopcontrols, tojson)."""
    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    environment.filters["tojson"] = lambda value, indent=None: json.dumps(value, ensure_ascii=False, indent=indent)
    return environment


def _llama_cpp_template(name: str) -> str:
    """A real model's chat template, from the llama.cpp sources ``make`` builds the embedded server from."""
    from rolecall.models import llama_build

    path = llama_build.source() / "models" / "templates" / f"{name}.jinja"
    assert path.is_file(), "make install builds llama.cpp and keeps its chat templates (rolecall.models.llama_build)"
    return path.read_text()


def test_an_openai_tool_row_renders_through_qwen25s_own_template(transcripts: Path, tmp_path: Path) -> None:
    row = harvested(transcripts, tmp_path, "openai", "--no-near-dup")[0]
    template = _environment().from_string(_llama_cpp_template("Qwen-Qwen2.5-7B-Instruct"))
    messages = [{key: value for key, value in m.items() if key != "weight"} for m in row["messages"]]
    text = template.render(messages=messages, tools=row["tools"], add_generation_prompt=False)
    tools = text.split("<tools>\n")[1].split("\n</tools>")[0].splitlines()  # one JSON object a line
    assert [json.loads(tool)["function"]["name"] for tool in tools] == ["calculator", "notes"]
    assert '<tool_call>\n{"name": "calculator", "arguments": "{\\"expression\\": \\"1 * 2.40\\"}"}' in text
    assert "<tool_response>\n2.4\n</tool_response>" in text
    assert "Solution: 1 loaves of rye" in text


HERMES_STYLE = """{%- if tools %}<|im_start|>system
{{ messages[0].content }}

# Tools
<tools>
{% for tool in tools %}{{ tool.function | tojson }}
{% endfor %}</tools>
For each call, return <tool_call>{"name": ..., "arguments": ...}</tool_call><|im_end|>
{% endif %}
{%- for message in messages[1:] %}
{%- if message.role == "tool" %}<|im_start|>user
<tool_response>
{{ message.content }}
</tool_response><|im_end|>
{% elif message.tool_calls %}<|im_start|>assistant
{% if message.content %}{{ message.content }}
{% endif %}{% for call in message.tool_calls %}<tool_call>
{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}
</tool_call>
{% endfor %}<|im_end|>
{% else %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{%- endfor %}"""


def test_a_trl_tool_row_renders_through_a_hermes_style_template_with_arguments_as_objects(
    transcripts: Path, tmp_path: Path
) -> None:
    row = harvested(transcripts, tmp_path, "trl", "--no-near-dup")[0]
    text = _environment().from_string(HERMES_STYLE).render(messages=row["messages"], tools=row["tools"])
    assert '<tool_call>\n{"name": "calculator", "arguments": {"expression": "1 * 2.40"}}\n</tool_call>' in text
    assert "<tool_response>\n2.4\n</tool_response>" in text
    assert text.count("<tool_call>\n{") == 3 and '"name": "notes"' in text
    assert json.loads(text.split("<tools>\n")[1].split("\n")[0])["name"] == "calculator"
