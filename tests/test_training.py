"""A real trainer round trip: TRL trains on every SFT export and on the preference pairs.

The model is SmolLM2's own configuration cut to two layers, with its own tokenizer, both read
from the GGUF file the embedded model ships; a couple of steps each. The loss must be finite,
and the tokens the loss is computed on must be exactly the trained agent's turns.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import pytest
from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

from rolecall import RolePlay, Transcript
from rolecall.testing import ScriptedModel
from rolecall.training import sharegpt_messages, smollm2, trained_text
from rolecall.transcripts import append
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.report import HarvestOptions

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
END = "<|im_end|>"
STEPS = (
    ("the moving averages of daily closing prices", "pandas rolling means of 20 and 50 days over the Close column"),
    ("the rule that decides when the bot buys", "buy when the 20-day average crosses above the 50-day one"),
    ("a stop loss for every open position", "sell when a position has lost two percent of its entry price"),
    ("a report of each day's trades", "a CSV with time, ticker, side, shares and price for every fill"),
)


def conversation(number: int) -> Transcript:
    """Two instructions about a trading bot; the executor's first draft is a promise, re-asked (a DPO pair)."""
    first, second = STEPS[number % 4], STEPS[(number + 1) % 4]
    instructor = [f"Instruction: Write {first[0]} for the trading bot {number}.\nInput: None",
                  f"Instruction: Now add {second[0]} to the bot.\nInput: None", "<TASK_DONE>"]  # fmt: skip
    executor = ["Sure, I will do that.", f"Solution: Here is the code: {first[1]}, for bot {number}.\nNext request.",
                f"Solution: Done with care: {second[1]}, tested on bot {number}.\nNext request."]  # fmt: skip
    return RolePlay(
        f"Develop trading bot {number} for the stock market", assistant_role="Python Programmer",
        user_role="Stock Trader", user_model=ScriptedModel(instructor), assistant_model=ScriptedModel(executor),
    ).run()  # fmt: skip


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("exports")
    for number in range(4):
        append(root / "transcripts.jsonl", conversation(number), fsync=False)
    for fmt in ("openai", "trl", "trl-pc", "sharegpt", "dpo"):
        report = harvest([root / "transcripts.jsonl"], root / fmt, HarvestOptions(format=fmt, near_dup=False))
        assert report.kept == 4, report.dropped
    yield root


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, Any]:
    return smollm2(layers=2)


def rows(exports: Path, fmt: str) -> datasets.Dataset:
    data = datasets.load_dataset("json", data_files=str(exports / fmt / "train.jsonl"), split="train")
    assert isinstance(data, datasets.Dataset)
    return data


def finite_losses(trainer: Any) -> list[float]:
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses and all(math.isfinite(loss) for loss in losses)
    return losses


def sft(model: Any, tokenizer: Any, data: datasets.Dataset, out: Path, **options: Any) -> SFTTrainer:
    args = SFTConfig(
        output_dir=str(out), max_steps=2, per_device_train_batch_size=2, max_length=512, report_to=[],
        logging_steps=1, save_strategy="no", use_cpu=True, activation_checkpointing=False, **options,
    )  # fmt: skip
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
    trainer.train()
    return trainer


@pytest.mark.parametrize("fmt", ["openai", "trl", "sharegpt"])
def test_sft_on_whole_conversations_trains_exactly_the_agents_turns(
    fmt: str, exports: Path, tiny: tuple[Any, Any], tmp_path: Path
) -> None:
    model, tokenizer = tiny
    data = rows(exports, fmt)
    if fmt == "sharegpt":
        data = data.map(
            lambda row: {"messages": sharegpt_messages(row["conversations"])}, remove_columns=["conversations"]
        )
    if fmt == "openai":
        assert all(m["weight"] == 1 for row in data for m in row["messages"] if m["role"] == "assistant")
    trainer = sft(model, tokenizer, data, tmp_path, assistant_only_loss=True)
    finite_losses(trainer)
    for row in trainer.train_dataset:
        expected = "".join(m["content"] + END for m in row["messages"] if m["role"] == "assistant")
        assert trained_text(tokenizer, row["input_ids"], row["labels"]) == expected
        assert expected.count("Solution:") == 2 and "Instruction:" not in expected


def test_sft_on_prompt_completion_rows_trains_only_the_completion(
    exports: Path, tiny: tuple[Any, Any], tmp_path: Path
) -> None:
    model, tokenizer = tiny
    data = rows(exports, "trl-pc")
    assert len(data) == 8  # one row per trained turn
    trainer = sft(model, tokenizer, data, tmp_path)
    finite_losses(trainer)
    for row in trainer.train_dataset:
        trained = trained_text(tokenizer, row["input_ids"], row["labels"])
        assert trained.startswith(row["completion"][0]["content"])
        assert trained.removeprefix(row["completion"][0]["content"]).strip() == END


def test_dpo_trains_on_the_preference_pairs_source_column_included(
    exports: Path, tiny: tuple[Any, Any], tmp_path: Path
) -> None:
    model, tokenizer = tiny
    data = rows(exports, "dpo")
    assert set(data.column_names) == {"prompt", "chosen", "rejected", "source"}
    assert set(data["source"]) == {"guard:off_format"} and len(data) == 4
    args = DPOConfig(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=2, max_length=512, report_to=[],
        logging_steps=1, save_strategy="no", use_cpu=True, activation_checkpointing=False,
    )  # fmt: skip
    reference = copy.deepcopy(model)  # TRL would otherwise load one from the model's path, which is a GGUF folder
    trainer = DPOTrainer(model=model, ref_model=reference, args=args, train_dataset=data, processing_class=tokenizer)
    trainer.train()
    finite_losses(trainer)
    row = json.loads((exports / "dpo" / "train.jsonl").read_text().splitlines()[0])
    assert row["rejected"][0]["content"] == "Sure, I will do that."
