"""What an export format is, and the one registry that rolecall's formats and users' plugins join alike.

A harvest names its format by a word (``--format openai``). Each word is a :class:`Format` in
:data:`FORMATS`: rolecall's own are the modules of this package, each one file that registers
its class by :func:`register_format`, found the first time the registry is read; an installed
package joins by the entry point group ``rolecall.formats``::

    [project.entry-points."rolecall.formats"]
    plain = "my_package.formats:Plain"

A format is everything a harvest and its dataset card know of it: the rows of a kept
conversation (:meth:`Format.rows`, the one method to write), the files they go to, what the
card says of it (what it leaves out, how trainers load it), and whether it can train some of
an agent's turns and not others. Nothing outside this package asks a format's name.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Literal, Protocol

from rolecall._secrets import scrub
from rolecall.registry import Registry
from rolecall.transcripts.perspective import Chat
from rolecall.transcripts.quality import DraftReader
from rolecall.transcripts.record import Transcript

ENTRY_POINT_GROUP = "rolecall.formats"
#: Which of the trained agent's turns carry the loss: ``all`` of them, or only the ``last`` (the rest are context).
Loss = Literal["all", "last"]


@dataclass(frozen=True)
class Kept:
    """A conversation the quality floor kept, as a format reads it: the record and the trained agent's chat."""

    transcript: Transcript
    chat: Chat  # the trained agent's side (its turns the content checks found off task are untrained)
    loss: Loss = "all"
    #: A judge's reading of drafts: formats of preference pairs keep a pair only when it agrees (None: keep all).
    judged: DraftReader | None = None

    def trained(self) -> list[int]:
        """The indexes of the chat's turns that carry the loss (a turn that calls tools counts: the model learns
        to call)."""
        return trained_turns(self.chat, self.loss)


def trained_turns(chat: Chat, loss: Loss) -> list[int]:
    """The indexes of ``chat``'s turns that carry the loss: every trained turn, or only the ``last``."""
    indexes = chat.trained_indexes()
    return indexes if loss == "all" else indexes[-1:]


class Sink(Protocol):
    """Where one split's rows go. Each row is scrubbed of secrets (:mod:`rolecall._secrets`) on its way out."""

    def write(self, row: dict[str, Any]) -> int:
        """Write ``row`` with its secrets replaced; return how many were replaced."""
        ...

    def close(self) -> None: ...


class JsonlSink:
    """One JSON object a line, the line scrubbed as written (the sink of most formats)."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def write(self, row: dict[str, Any]) -> int:
        line, found = scrub(json.dumps(row, ensure_ascii=False))
        self._file.write(line + "\n")
        return found

    def close(self) -> None:
        self._file.close()


class Format:
    """One way to write a dataset. Subclass, set ``name`` and ``drops``, write :meth:`rows`, register.

    The class docstring says what a row holds. The other methods have defaults that fit a
    JSONL format no trainer config knows: override :meth:`llama_factory` and :meth:`axolotl`
    to have the card's trainer configs name the format, :meth:`sink` (with ``suffix``) to
    write other files than JSONL.
    """

    name: ClassVar[str] = ""
    #: What the format leaves out of a conversation with tool calls (the dataset card says it).
    drops: ClassVar[str] = "not said by the format"
    #: Whether the format can train some of an agent's turns and not others (``--content-checks turns``).
    per_turn: ClassVar[bool] = False
    #: The extension of its files: one per split, ``train.SUFFIX`` and ``test.SUFFIX``.
    suffix: ClassVar[str] = "jsonl"

    def rows(self, kept: Kept) -> Iterable[dict[str, Any]]:
        """The dataset rows of one kept conversation (none is fine: the conversation still counts as kept)."""
        raise NotImplementedError

    def file_name(self, split: str) -> str:
        """The file that holds ``split``'s rows."""
        return f"{split}.{self.suffix}"

    def sink(self, path: Path, split: str) -> Sink:
        """Where ``split``'s rows go, opened when its first row comes (a JSONL file unless overridden)."""
        return JsonlSink(path)

    def source_of(self, row: dict[str, Any]) -> str | None:
        """What the harvest report counts ``row`` under (its ``pairs``; preference formats), or None."""
        return None

    def card_section(self, sources: Counter[str]) -> str:
        """A section of the dataset card of the format's own, given the rows counted by :meth:`source_of`."""
        return ""

    def llama_factory(self, file_name: str, *, loss: str) -> dict[str, Any] | None:
        """LLaMA-Factory's ``dataset_info.json`` entry for one written file, or None when it cannot read it."""
        return None

    def axolotl(self, path: Path) -> dict[str, Any] | None:
        """An Axolotl ``datasets:`` entry for the train file at ``path``, or None when Axolotl cannot read it."""
        return None


#: Every export format by name: the built-ins of this package, then installed packages' (entry points).
FORMATS: Registry[Format] = Registry(
    "format", ENTRY_POINT_GROUP, Format, name_of=lambda fmt: fmt.name, package="rolecall.transcripts.formats"
)


def register_format(fmt: type[Format]) -> type[Format]:
    """Add ``fmt`` to :data:`FORMATS` (usable as a class decorator); ``--format NAME`` may name it from then on."""
    return FORMATS.register(fmt)


def get_format(name: str) -> Format:
    """The format called ``name``; an unknown name is a one-line ``SpecError`` listing the known ones."""
    return FORMATS.get(name)()
