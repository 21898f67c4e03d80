"""Export formats: one agent's side of a kept conversation turned into the rows a trainer reads.

``base`` defines :class:`Format` and the registry :data:`FORMATS`; every other public module
of this package is one format, registered by its own class:

``openai``   {"messages": [...], "tools": [...]} with ``weight`` 0/1 on assistant messages
``sharegpt`` {"conversations": [{"from", "value"}], "tools": "<JSON>"} (LLaMA-Factory)
``alpaca``   one row per trained answer: instruction, input, output, system, history
``trl``      {"messages": [...], "tools": [...]} for TRL's SFT, arguments as objects
``trl-pc``   {"prompt": [...], "completion": [...], "tools": [...]} for TRL's completion-only loss
``parquet``  the canonical record, flattened
``dpo``      {"prompt", "chosen", "rejected", "source"}: TRL's conversational preference pairs

The built-ins are imported here, in the order the CLI and the dataset card list them; a module
added to this package joins after them (the registry imports it when first read), and an
installed package's format after that (entry point group ``rolecall.formats``).
"""

# ruff: noqa: I001 (the built-ins are imported in the order they are listed, not sorted)

from rolecall.transcripts.formats.base import (
    ENTRY_POINT_GROUP,
    FORMATS,
    Format,
    JsonlSink,
    Kept,
    Loss,
    Sink,
    get_format,
    register_format,
    trained_turns,
)
from rolecall.transcripts.formats.openai import OpenAI, openai_rows
from rolecall.transcripts.formats.sharegpt import ShareGPT, sharegpt_rows
from rolecall.transcripts.formats.alpaca import Alpaca, alpaca_rows
from rolecall.transcripts.formats.trl import TRL, trl_rows
from rolecall.transcripts.formats.trl_pc import TRLPromptCompletion, trl_prompt_completion_rows
from rolecall.transcripts.formats.parquet import Parquet
from rolecall.transcripts.formats.dpo import DPO

__all__ = [
    "DPO",
    "ENTRY_POINT_GROUP",
    "FORMATS",
    "TRL",
    "Alpaca",
    "Format",
    "JsonlSink",
    "Kept",
    "Loss",
    "OpenAI",
    "Parquet",
    "ShareGPT",
    "Sink",
    "TRLPromptCompletion",
    "alpaca_rows",
    "get_format",
    "openai_rows",
    "register_format",
    "sharegpt_rows",
    "trained_turns",
    "trl_prompt_completion_rows",
    "trl_rows",
]
