"""The one place a conversation's record is written: messages from completions, tool results, events, the end.

A :class:`Recorder` owns the transcript and the turn counter. Every message is built here
from the completion that produced it (:meth:`Recorder.reply`) or from a tool's result
(:meth:`Recorder.result`); every event goes through :meth:`Recorder.event`; and
:meth:`Recorder.finish` writes the ending exactly once. A saved transcript is carried into a
new record by :meth:`Recorder.restore`, so a resumed conversation never writes another's fields.
"""

from __future__ import annotations

from typing import Any, Literal

from rolecall.models.base import Completion, Usage
from rolecall.models.meter import Meter
from rolecall.tasks.graph import TaskGraph
from rolecall.transcripts.record import (
    FAILED_REASONS,
    ErrorInfo,
    Event,
    Message,
    Termination,
    TotalUsage,
    Transcript,
    utc_now,
)

#: The fields a completion and the message recorded from it share, copied as they are.
_FROM_COMPLETION = {"usage", "latency_ms", "first_token_ms", "finish_reason", "retries", "response_id"}


class Recorder:
    """A transcript being written: its messages and events in order, and the turn they belong to."""

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self.turn = 0

    @property
    def messages(self) -> list[Message]:
        return self.transcript.messages

    @property
    def events(self) -> list[Event]:
        return self.transcript.events

    @property
    def ended(self) -> bool:
        return self.transcript.termination is not None

    def reply(
        self,
        completion: Completion,
        *,
        speaker: str,
        role: Literal["user", "assistant"],
        model: str | None,
        reasks: int,
    ) -> Message:
        """Record ``completion`` as ``speaker``'s message; calls without an id get one unique in the transcript."""
        index = len(self.messages)
        calls = [
            call if call.id else call.model_copy(update={"id": f"call_{index}_{number}"})
            for number, call in enumerate(completion.tool_calls)
        ]
        return self._append(
            Message(
                index=index, turn=self.turn, speaker=speaker, role=role, content=completion.text,
                tool_calls=calls or None, model=completion.model or model, reasks=reasks,
                **completion.model_dump(include=_FROM_COMPLETION),
            )
        )  # fmt: skip

    def result(
        self, speaker: str, *, call_id: str, tool: str, content: str, error: str | None, latency_ms: float = 0.0
    ) -> Message:
        """Record a tool's result as a ``tool`` message, spoken on the caller's side."""
        return self._append(
            Message(
                index=len(self.messages), turn=self.turn, speaker=speaker, role="tool", content=content,
                tool_call_id=call_id, name=tool, error=error, latency_ms=latency_ms,
            )
        )  # fmt: skip

    def _append(self, message: Message) -> Message:
        self.messages.append(message)
        return message

    def event(self, kind: str, **fields: Any) -> None:
        self.events.append(Event(turn=self.turn, kind=kind, **fields))

    def take_back(self, first: int) -> list[Message]:
        """Remove the messages from index ``first`` on and return them."""
        removed = self.messages[first:]
        del self.messages[first:]
        return removed

    def restore(self, saved: Transcript) -> None:
        """Carry ``saved``'s messages, events, task text and agents into this record, as a continuation of it."""
        transcript = self.transcript
        transcript.parent_id = saved.id
        transcript.task = saved.task.model_copy()
        transcript.agents = [agent.model_copy() for agent in saved.agents]
        transcript.kickoff = saved.kickoff
        transcript.messages = [message.model_copy() for message in saved.messages]
        transcript.events = [event.model_copy() for event in saved.events]
        if "turn_policy" in (saved.model_extra or {}):  # the field a society adds to its record
            setattr(transcript, "turn_policy", (saved.model_extra or {})["turn_policy"])  # noqa: B010 - an added field
        self.turn = self.messages[-1].turn if self.messages else 0
        self.event("resumed", parent_id=saved.id, previous=saved.termination.reason if saved.termination else None)

    def finish(
        self,
        reason: str,
        *,
        meter: Meter,
        graph: TaskGraph,
        planned: bool,
        detail: str | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Write the ending (once: a conversation that already ended keeps its first reason)."""
        transcript = self.transcript
        if transcript.termination is not None:
            return
        if reason == "cost_budget" and detail is None and meter.cost_usd is None:
            detail = f"no price for {', '.join(sorted(meter.unpriced))}: the cost cannot be metered"
        transcript.status = "failed" if reason in FAILED_REASONS else "ok"
        transcript.termination = Termination(reason=reason, turn=self.turn, detail=detail)
        transcript.finished_at = utc_now()
        transcript.usage = TotalUsage(
            prompt_tokens=meter.usage.prompt_tokens,
            completion_tokens=meter.usage.completion_tokens,
            cost_usd=round(meter.cost_usd, 8) if meter.cost_usd is not None else None,
        )
        transcript.task_graph = graph.to_node_link()
        transcript.task_graph["graph"]["planned"] = planned
        if error is not None:
            transcript.error = ErrorInfo(type=type(error).__name__, message=str(error))


def saved_usage(saved: Transcript) -> tuple[Usage, float | None]:
    """What ``saved`` spent: its tokens and its cost, for a meter that goes on counting."""
    usage = Usage(prompt_tokens=saved.usage.prompt_tokens, completion_tokens=saved.usage.completion_tokens)
    return usage, saved.usage.cost_usd
