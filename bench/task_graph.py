"""TaskGraph at scale: ready-set queries and status updates on a 10,000-node DAG.

Each subtask depends on up to three earlier ones (random, seeded). The whole graph is
worked through in dependency order; 5% of subtasks fail, skipping what depends on them.

    python bench/task_graph.py [--nodes 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import time

from rolecall import TaskGraph


def build(nodes: int, rng: random.Random) -> TaskGraph:
    graph = TaskGraph()
    for node in range(nodes):
        after = {f"n{rng.randrange(node)}" for _ in range(rng.randint(0, 3))} if node else set()
        graph.add(f"n{node}", f"subtask {node}", after=sorted(after))
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    started = time.perf_counter()
    graph = build(args.nodes, rng)
    built = time.perf_counter() - started
    started = time.perf_counter()
    graph.validate()
    validated = time.perf_counter() - started

    updates = queries = ready_calls = 0
    update_time = query_time = ready_time = 0.0
    largest_ready = 0
    while True:
        if queries % 10 == 0:
            started = time.perf_counter()
            largest_ready = max(largest_ready, len(graph.ready()))
            ready_time += time.perf_counter() - started
            ready_calls += 1
        started = time.perf_counter()
        subtask = graph.next_ready()
        query_time += time.perf_counter() - started
        queries += 1
        if subtask is None:
            break
        started = time.perf_counter()
        graph.start(subtask.id)
        if rng.random() < 0.05:
            graph.fail(subtask.id)
        else:
            graph.complete(subtask.id)
        update_time += time.perf_counter() - started
        updates += 2
    started = time.perf_counter()
    for _ in range(100):
        graph.progress()
    progress_us = (time.perf_counter() - started) / 100 * 1e6
    started = time.perf_counter()
    data = graph.to_node_link()
    TaskGraph.from_node_link(data)
    round_trip = time.perf_counter() - started

    progress = graph.progress()
    assert progress.finished == args.nodes
    print(f"graph: {args.nodes} subtasks, {len(data['links'])} dependencies; {progress}")
    print(f"build {built * 1000:.0f} ms, validate {validated * 1000:.0f} ms, round trip {round_trip * 1000:.0f} ms")
    print(f"status updates: {updates}, {update_time / updates * 1e6:.1f} us each (target < 1000 us)")
    ready_us = ready_time / ready_calls * 1e6
    print(f"full ready-set queries: {ready_calls}, {ready_us:.1f} us each (largest set: {largest_ready})")
    print(f"next-ready queries: {queries}, {query_time / queries * 1e6:.1f} us each")
    print(f"progress(): {progress_us:.1f} us")


if __name__ == "__main__":
    main()
