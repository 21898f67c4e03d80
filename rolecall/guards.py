"""Guards: small named checks that keep each agent in its role and the dialogue moving.

Each guard looks at one reply in context and returns a verdict or nothing. What happens on
a verdict is the guard's *action*, set per guard in the spec:

* ``reask``: reject the reply and ask again with a short reminder (bounded), then stop;
* ``flag``: keep the reply but record the verdict (datasets can filter on it);
* ``stop``: end the conversation at once with the guard's name as the reason;
* ``off``: do not run the guard.

The failure modes are the CAMEL paper's (role flipping, echoing the instruction, flake
replies, thank-you loops) plus the plainer ones small models produce (empty, off-format).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["reask", "flag", "stop", "off"]
#: Which part an agent plays: CAMEL's instructor ("user"), executor ("assistant"), or a society member.
Side = Literal["user", "assistant", "member"]

_WORD = re.compile(r"[a-z0-9']+")
_INSTRUCTION = re.compile(r"^\s*\**\s*instruction\s*\**\s*:", re.IGNORECASE | re.MULTILINE)
_SOLUTION = re.compile(r"^\s*\**\s*solution\s*\**\s*:", re.IGNORECASE | re.MULTILINE)
_PROMISE = re.compile(
    r"^(sure|certainly|of course|okay|ok|great|alright)?[ ,!.]*"
    r"(i will|i'll|i am going to|i'm going to|i can|let me|i would be happy to|i'd be happy to|i shall)\b",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"\b(as an ai( language model)?|i('m| am) (sorry|unable)|i cannot (help|assist|do|provide)|"
    r"i can't (help|assist|do|provide)|i'm not able to)\b",
    re.IGNORECASE,
)
_POLITE_WORDS = frozenset(
    "thank thanks you your welcome goodbye bye great glad pleasure have a nice day good luck wonderful "
    "appreciate it it's was working with so much very for all the help again too same to hope see soon take "
    "care cheers awesome happy my and i am we were".split()
)


def normalize(text: str) -> list[str]:
    """Lower-case words without accents or punctuation: what similarity compares."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _WORD.findall(folded)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of word bigrams (words for very short texts), 0..1."""
    words_a, words_b = normalize(a), normalize(b)
    if not words_a or not words_b:
        return 1.0 if words_a == words_b else 0.0
    n = 2 if min(len(words_a), len(words_b)) > 3 else 1
    grams_a = {tuple(words_a[i : i + n]) for i in range(len(words_a) - n + 1)}
    grams_b = {tuple(words_b[i : i + n]) for i in range(len(words_b) - n + 1)}
    return len(grams_a & grams_b) / len(grams_a | grams_b)


def is_pleasantry(text: str) -> bool:
    """A reply made of thanks and goodbyes with no work in it."""
    words = normalize(text.replace("Next request.", ""))
    words = [word for word in words if word not in ("solution", "instruction", "input", "none")]
    return bool(words) and len(words) <= 40 and sum(w in _POLITE_WORDS for w in words) / len(words) >= 0.75


def _instruction(text: str) -> str:
    """The text of an instruction, between "Instruction:" and "Input:"."""
    match = _INSTRUCTION.search(text)
    rest = text[match.end() :] if match else text
    return re.split(r"(?im)^\s*\**\s*input\s*\**\s*:", rest, maxsplit=1)[0].strip(" \n\t,.;:")


def body(text: str) -> str:
    """The reply without its protocol markers."""
    text = re.sub(r"(?i)^\s*\**\s*(solution|instruction)\s*\**\s*:\s*", "", text.strip())
    text = re.sub(r"(?im)^\s*input\s*:\s*none\.?\s*$", "", text)
    return re.sub(r"(?i)\s*next request\.?\s*$", "", text).strip()


