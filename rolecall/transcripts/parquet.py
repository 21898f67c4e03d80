"""The canonical record flattened into Parquet columns, written in batches (pyarrow, an extra)."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

from rolecall.errors import SpecError
from rolecall.transcripts.record import Transcript

BATCH = 1000


def flatten(transcript: Transcript) -> dict[str, Any]:
    """One row per conversation: scalars as columns, messages as a list of structs, the rest as JSON."""
    termination = transcript.termination
    return {
        "id": transcript.id,
        "schema_version": transcript.schema_version,
        "status": transcript.status,
        "created_at": transcript.created_at,
        "finished_at": transcript.finished_at,
        "rolecall_version": transcript.rolecall_version,
        "task_original": transcript.task.original,
        "task_specified": transcript.task.specified,
        "termination_reason": termination.reason if termination else None,
        "termination_turn": termination.turn if termination else None,
        "prompt_tokens": transcript.usage.prompt_tokens,
        "completion_tokens": transcript.usage.completion_tokens,
        "cost_usd": transcript.usage.cost_usd,
        "seed": transcript.seed,
        "parent_id": transcript.parent_id,
        "agents": json.dumps([agent.model_dump() for agent in transcript.agents]),
        "messages": [
            {
                "index": m.index,
                "turn": m.turn,
                "speaker": m.speaker,
                "role": m.role,
                "content": m.content,
                "tool_calls": json.dumps([call.model_dump() for call in m.tool_calls]) if m.tool_calls else None,
                "tool_call_id": m.tool_call_id,
                "name": m.name,
                "error": m.error,
                "model": m.model,
                "prompt_tokens": m.usage.prompt_tokens,
                "completion_tokens": m.usage.completion_tokens,
                "latency_ms": m.latency_ms,
                "finish_reason": m.finish_reason,
                "retries": m.retries,
                "reasks": m.reasks,
            }
            for m in transcript.messages
        ],
        "events": json.dumps([event.model_dump() for event in transcript.events]),
        "task_graph": json.dumps(transcript.task_graph) if transcript.task_graph is not None else None,
    }


def _schema(pa: Any) -> Any:
    """The columns' types, given rather than inferred: a batch whose values are all null still has them."""
    text, number, real = pa.string(), pa.int64(), pa.float64()
    message = pa.struct(
        [
            ("index", number), ("turn", number), ("speaker", text), ("role", text), ("content", text),
            ("tool_calls", text), ("tool_call_id", text), ("name", text), ("error", text), ("model", text),
            ("prompt_tokens", number), ("completion_tokens", number), ("latency_ms", real),
            ("finish_reason", text), ("retries", number), ("reasks", number),
        ]
    )  # fmt: skip
    return pa.schema(
        [
            ("id", text), ("schema_version", number), ("status", text), ("created_at", text),
            ("finished_at", text), ("rolecall_version", text), ("task_original", text), ("task_specified", text),
            ("termination_reason", text), ("termination_turn", number), ("prompt_tokens", number),
            ("completion_tokens", number), ("cost_usd", real), ("seed", number), ("parent_id", text),
            ("agents", text), ("messages", pa.list_(message)), ("events", text), ("task_graph", text),
            ("split", text),
        ]
    )  # fmt: skip


class ParquetSink:
    """Appends flattened rows to a Parquet file, a batch at a time."""

    def __init__(self, path: Path) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise SpecError("--format parquet needs pyarrow: pip install 'rolecall[parquet]'") from None
        self._pa, self._pq = pa, pq
        self._schema = _schema(pa)
        self.path = path
        self._rows: list[dict[str, Any]] = []
        self._writer: Any = None

    def write(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        table = self._pa.Table.from_pylist(self._rows, schema=self._schema)
        if self._writer is None:
            self._writer = self._pq.ParquetWriter(self.path, table.schema)
        self._writer.write_table(table)
        self._rows = []

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
