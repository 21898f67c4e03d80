"""The built-in guards, registered like anyone's, in the order they run (the first verdict wins).

The failure modes are the CAMEL paper's (role flipping, echoing the instruction, flake
replies, thank-you loops) plus the plainer ones small models produce (empty, off-format,
done before any work). Their reminders are package data (``prompts/guards.yaml``).
"""

from __future__ import annotations

import re

from rolecall._text import INSTRUCTION, SOLUTION, body, instruction_text, is_pleasantry, is_promise, refusal
from rolecall._text import similarity as text_similarity
from rolecall.guards.base import Guard, Turn, Verdict, register_guard


def _fraction(value: float, what: str) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"{what} must be above 0 and at most 1, got {value}")
    return float(value)


@register_guard
class EmptyGuard(Guard):
    """Catches a reply with nothing in it once the protocol's markers are removed."""

    name = "empty"

    def check(self, turn: Turn) -> Verdict | None:
        if body(turn.reply) or turn.is_done:
            return None
        return self.remind("empty", "the reply is empty")


@register_guard
class RoleFlipGuard(Guard):
    """Catches an agent playing another's part: the instructor solving, the executor instructing, a member speaking
    for another member."""

    name = "role_flip"

    def check(self, turn: Turn) -> Verdict | None:
        if turn.side == "user" and SOLUTION.search(turn.reply):
            return self.remind("role_flip_instructor", "the instructor wrote a solution")
        if turn.side == "assistant" and INSTRUCTION.search(turn.reply):
            return self.remind("role_flip_executor", "the executor gave an instruction")
        if turn.side == "member":
            for other in turn.others:
                if re.search(rf"(?im)^\s*\**{re.escape(other)}\**\s*:", turn.reply):
                    return self.remind(
                        "role_flip_member", f"{turn.speaker} wrote lines for {other}", speaker=turn.speaker, other=other
                    )
        return None


@register_guard
class OffFormatGuard(Guard):
    """Catches replies out of the protocol: no ``Instruction:`` (or a blank one) from the instructor, no
    ``Solution:`` from the executor."""

    name = "off_format"

    def check(self, turn: Turn) -> Verdict | None:
        instructing = turn.side == "user" and not turn.is_done
        if instructing and INSTRUCTION.search(turn.reply) and not instruction_text(turn.reply):
            return self.remind("off_format_blank", "the instruction is blank")
        if instructing and not INSTRUCTION.search(turn.reply):
            return self.remind(
                "off_format_instructor", "no 'Instruction:' in the instructor's reply", done_token=turn.done_token
            )
        if turn.side == "assistant" and not SOLUTION.search(turn.reply):
            return self.remind("off_format_executor", "no 'Solution:' in the executor's reply")
        return None


@register_guard
class EchoGuard(Guard):
    """Catches a reply that repeats the other side's last message (word-bigram similarity at least ``threshold``)."""

    name = "echo"

    def __init__(self, *, threshold: float = 0.8) -> None:
        self.threshold = _fraction(threshold, "threshold")

    def check(self, turn: Turn) -> Verdict | None:
        other = turn.last_other()
        if other is None or turn.is_done:
            return None
        score = text_similarity(body(turn.reply), body(other))
        if score < self.threshold:
            return None
        return self.remind("echo", f"the reply repeats the other side's last message (similarity {score:.2f})")


@register_guard
class FlakeGuard(Guard):
    """Catches the executor promising work ("I will...") instead of doing it."""

    name = "flake"

    def check(self, turn: Turn) -> Verdict | None:
        if turn.side != "assistant":
            return None
        text = body(turn.reply)
        if not is_promise(text):
            return None
        return self.remind("flake", "the executor promised work without doing it")


@register_guard
class PrematureDoneGuard(Guard):
    """Catches the instructor (or a society's lead) declaring the (sub)task done before anyone else worked on it."""

    name = "premature_done"

    def check(self, turn: Turn) -> Verdict | None:
        if turn.side == "assistant" or not turn.is_done:
            return None
        for speaker, content in reversed(turn.history):
            if turn.done_token in content:
                break  # a new (sub)task started after the last done token
            if speaker != turn.speaker:
                return None  # the executor has worked on it
        who = "the instructor" if turn.side == "user" else turn.speaker
        return self.remind(
            "premature_done" if turn.side == "user" else "premature_done_member",
            f"{who} declared the task done before any work on it",
        )


@register_guard
class LoopGuard(Guard):
    """Catches a near-duplicate of one's own recent replies (``window`` of them, similarity ``threshold``) and
    thank-you/goodbye exchanges."""

    name = "loop"

    def __init__(self, *, threshold: float = 0.9, window: int = 4) -> None:
        self.threshold = _fraction(threshold, "threshold")
        if not isinstance(window, int) or not 1 <= window <= 100:
            raise ValueError(f"window must be a whole number from 1 to 100, got {window!r}")
        self.window = window

    def check(self, turn: Turn) -> Verdict | None:
        if turn.is_done:
            return None
        if is_pleasantry(turn.reply):
            other = turn.last_other()
            if other is not None and is_pleasantry(other):
                key = "loop_pleasantry_instructor" if turn.side == "user" else "loop_pleasantry"
                return self.remind(key, "a thank-you/goodbye exchange", done_token=turn.done_token)
        for earlier in turn.own()[-self.window :]:
            score = text_similarity(turn.reply, earlier)
            if score >= self.threshold:
                return self.remind("loop_repeat", f"the reply repeats an earlier one (similarity {score:.2f})")
        return None


@register_guard
class RefusalGuard(Guard):
    """Catches a reply that refuses the task out of character ("As an AI language model...")."""

    name = "refusal"
    action = "flag"

    def check(self, turn: Turn) -> Verdict | None:
        found = refusal(turn.reply)
        if found is None:
            return None
        return self.remind("refusal", f"the reply refuses ({found!r})")


@register_guard
class BadToolCallGuard(Guard):
    """Catches a tool call that cannot run: a tool the agent does not have, or arguments that do not fit its
    schema. On a re-ask the agent reads what was wrong; flagged or off, the call is answered with the error."""

    name = "bad_tool_call"
    judges_calls = True

    def check(self, turn: Turn) -> Verdict | None:
        if not turn.problems:
            return None
        problems = "; ".join(turn.problems)
        return self.remind("bad_tool_call", f"invalid tool call: {problems}", problems=problems)
