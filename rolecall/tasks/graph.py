"""TaskGraph: the subtasks of a conversation, their dependencies and their progress.

networkx holds the structure and never leaves this module. Progress is kept incrementally
(a count of unfinished dependencies per subtask and a heap of ready ones), so every status
change costs time in proportion to the edges it touches, not to the size of the graph.
A graph serialises to node-link JSON with each node's ``id``, ``title`` and ``status`` at the
top level, so a saved conversation replays without rolecall.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rolecall.errors import GraphError
from rolecall.transcripts.record import utc_now

TaskStatus = Literal["pending", "active", "done", "failed", "skipped"]
FINAL_STATUSES: frozenset[str] = frozenset({"done", "failed", "skipped"})


class Subtask(BaseModel):
    """One node of a task graph."""

    model_config = ConfigDict(validate_assignment=False)

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str | None = None
    after: list[str] = Field(default_factory=list)
    status: TaskStatus = "pending"
    max_turns: int | None = Field(default=None, gt=0)
    turns: int = 0
    attempts: int = 0
    result: str | None = None
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class Progress(BaseModel):
    """Counts of subtasks by outcome."""

    total: int
    done: int
    failed: int
    skipped: int
    active: int

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped

    def __str__(self) -> str:
        return f"{self.done}/{self.total} done, {self.failed} failed, {self.skipped} skipped"


Listener = Callable[[Subtask], None]


class TaskGraph:
    """A DAG of subtasks worked through in dependency order.

    Build it with :meth:`add`, check it with :meth:`validate`, then drive it with
    :meth:`start`, :meth:`complete` and :meth:`fail`; :meth:`ready` says what may start.
    """

    def __init__(self) -> None:
        self._graph: nx.DiGraph[str] = nx.DiGraph()
        self._order: dict[str, int] = {}
        self._subtasks: dict[str, Subtask] = {}
        self._waiting: dict[str, int] = {}
        self._ready_heap: list[tuple[int, str]] = []
        self._listeners: list[Listener] = []
        self._counts: Counter[str] = Counter()
        self._active: dict[str, None] = {}
        self._validated = False

    # -- building -------------------------------------------------------------------------

    def add(
        self,
        id: str,
        title: str,
        *,
        after: Iterable[str] = (),
        description: str | None = None,
        max_turns: int | None = None,
    ) -> Subtask:
        """Add a subtask that may start once every id in ``after`` is done."""
        return self.add_subtask(
            Subtask(id=id, title=title, after=list(after), description=description, max_turns=max_turns)
        )

    def add_subtask(self, subtask: Subtask) -> Subtask:
        if subtask.id in self._order:
            raise GraphError(f"duplicate subtask id {subtask.id!r}")
        self._order[subtask.id] = len(self._order)
        self._subtasks[subtask.id] = subtask
        self._graph.add_node(subtask.id)
        self._counts[subtask.status] += 1
        if subtask.status == "active":
            self._active[subtask.id] = None
        self._validated = False
        return subtask

    @classmethod
    def single(cls, title: str, *, id: str = "task", max_turns: int | None = None) -> TaskGraph:
        """A one-node graph: how a conversation without subtasks is run."""
        graph = cls()
        graph.add(id, title, max_turns=max_turns)
        return graph.validate()

    def validate(self) -> TaskGraph:
        """Check the graph can be run and prepare its progress bookkeeping; return it."""
        if not self._order:
            raise GraphError("the task graph is empty: give at least one subtask")
        for subtask in self:
            for dependency in subtask.after:
                if dependency not in self._order:
                    raise GraphError(f"subtask {subtask.id!r} depends on unknown subtask {dependency!r}")
                self._graph.add_edge(dependency, subtask.id)
        try:
            cycle = nx.find_cycle(self._graph)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            ids = [edge[0] for edge in cycle] + [cycle[0][0]]
            raise GraphError(f"the task graph has a cycle: {' -> '.join(ids)}")
        self._index_progress()
        self._validated = True
        return self

    def _index_progress(self) -> None:
        self._waiting = {
            node: sum(1 for dep in self._graph.predecessors(node) if self._subtask(dep).status != "done")
            for node in self._graph
        }
        self._ready_heap = [
            (self._order[node], node)
            for node, count in self._waiting.items()
            if count == 0 and self._subtask(node).status == "pending"
        ]
        heapq.heapify(self._ready_heap)

    # -- reading --------------------------------------------------------------------------

    def _subtask(self, id: str) -> Subtask:
        return self._subtasks[id]

    def __getitem__(self, id: str) -> Subtask:
        if id not in self._order:
            raise KeyError(id)
        return self._subtask(id)

    def __iter__(self) -> Iterator[Subtask]:
        """Subtasks in the order they were added."""
        return iter(self._subtasks.values())

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, id: object) -> bool:
        return id in self._order

    def ready(self) -> list[Subtask]:
        """Pending subtasks whose dependencies are all done, in the order they were added."""
        self._require_valid()
        ready = sorted((self._order[id], id) for _, id in self._ready_heap if self._is_ready(id))
        if len(ready) < len(self._ready_heap):
            self._ready_heap = ready  # a sorted list is a valid heap: drop stale entries once
        return [self._subtask(id) for _, id in ready]

    def next_ready(self) -> Subtask | None:
        """The first ready subtask, or None when nothing can start."""
        self._require_valid()
        heap = self._ready_heap
        while heap and not self._is_ready(heap[0][1]):
            heapq.heappop(heap)
        return self._subtask(heap[0][1]) if heap else None

    def _is_ready(self, id: str) -> bool:
        return self._waiting[id] == 0 and self._subtask(id).status == "pending"

    @property
    def active(self) -> Subtask | None:
        """The subtask being worked on (the earliest started, if several are), or None."""
        return self._subtask(next(iter(self._active))) if self._active else None

    def progress(self) -> Progress:
        counts = self._counts
        return Progress(
            total=len(self),
            done=counts["done"],
            failed=counts["failed"],
            skipped=counts["skipped"],
            active=counts["active"],
        )

    @property
    def is_finished(self) -> bool:
        """Nothing active and nothing left that could ever start."""
        return self.active is None and self.next_ready() is None

    def dependents(self, id: str) -> list[str]:
        """Every subtask that depends on ``id``, directly or not, in the order added."""
        return sorted(nx.descendants(self._graph, id), key=self._order.__getitem__)

    # -- changing -------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with the subtask after every status change."""
        self._listeners.append(listener)

    def _set(self, subtask: Subtask, status: TaskStatus) -> None:
        self._counts[subtask.status] -= 1
        self._counts[status] += 1
        self._active.pop(subtask.id, None)
        if status == "active":
            self._active[subtask.id] = None
        subtask.status = status
        if status == "active":
            subtask.started_at = utc_now()
        elif status in FINAL_STATUSES:
            subtask.finished_at = utc_now()
        for listener in self._listeners:
            listener(subtask)

    def start(self, id: str) -> Subtask:
        """Make a ready subtask active."""
        subtask = self[id]
        if not self._is_ready(id):
            raise GraphError(f"subtask {id!r} cannot start: it is {subtask.status} or waits on others")
        subtask.attempts += 1
        self._set(subtask, "active")
        return subtask

    def complete(self, id: str, result: str | None = None) -> Subtask:
        """Mark an active subtask done and release what waited on it."""
        subtask = self._require_active(id)
        subtask.result = result
        self._set(subtask, "done")
        for successor in self._graph.successors(id):
            self._waiting[successor] -= 1
            if self._is_ready(successor):
                heapq.heappush(self._ready_heap, (self._order[successor], successor))
        return subtask

    def fail(self, id: str, result: str | None = None) -> list[Subtask]:
        """Mark an active subtask failed and skip everything depending on it; return the skipped."""
        subtask = self._require_active(id)
        subtask.result = result
        self._set(subtask, "failed")
        skipped = []
        for dependent in self.dependents(id):
            other = self._subtask(dependent)
            if other.status == "pending":
                other.result = f"skipped: depends on failed {id!r}"
                self._set(other, "skipped")
                skipped.append(other)
        return skipped

    def _require_active(self, id: str) -> Subtask:
        subtask = self[id]
        if subtask.status != "active":
            raise GraphError(f"subtask {id!r} is {subtask.status}, not active")
        return subtask

    def _require_valid(self) -> None:
        if not self._validated:
            self.validate()

    # -- serialising ----------------------------------------------------------------------

    def to_node_link(self) -> dict[str, Any]:
        """Node-link JSON (networkx's layout, ``links`` for edges)."""
        return {
            "directed": True,
            "multigraph": False,
            "graph": {},
            "nodes": [subtask.model_dump() for subtask in self],
            "links": [{"source": dependency, "target": subtask.id} for subtask in self for dependency in subtask.after],
        }

    @classmethod
    def from_node_link(cls, data: dict[str, Any]) -> TaskGraph:
        """Rebuild a graph saved by :meth:`to_node_link`, statuses included.

        Whatever ``data`` holds (it comes from files), the answer is a graph or a ``GraphError``.
        """
        try:
            return cls._from_node_link(data)
        except GraphError:
            raise
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise GraphError(f"not a node-link task graph: node {where}: {first['msg']}") from None
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise GraphError(f"not a node-link task graph ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_node_link(cls, data: dict[str, Any]) -> TaskGraph:
        graph = cls()
        nodes = data["nodes"]
        links = data.get("links", data.get("edges", []))
        after: dict[str, list[str]] = {}
        for link in links:
            after.setdefault(str(link["target"]), []).append(link["source"])
        for node in nodes:
            fields = dict(node)
            fields.setdefault("title", str(fields.get("id")))
            fields["after"] = fields.get("after") or after.get(str(fields.get("id")), [])
            graph.add_subtask(Subtask.model_validate(fields))
        return graph.validate()

    def to_mermaid(self) -> str:
        """A Mermaid flowchart of the graph, statuses as classes, for docs and READMEs."""
        lines = ["flowchart TD"]
        for subtask in self:
            title = subtask.title.replace('"', "'")
            lines.append(f'    {_mermaid_id(subtask.id)}["{title}"]:::{subtask.status}')
        for subtask in self:
            for dependency in subtask.after:
                lines.append(f"    {_mermaid_id(dependency)} --> {_mermaid_id(subtask.id)}")
        lines += [
            "    classDef pending fill:#eee,stroke:#999",
            "    classDef active fill:#fff3bf,stroke:#f59f00",
            "    classDef done fill:#d3f9d8,stroke:#2f9e44",
            "    classDef failed fill:#ffe3e3,stroke:#e03131",
            "    classDef skipped fill:#f1f3f5,stroke:#adb5bd,stroke-dasharray:4",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<TaskGraph {len(self)} subtasks: {self.progress()}>"


def _mermaid_id(id: str) -> str:
    return "t_" + "".join(char if char.isalnum() else "_" for char in id)
