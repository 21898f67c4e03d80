"""Transcripts: the record of a conversation and the JSONL files that hold them."""

from rolecall.transcripts.record import (
    SCHEMA_VERSION,
    AgentInfo,
    ErrorInfo,
    Event,
    Message,
    TaskText,
    Termination,
    TotalUsage,
    Transcript,
    json_schema,
)
from rolecall.transcripts.store import DEFAULT_DIR, DEFAULT_FILE, Reader, append, find, read

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_FILE",
    "SCHEMA_VERSION",
    "AgentInfo",
    "ErrorInfo",
    "Event",
    "Message",
    "Reader",
    "TaskText",
    "Termination",
    "TotalUsage",
    "Transcript",
    "append",
    "find",
    "json_schema",
    "read",
]
