"""The loop rolecall exists for: a small model improved by dialogues the system around it made.

1. generate: the embedded SmolLM2-135M holds the role-plays of bench/self_improve_roles.yaml
   (roles and tasks disjoint from the evaluation suite) with the guards and JSON turns on;
2. harvest: above the quality floor, judged by turn (``--content-checks turns``): each turn on
   task of a role-play that ended well or ran its turns out becomes a TRL prompt-completion
   row, from the executor's and from the instructor's side, its prompt the conversation so
   far under the plain-text system prompt the turns follow;
3. train: full fine-tuning of SmolLM2-135M on them with TRL's SFTTrainer, loss on the
   completion only, on the CPU;
4. convert: the tuned model back to GGUF (llama.cpp's converter, from the llama-cpp-python
   source distribution on PyPI) and served by the same server as the embedded model;
5. evaluate: ``rolecall eval`` on the base model with JSON turns on and off, and on the tuned
   model with JSON turns off, the guards on in all three.

Every stage keeps its output under ``--out`` and is skipped when that output exists, so a
rerun continues where the last one stopped. Prints, and writes to ``OUT/table.md``, the
figures of docs/self_improve.md.

    python bench/self_improve.py [--out runs/self_improve] [--conversations N] [--epochs 2] [--learning-rate 5e-5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rolecall import open_model
from rolecall.evaluation import Evaluation, Scorecard, load_suite
from rolecall.evaluation.report import markdown
from rolecall.judges import open_judge
from rolecall.models import llama_build
from rolecall.models.base import ChatModel
from rolecall.models.endpoint import as_embedded
from rolecall.models.local import LOCAL_MODEL_NAME, LocalServer
from rolecall.models.openai_compat import OpenAIChatModel
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.quality import QualityFloor
from rolecall.transcripts.report import HarvestOptions

HERE = Path(__file__).parent
TUNED_NAME = "SmolLM2-135M-rolecall-tuned"
JSON_ON: dict[str, Any] = {"assist": {"json_turns": True}}
JSON_OFF: dict[str, Any] = {"assist": {"json_turns": False}}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def hold(evaluation: Evaluation, model: ChatModel, concurrency: int) -> Scorecard:
    """The suite held and scored by the default judge."""
    try:
        with open_judge() as judge:
            return await evaluation.hold(model, judge, concurrency=concurrency)
    finally:
        await model.aclose()


def generate(out: Path, concurrency: int, count: int | None) -> Path:
    folder = out / "generated"
    suite = load_suite(HERE / "self_improve_roles.yaml").first(count)
    with open_model() as model:
        card = asyncio.run(hold(Evaluation(suite, JSON_ON, folder, "generate"), model, concurrency))
    log(f"generated {card.conversations} conversations ({card.successes} succeeded after real work)")
    return folder / "conversations.jsonl"


def harvest_rows(transcripts: Path, out: Path) -> Path:
    rows = out / "data" / "train.jsonl"
    if rows.exists():
        return rows
    lines: list[str] = []
    # The floor by turn: a role-play that ended well (or ran its turns out) keeps its turns on task as rows, each
    # with the conversation before it as the prompt; the turns off task stay context only.
    floor = QualityFloor(reasons=frozenset({"task_done", "graph_complete", "max_turns"}), content="turns")
    for side in ("assistant", "user"):
        options = HarvestOptions(format="trl-pc", perspective=side, floor=floor)
        report = harvest([transcripts], out / "data" / side, options)
        log(
            f"{side}: kept {report.kept} of {report.read} conversations, {sum(report.rows.values())} rows; "
            f"dropped {dict(report.dropped.most_common())}; turns left untrained {dict(report.untrained)}"
        )
        lines += (out / "data" / side / "train.jsonl").read_text(encoding="utf-8").splitlines()
    rows.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def train(rows: Path, out: Path, epochs: float, learning_rate: float) -> Path:
    tuned = out / "tuned"
    if (tuned / "config.json").exists():
        return tuned
    import datasets
    from trl import SFTConfig, SFTTrainer

    from rolecall.training import CHATML_SERVING_TEMPLATE, smollm2

    model, tokenizer = smollm2()
    data = datasets.load_dataset("json", data_files=str(rows), split="train")
    args = SFTConfig(
        output_dir=str(out / "checkpoints"), num_train_epochs=epochs, learning_rate=learning_rate,
        per_device_train_batch_size=4, gradient_accumulation_steps=1, max_length=1024,
        lr_scheduler_type="cosine", warmup_steps=5, logging_steps=5, save_strategy="no", report_to=[], use_cpu=True,
    )  # fmt: skip
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
    started = time.monotonic()
    trainer.train()
    minutes = (time.monotonic() - started) / 60
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    log(f"trained {len(data)} rows x {epochs} epochs in {minutes:.1f} min; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    tokenizer.chat_template = CHATML_SERVING_TEMPLATE  # llama.cpp's template engine knows no {% generation %}
    trainer.save_model(str(tuned))
    tokenizer.save_pretrained(str(tuned))
    facts = {"rows": len(data), "epochs": epochs, "learning_rate": learning_rate, "minutes": round(minutes, 1),
             "loss_first": losses[0], "loss_last": losses[-1]}  # fmt: skip
    (out / "training.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return tuned


def convert(tuned: Path, out: Path) -> Path:
    gguf = out / "tuned.gguf"
    if gguf.exists():
        return gguf
    root = llama_build.source()  # llama.cpp's converter, kept from the sources the embedded server is built from
    subprocess.run(
        [sys.executable, str(root / "convert_hf_to_gguf.py"), str(tuned), "--outfile", str(gguf), "--outtype", "f16"],
        check=True, env={**os.environ, "PYTHONPATH": f"{root / 'gguf-py'}:{root}"},
    )  # fmt: skip
    return gguf


def evaluate(
    label: str, folder: str, overrides: dict[str, Any], out: Path, *, concurrency: int, gguf: Path | None = None
) -> Scorecard:
    """``rolecall eval`` on the embedded model, or on ``gguf`` served and treated the same way."""
    suite = load_suite()
    with LocalServer(gguf=gguf, name=TUNED_NAME if gguf else LOCAL_MODEL_NAME) as server:
        model = as_embedded(OpenAIChatModel(server.name, base_url=server.base_url), server.n_ctx)
        card = asyncio.run(hold(Evaluation(suite, overrides, out / "eval" / folder, label), model, concurrency))
    log(f"{label}: {100 * card.share('first'):.0f}% first drafts, {100 * card.share('final'):.0f}% final turns on task")
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/self_improve"))
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--conversations", type=int, default=120, help="the first N role-plays of the set (120: three seeds a pair)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    transcripts = generate(args.out, args.concurrency, args.conversations)
    rows = harvest_rows(transcripts, args.out)
    gguf = convert(train(rows, args.out, args.epochs, args.learning_rate), args.out)
    cards = [
        evaluate("base, JSON turns on", "base-json", JSON_ON, args.out, concurrency=args.concurrency),
        evaluate("base, JSON turns off", "base-plain", JSON_OFF, args.out, concurrency=args.concurrency),
        evaluate("tuned, JSON turns off", "tuned-plain", JSON_OFF, args.out, concurrency=args.concurrency, gguf=gguf),
    ]
    table = markdown(cards)
    (args.out / "table.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
