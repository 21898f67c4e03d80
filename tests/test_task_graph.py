"""TaskGraph: validation, ordering, properties over random DAGs, serialisation."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rolecall import GraphError, TaskGraph


def chain() -> TaskGraph:
    graph = TaskGraph()
    graph.add("design", "Choose a layout and colour scheme")
    graph.add("pages", "Write the home, tour and contact pages", after=["design"])
    graph.add("deploy", "Publish the site", after=["pages"], max_turns=6)
    return graph.validate()


def test_ready_follows_dependencies() -> None:
    graph = chain()
    assert [s.id for s in graph.ready()] == ["design"]
    graph.start("design")
    assert graph.ready() == []
    assert graph.active is not None and graph.active.id == "design"
    graph.complete("design", result="blue and gold")
    assert [s.id for s in graph.ready()] == ["pages"]
    assert graph["design"].result == "blue and gold"
    assert graph["design"].started_at and graph["design"].finished_at


def test_cannot_start_before_dependencies() -> None:
    graph = chain()
    with pytest.raises(GraphError, match="cannot start"):
        graph.start("pages")


def test_fail_skips_everything_downstream() -> None:
    graph = chain()
    graph.start("design")
    skipped = graph.fail("design", result="no agreement")
    assert [s.id for s in skipped] == ["pages", "deploy"]
    assert [s.status for s in graph] == ["failed", "skipped", "skipped"]
    assert graph.is_finished
    progress = graph.progress()
    assert (progress.done, progress.failed, progress.skipped, progress.finished) == (0, 1, 2, 3)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda g: (g.add("a", "A", after=["c"]), g.add("b", "B", after=["a"]), g.add("c", "C", after=["b"])), "cycle"),
        (lambda g: g.add("a", "A", after=["ghost"]), "unknown subtask 'ghost'"),
        (lambda g: (g.add("a", "A"), g.add("a", "again")), "duplicate subtask id 'a'"),
        (lambda g: None, "empty"),
    ],
    ids=["cycle", "unknown", "duplicate", "empty"],
)
def test_invalid_graphs_are_named(build: object, message: str) -> None:
    graph = TaskGraph()
    with pytest.raises(GraphError, match=message) as caught:
        build(graph)  # type: ignore[operator]
        graph.validate()
    if message == "cycle":
        assert all(id in str(caught.value) for id in "abc")


def test_node_link_round_trip_keeps_status_and_is_readable_without_rolecall() -> None:
    graph = chain()
    graph.start("design")
    graph.complete("design")
    graph.start("pages")
    data = json.loads(json.dumps(graph.to_node_link()))
    assert {(n["id"], n["title"], n["status"]) for n in data["nodes"]} >= {("design", graph["design"].title, "done")}
    assert {"source": "design", "target": "pages"} in data["links"]
    again = TaskGraph.from_node_link(data)
    assert [(s.id, s.status) for s in again] == [("design", "done"), ("pages", "active"), ("deploy", "pending")]
    assert again.active is not None and again.active.id == "pages"
    again.complete("pages")
    assert [s.id for s in again.ready()] == ["deploy"]


def test_mermaid_export_names_nodes_edges_and_statuses() -> None:
    graph = chain()
    graph.start("design")
    text = graph.to_mermaid()
    assert text.startswith("flowchart TD")
    assert 't_design["Choose a layout and colour scheme"]:::active' in text
    assert "t_design --> t_pages" in text


@st.composite
def dags(draw: st.DrawFn) -> tuple[int, dict[int, list[int]]]:
    size = draw(st.integers(min_value=1, max_value=25))
    deps = {
        node: sorted(draw(st.sets(st.integers(min_value=0, max_value=node - 1), max_size=3))) if node else []
        for node in range(size)
    }
    return size, deps


@settings(max_examples=150, deadline=None)
@given(dags(), st.lists(st.booleans(), min_size=25, max_size=25), st.randoms(use_true_random=False))
def test_random_dags_respect_dependencies_and_finish(
    dag: tuple[int, dict[int, list[int]]], failures: list[bool], rng: object
) -> None:
    size, deps = dag
    graph = TaskGraph()
    for node in range(size):
        graph.add(str(node), f"step {node}", after=[str(d) for d in deps[node]])
    graph.validate()
    # Shuffle declaration-order edges away: the graph must still respect them.
    while (ready := graph.ready()) != []:
        subtask = rng.choice(ready)  # type: ignore[attr-defined]
        for dependency in subtask.after:
            assert graph[dependency].status == "done"
        graph.start(subtask.id)
        if failures[int(subtask.id)]:
            graph.fail(subtask.id)
        else:
            graph.complete(subtask.id)
        progress = graph.progress()
        assert progress.done == sum(1 for s in graph if s.status == "done")
        assert progress.finished == sum(1 for s in graph if s.is_final)
    assert graph.is_finished
    assert all(s.is_final for s in graph)
    for subtask in graph:
        if subtask.status == "done":
            assert all(graph[d].status == "done" for d in subtask.after)
        if subtask.status == "skipped":
            assert any(graph[d].status in ("failed", "skipped") for d in subtask.after)
    assert graph.progress().finished == size
