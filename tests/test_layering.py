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


def every_import(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for each ``import``/``from`` in ``path``, of any package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for each import of a rolecall module in ``path``."""
    return [(module, names) for module, names in every_import(path) if module.split(".")[0] == "rolecall"]


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


def package_of(module: str) -> str:
    """The package a module belongs to: ``rolecall.dialogue`` for ``rolecall.dialogue.policies.graph``."""
    return ".".join(module.split(".")[:2])


def test_there_is_no_cycle_between_packages() -> None:
    packages = nx.DiGraph((package_of(a), package_of(b)) for a, b in graph().edges if package_of(a) != package_of(b))
    assert list(nx.simple_cycles(packages)) == []


def test_the_layering_checks_can_fail() -> None:
    """The checks read real imports: a third-party import is seen, and a known downward edge is found."""
    assert "openai" in {module for module, _ in every_import(MODULES["rolecall.models.openai_compat"])}
    assert "pydantic" in {module for module, _ in every_import(MODULES["rolecall.settings"])}
    assert depends("rolecall.dialogue", "rolecall.guards") and depends("rolecall.cli", "rolecall.dialogue")
    assert not depends("rolecall.guards", "rolecall.dialogue")


def depends(module: str, on: str) -> bool:
    """Whether ``module`` (or a module of that package) reaches ``on`` through its imports."""
    edges = graph()
    starts = [name for name in MODULES if name == module or name.startswith(f"{module}.")]
    reached = set().union(*(nx.descendants(edges, start) for start in starts))
    return any(name == on or name.startswith(f"{on}.") for name in reached)


def test_dependencies_point_down_the_layers() -> None:
    assert not depends("rolecall.transcripts", "rolecall.guards")  # datasets never import runtime guards
    assert not depends("rolecall.transcripts", "rolecall.dialogue")
    assert not depends("rolecall.models", "rolecall.settings")
    assert not depends("rolecall.models", "rolecall.transcripts")
    assert not depends("rolecall.settings", "rolecall.agents")
    assert not depends("rolecall.dialogue", "rolecall.batch")
    assert not depends("rolecall.tools", "rolecall.dialogue")  # tools know nothing of who calls them
    assert not depends("rolecall.transcripts", "rolecall.tools")  # datasets read recorded calls, never run them
    assert not depends("rolecall.batch", "rolecall.cli")
    importing_openai = [name for name in MODULES if "openai" in {target for target, _ in every_import(MODULES[name])}]
    assert importing_openai == ["rolecall.models.openai_compat"]  # for its types only, under TYPE_CHECKING
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


def test_no_module_is_over_400_lines() -> None:
    """A module holds one concept: one that grows past 400 lines is holding two."""
    long = {name: lines for name, path in MODULES.items() if (lines := len(path.read_text().splitlines())) > 400}
    assert long == {}
