"""One shape for every place users extend rolecall: a named registry joined by a call or an entry point.

Built-ins and users' plugins join the same way: :meth:`Registry.register` (a call or a class
decorator), or, from an installed package, an entry point of the registry's group::

    [project.entry-points."rolecall.judges"]
    strict = "my_package.judges:StrictJudge"

A registry may name the package its built-ins live in: every module of that package is imported
the first time the registry is listed or looked up, so a new built-in is one new file there with
nothing else edited. Entry points are read at the same moment, once; a plugin that fails to load
is logged and left out, never fatal. Names are lower case (letters, digits, ``_`` and ``-``) and unique: a
second class under a taken name is a one-line :class:`SpecError`.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from rolecall.errors import SpecError

log = logging.getLogger(__name__)

T = TypeVar("T")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class Registry(Generic[T]):
    """Classes of one kind (guards, judges, ...) by name, in the order they joined."""

    def __init__(
        self,
        kind: str,
        group: str,
        base: type[T],
        *,
        name_of: Callable[[type[T]], str],
        reserved: Collection[str] = (),
        package: str | None = None,
    ) -> None:
        self.kind = kind  # "judge": how errors name a member
        self.group = group  # the entry-point group: "rolecall.judges"
        self.base = base
        self.name_of = name_of
        self.reserved = frozenset(reserved)
        self.package = package  # where the built-ins live: each of its modules registers its own
        self._members: dict[str, type[T]] = {}
        self._loaded = False

    def register(self, member: type[T]) -> type[T]:
        """Add ``member`` (usable as a class decorator); a bad or taken name is a one-line ``SpecError``."""
        if not (isinstance(member, type) and issubclass(member, self.base)):
            raise SpecError(f"{member!r} is not a {self.base.__name__} subclass")
        name = self.name_of(member)
        if not _NAME.match(name) or name in self.reserved:
            reserved = f" and not one of {', '.join(sorted(self.reserved))}" if self.reserved else ""
            raise SpecError(
                f"{self.kind} {member.__qualname__}: name {name!r} must be lower case, digits, _ or - "
                f"(at most 40 characters){reserved}"
            )
        known = self._members.get(name)
        if known is not None and known is not member:
            raise SpecError(f"{self.kind} name {name!r} is taken by {known.__module__}.{known.__qualname__}")
        self._members[name] = member
        return member

    def members(self) -> dict[str, type[T]]:
        """Every member by name, in the order they joined (installed packages' included)."""
        if not self._loaded:
            self._loaded = True
            if self.package is not None:
                self._import_builtins(self.package)
            for point in entry_points(group=self.group):
                try:
                    self.register(point.load())
                except Exception as exc:  # a broken plugin must not break every run
                    log.warning("%s plugin %s (%s) not loaded: %s", self.kind, point.name, point.value, exc)
        return dict(self._members)

    def __iter__(self) -> Iterator[str]:
        """The members' names, in the order they joined (so a registry can be argparse's ``choices``)."""
        return iter(self.members())

    def __contains__(self, name: object) -> bool:
        return name in self.members()

    def __len__(self) -> int:
        return len(self.members())

    @contextmanager
    def scoped(self) -> Iterator[None]:
        """Members registered inside the block leave with it (a plugin's tests register and forget).

        The built-ins are loaded first: modules imported inside the block register only once, so
        forgetting them on the way out would leave the registry without them for good.
        """
        self.members()
        saved, loaded = dict(self._members), self._loaded
        try:
            yield
        finally:
            self._members, self._loaded = saved, loaded

    @staticmethod
    def _import_builtins(package: str) -> None:
        """Import every public module of ``package`` (sorted by name): each registers its members."""
        found = importlib.import_module(package)
        for module in sorted(pkgutil.iter_modules(found.__path__), key=lambda module: module.name):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package}.{module.name}")

    def get(self, name: str) -> type[T]:
        """The member called ``name``; an unknown name is a one-line ``SpecError`` listing the known ones."""
        known = self.members()
        if name not in known:
            raise SpecError(f"no such {self.kind} {name!r}; known: {', '.join(known) or 'none'}")
        return known[name]