@dataclass(frozen=True)
class Turn:
    """What a guard may look at: the reply, who wrote it, and the dialogue so far."""

    reply: str
    speaker: str
    side: Side
    done_token: str
    history: Sequence[tuple[str, str]] = ()  # (speaker, content), oldest first
    others: Sequence[str] = ()  # the other speakers' names

    @property
    def is_done(self) -> bool:
        return self.done_token in self.reply

    def last_other(self) -> str | None:
        """The latest message by someone else."""
        for speaker, content in reversed(self.history):
            if speaker != self.speaker:
                return content
        return None

    def own(self) -> list[str]:
        return [content for speaker, content in self.history if speaker == self.speaker]


@dataclass(frozen=True)
class Verdict:
    guard: str
    detail: str
    reminder: str


class Guard:
    """One check. Subclasses set ``name`` and implement :meth:`check`."""

    name: str = "guard"

    def check(self, turn: Turn) -> Verdict | None:
        raise NotImplementedError

    def verdict(self, detail: str, reminder: str) -> Verdict:
        return Verdict(self.name, detail, reminder)


class EmptyGuard(Guard):
    name = "empty"

    def check(self, turn: Turn) -> Verdict | None:
        if body(turn.reply) or turn.is_done:
            return None
        return self.verdict("the reply is empty", "Your reply was empty. Write the reply now.")


class RoleFlipGuard(Guard):
    name = "role_flip"

    def check(self, turn: Turn) -> Verdict | None:
        if turn.side == "user" and _SOLUTION.search(turn.reply):
            return self.verdict(
                "the instructor wrote a solution",
                "You are the instructor: never write a Solution yourself. Give one Instruction and its Input.",
            )
        if turn.side == "assistant" and _INSTRUCTION.search(turn.reply):
            return self.verdict(
                "the executor gave an instruction",
                "You are the executor: never give instructions. Answer the last instruction with a Solution.",
            )
        if turn.side == "member":
            for other in turn.others:
                if re.search(rf"(?im)^\s*\**{re.escape(other)}\**\s*:", turn.reply):
                    return self.verdict(
                        f"{turn.speaker} wrote lines for {other}",
                        f"Speak only as {turn.speaker}. Do not write what {other} or anyone else says.",
                    )
        return None


class OffFormatGuard(Guard):
    name = "off_format"

    def check(self, turn: Turn) -> Verdict | None:
        instructing = turn.side == "user" and not turn.is_done
        if instructing and _INSTRUCTION.search(turn.reply) and not _instruction(turn.reply):
            return self.verdict(
                "the instruction is blank",
                'Write the instruction itself after "Instruction:": one concrete step.',
            )
        if instructing and not _INSTRUCTION.search(turn.reply):
            return self.verdict(
                "no 'Instruction:' in the instructor's reply",
                f'Reply in the required form: "Instruction: ..." then "Input: ...", or {turn.done_token} '
                "alone if the task is done.",
            )
        if turn.side == "assistant" and not _SOLUTION.search(turn.reply):
            return self.verdict(
                "no 'Solution:' in the executor's reply",
                'Reply in the required form: start with "Solution:", do the work, end with "Next request."',
            )
        return None


class EchoGuard(Guard):
    name = "echo"

    def __init__(self, threshold: float = 0.8) -> None:
        self.threshold = threshold

    def check(self, turn: Turn) -> Verdict | None:
        other = turn.last_other()
        if other is None or turn.is_done:
            return None
        score = similarity(body(turn.reply), body(other))
        if score < self.threshold:
            return None
        return self.verdict(
            f"the reply repeats the other side's last message (similarity {score:.2f})",
            "Do not repeat the previous message. Write your own reply that moves the task forward.",
        )


class FlakeGuard(Guard):
    name = "flake"

    def check(self, turn: Turn) -> Verdict | None:
        if turn.side != "assistant":
            return None
        text = body(turn.reply)
        if not _PROMISE.match(text) or len(normalize(text)) > 40 or "\n" in text.strip() or "```" in text:
            return None
        return self.verdict(
            "the executor promised work without doing it",
            "Do not promise to do the work: do it now, in full, in this reply.",
        )


