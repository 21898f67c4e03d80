"""Modules talk through public names and depend downwards: no private imports, no cycles, layers kept.

Read from the source, every import counts, also those inside functions or under
``TYPE_CHECKING``: a cycle hidden there is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).parent.parent / "rolecall"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for each ``import``/``from`` of a rolecall module in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rolecall"):
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name.startswith("rolecall")]
    return found


def graph() -> nx.DiGraph:
    edges = nx.DiGraph()
    for name, path in MODULES.items():
        edges.add_node(name)
        for target, names in imports(path):
            for imported in names or [""]:
                submodule = f"{target}.{imported}"
                edges.add_edge(name, submodule if submodule in MODULES else target)
    return edges


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = [
        f"{name} imports {target}.{imported}"
        for name, path in MODULES.items()
        for target, names in imports(path)
        for imported in names
        if imported.startswith("_") and not imported.startswith("__") and target != name
        and f"{target}.{imported}" not in MODULES  # a private submodule of one's own package is fine
    ]  # fmt: skip
    assert offenders == []


def test_there_is_no_import_cycle() -> None:
    cycles = [cycle for cycle in nx.simple_cycles(graph()) if len(cycle) > 1]
    assert cycles == []


def depends(module: str, on: str) -> bool:
    """Whether ``module`` (or a module of that package) reaches ``on`` through its imports."""
    edges = graph()
    starts = [name for name in MODULES if name == module or name.startswith(f"{module}.")]
    reached = set().union(*(nx.descendants(edges, start) for start in starts))
    return any(name == on or name.startswith(f"{on}.") for name in reached)


def test_dependencies_point_down_the_layers() -> None:
    assert not depends("rolecall.transcripts", "rolecall.guards")  # datasets never import runtime guards
    assert not depends("rolecall.transcripts", "rolecall.conversation")
    assert not depends("rolecall.models", "rolecall.settings")
    assert not depends("rolecall.models", "rolecall.transcripts")
    assert not depends("rolecall.settings", "rolecall.agents")
    assert not depends("rolecall.conversation", "rolecall.batch")
    assert not depends("rolecall.tools", "rolecall.conversation")  # tools know nothing of who calls them
    assert not depends("rolecall.transcripts", "rolecall.tools")  # datasets read recorded calls, never run them
    assert not depends("rolecall.batch", "rolecall.cli")
    assert [name for name in MODULES if "openai" in {target for target, _ in imports(MODULES[name])}] == []
    assert [
        name
        for name, path in MODULES.items()
        if any(
            line.strip().startswith("import openai") or 'lazy_module("openai")' in line
            for line in path.read_text().splitlines()
        )
    ] == ["rolecall.models.openai_compat"]  # the one `import openai` (loaded lazily)


def test_every_module_says_why_it_exists() -> None:
    missing = [name for name, path in MODULES.items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert missing == [name for name in missing if name.endswith("prompts")]
