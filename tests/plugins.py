"""A package installed the way pip installs one, with one entry point into a rolecall registry (for plugin tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rolecall.registry import Registry


def install_plugin(
    root: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry[Any], *, package: str, source: str, entry: str
) -> None:
    """Put ``package`` (its ``__init__.py`` is ``source``) on the path with a dist-info naming ``entry``.

    ``entry`` is a line of the registry's entry-point group (``"strict = strict_judges:Strict"``);
    the registry reads its entry points again at its next look-up.
    """
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text(source)
    dist = root / f"{package}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{registry.group}]\n{entry}\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(registry, "_loaded", False)