class PrematureDoneGuard(Guard):
    name = "premature_done"

    def check(self, turn: Turn) -> Verdict | None:
        if turn.side != "user" or not turn.is_done:
            return None
        for speaker, content in reversed(turn.history):
            if turn.done_token in content:
                break  # a new (sub)task started after the last done token
            if speaker != turn.speaker:
                return None  # the executor has worked on it
        return self.verdict(
            "the instructor declared the task done before any work on it",
            "The task is not done yet: nothing has been worked on. Give the first Instruction and its Input.",
        )


class RefusalGuard(Guard):
    name = "refusal"

    def check(self, turn: Turn) -> Verdict | None:
        match = _REFUSAL.search(turn.reply)
        if match is None:
            return None
        return self.verdict(
            f"the reply refuses ({match.group(0)!r})",
            "Stay in your role and carry on with the task.",
        )


class LoopGuard(Guard):
    name = "loop"

    def __init__(self, threshold: float = 0.9, window: int = 4) -> None:
        self.threshold = threshold
        self.window = window

    def check(self, turn: Turn) -> Verdict | None:
        if turn.is_done:
            return None
        if is_pleasantry(turn.reply):
            other = turn.last_other()
            if other is not None and is_pleasantry(other):
                return self.verdict(
                    "a thank-you/goodbye exchange",
                    "Stop exchanging thanks. Continue the task"
                    + (f", or reply with {turn.done_token} alone if it is done." if turn.side == "user" else "."),
                )
        for earlier in turn.own()[-self.window :]:
            score = similarity(turn.reply, earlier)
            if score >= self.threshold:
                return self.verdict(
                    f"the reply repeats an earlier one (similarity {score:.2f})",
                    "You already wrote that. Write something new that moves the task forward.",
                )
        return None


GUARDS: dict[str, type[Guard]] = {
    guard.name: guard
    for guard in (
        EmptyGuard,
        RoleFlipGuard,
        OffFormatGuard,
        EchoGuard,
        FlakeGuard,
        PrematureDoneGuard,
        RefusalGuard,
        LoopGuard,
    )
}


class GuardSettings(BaseModel):
    """Which guards run and what each does; the spec's ``guards:`` section."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = True
    max_reasks: int = Field(default=2, ge=0, le=10)
    empty: Action = "reask"
    role_flip: Action = "reask"
    off_format: Action = "reask"
    echo: Action = "reask"
    flake: Action = "reask"
    premature_done: Action = "reask"
    refusal: Action = "flag"
    loop: Action = "reask"
    echo_threshold: float = Field(default=0.8, gt=0, le=1)
    loop_threshold: float = Field(default=0.9, gt=0, le=1)
    loop_window: int = Field(default=4, ge=1)

    @classmethod
    def off(cls) -> GuardSettings:
        return cls(enabled=False)

    def action(self, guard: str) -> Action:
        action: Action = getattr(self, guard)
        return action if self.enabled else "off"

    def build(self) -> list[Guard]:
        """The guards to run, most basic first (the first verdict wins)."""
        if not self.enabled:
            return []
        made: list[Guard] = [
            EmptyGuard(),
            RoleFlipGuard(),
            OffFormatGuard(),
            EchoGuard(self.echo_threshold),
            FlakeGuard(),
            PrematureDoneGuard(),
            LoopGuard(self.loop_threshold, self.loop_window),
            RefusalGuard(),
        ]
        return [guard for guard in made if self.action(guard.name) != "off"]


def first_verdict(guards: Sequence[Guard], turn: Turn) -> Verdict | None:
    """The first guard that objects to ``turn``, if any."""
    for guard in guards:
        verdict = guard.check(turn)
        if verdict is not None:
            return verdict
    return None
