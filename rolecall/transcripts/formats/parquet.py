"""The ``parquet`` format: the whole canonical record, one row per conversation, in Parquet files.

The columns are :func:`rolecall.transcripts.parquet.flatten`'s, plus ``split``; writing needs
pyarrow (``pip install 'rolecall[parquet]'``). Nothing is left out and nothing is chosen turn
by turn: it is the record, for analysis or for building other formats later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rolecall._secrets import scrub_data
from rolecall.transcripts.formats.base import Format, Kept, Sink, register_format
from rolecall.transcripts.parquet import ParquetSink, flatten


class _SplitSink:
    """A Parquet file of one split: each row gets its ``split`` column and is scrubbed, value by value."""

    def __init__(self, path: Path, split: str) -> None:
        self._sink = ParquetSink(path)
        self.split = split

    def write(self, row: dict[str, Any]) -> int:
        clean, found = scrub_data(row | {"split": self.split})
        self._sink.write(clean)
        return int(found)

    def close(self) -> None:
        self._sink.close()


@register_format
class Parquet(Format):
    """The canonical record, flattened into columns (see ``rolecall/transcripts/parquet.py``)."""

    name = "parquet"
    drops = "nothing (the whole record)"
    suffix = "parquet"

    def rows(self, kept: Kept) -> list[dict[str, Any]]:
        return [flatten(kept.transcript)]

    def sink(self, path: Path, split: str) -> Sink:
        return _SplitSink(path, split)
