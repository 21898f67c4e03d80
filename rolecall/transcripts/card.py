"""The dataset card and ready-to-paste trainer configs written beside every harvest.

``README.md`` says what the dataset holds and what was dropped and why; ``dataset_info.json``
is LLaMA-Factory's registration; ``axolotl.yaml`` is an Axolotl ``chat_template`` snippet;
``harvest_report.json`` holds every count for machines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from rolecall._secrets import write_text
from rolecall._version import __version__
from rolecall.transcripts.content import summary
from rolecall.transcripts.formats import FORMATS, get_format
from rolecall.transcripts.report import HarvestOptions, HarvestReport

#: What is known of the terms of models rolecall users often generate with.
MODEL_TERMS = {
    "SmolLM2": "Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct): outputs may be used freely; keep the notice.",
    "gpt-": "OpenAI's terms of use: outputs may not be used to develop models that compete with OpenAI.",
    "o1": "OpenAI's terms of use: outputs may not be used to develop models that compete with OpenAI.",
    "claude": "Anthropic's terms: outputs may not be used to build competing models.",
    "llama": "The Llama community license: name Llama in derived model names; check the acceptable use policy.",
    "Qwen": "Qwen's license (Apache-2.0 for most sizes; check the model card of the size you used).",
    "mistral": "Mistral's license for the model used (Apache-2.0 for open weights; check the model card).",
}


def terms_of(model: str) -> str:
    for prefix, terms in MODEL_TERMS.items():
        if model.lower().startswith(prefix.lower()):
            return terms
    return "Unknown here: read the model's license and terms of use before training on its outputs."


def dataset_info(report: HarvestReport) -> dict[str, Any]:
    """LLaMA-Factory's ``dataset_info.json`` entries for the written files (none for a format it cannot read)."""
    fmt = get_format(report.format)
    entries: dict[str, Any] = {}
    for name in report.files:
        entry = fmt.llama_factory(name, loss=report.loss)
        if entry is not None:
            entries[f"rolecall_{name.removesuffix(f'.{fmt.suffix}')}"] = entry
    return entries


def axolotl_snippet(out: Path, report: HarvestReport) -> str:
    """An Axolotl ``datasets:`` entry using ``type: chat_template``."""
    fmt = get_format(report.format)
    entry = fmt.axolotl(out / fmt.file_name("train"))
    if entry is None:
        readable = [name for name, kind in FORMATS.members().items() if kind().axolotl(out) is not None]
        return f"# Axolotl reads the {_listed(readable)} formats with type: chat_template.\n"
    return yaml.safe_dump({"datasets": [entry]}, sort_keys=False)


def _listed(names: list[str]) -> str:
    """``a, b and c``."""
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else "".join(names) or "no"


def write_card(out: Path, report: HarvestReport, options: HarvestOptions) -> None:
    """Write README.md, dataset_info.json, axolotl.yaml and harvest_report.json into ``out``."""
    write_text(out / "harvest_report.json", json.dumps(report.as_dict(), indent=2) + "\n")
    write_text(out / "dataset_info.json", json.dumps(dataset_info(report), indent=2) + "\n")
    write_text(out / "axolotl.yaml", axolotl_snippet(out, report))
    write_text(out / "README.md", _card(report, options))


def _tool_section(report: HarvestReport) -> str:
    """The card's account of tool use, and what this format keeps of it (empty without tool calls)."""
    if not report.tool_calls:
        return ""
    formats = FORMATS.members()
    calls = ", ".join(f"{name}: {count}" for name, count in report.tool_calls.most_common())
    total = sum(report.tool_calls.values())
    return f"""## Tool use

Tool calls in the kept conversations: {total} ({calls}); {report.tool_errors} of them ended in an error,
which the agent read and the rows keep. The tools offered to the trained agent are in each row.
What the {report.format} format leaves out: {formats[report.format].drops}.
For the other formats: {"; ".join(f"{name}: {fmt.drops}" for name, fmt in formats.items() if name != report.format)}.

"""


def _card(report: HarvestReport, options: HarvestOptions) -> str:
    floor = options.floor
    dropped = (
        "\n".join(f"| {reason} | {count} |" for reason, count in sorted(report.dropped.items())) or "| (none) | 0 |"
    )
    models = (
        "\n".join(f"| {model} | {count} | {terms_of(model)} |" for model, count in report.models.most_common() if count)
        or "| (none) | | |"
    )
    params = (
        "\n".join(f"- `{entry['model']}`: `{json.dumps(entry['params'])}`" for entry in report.params) or "- (none)"
    )
    splits = ", ".join(
        f"{split}: {count} conversations, {report.rows[split]} rows"
        for split, count in sorted(report.conversations.items())
    )
    dedup = report.dedup
    near = f"Jaccard >= {options.near_dup_threshold}" if options.near_dup else "near-dup off"
    tools = _tool_section(report) + get_format(report.format).card_section(report.pairs)
    untrained = (
        f"\nContent checks by turn: {sum(report.untrained.values())} of the trained agent's turns were off task and "
        f"are context only, never trained ({summary(report.untrained)}).\n"
        if floor.content == "turns"
        else ""
    )
    if options.train_share >= 1:
        split_note = "One split (train)."
    else:
        split_note = (
            f"Train share {options.train_share}, by group (task x roles), seed {options.seed}: "
            "no task and role pair appears in both splits."
        )
    return f"""---
tags: [rolecall, synthetic, role-play, {report.format}]
---

# Role-play dataset harvested by rolecall {__version__}

Conversations between CAMEL-style role-playing agents, exported for training the
**{report.perspective}** side in the **{report.format}** format with the loss on
**{"every" if report.loss == "all" else "the last"}** turn of that side.

## Contents

- read: {report.read} conversations ({len(report.malformed)} unreadable lines skipped and reported)
- kept: {report.kept} ({splits or "nothing written"})
- files: {", ".join(report.files) or "none"}
- secrets scrubbed from message content: {report.secrets_scrubbed}

## What was dropped, and why

Quality floor: termination reason in {{{", ".join(sorted(floor.reasons))}}}, at least {floor.min_turns} turn(s),
no guard verdict left standing (flagged or given up), no refusal or empty turn{
        ", every turn of a role-play on task by the content checks (`content:REASON`: see rolecall's README)"
        if floor.content == "conversation"
        else ""
    }{f", score at least {floor.min_score}" if floor.min_score is not None else ""}{
        ", every tool call valid and run without error (--tools-ok)" if floor.tools_ok else ""
    }.

| reason | conversations |
|---|---|
{dropped}
{untrained}
Deduplication: {dedup.exact_clusters} exact-duplicate clusters ({dedup.exact_dropped} dropped),
{dedup.near_clusters} near-duplicate clusters ({dedup.near_dropped} dropped; MinHash over word 5-grams, {near}).
The first conversation of each cluster is kept.

{tools}## Generating models and their terms

| model | agents | terms to respect |
|---|---|---|
{models}

Parameters seen:
{params or "- (none)"}

## Splits

{split_note}

## Known limits

- Synthetic dialogue: agents can be confidently wrong; nothing here was checked by a person.
- Re-asked replies rejected by guards are not included (they are kept in the source transcripts' events).
- Small generating models (such as SmolLM2-135M) produce low-quality text: use them to test pipelines, not to train.

## Use

- LLaMA-Factory: merge `dataset_info.json` into your `data/dataset_info.json`.
- Axolotl: paste `axolotl.yaml` into your config.
- Hugging Face: `load_dataset("json", data_files="train.jsonl")`.
"""
