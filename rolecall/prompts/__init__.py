"""Every prompt rolecall writes, as data: the templates in this package's ``*.yaml``, loaded and filled here.

Agents, guards, tools, the planner and the critic all word what they say through these
templates, so a prompt is changed in one file and never in code.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from rolecall.errors import SpecError


@cache
def templates(name: str = "roleplay") -> Mapping[str, str]:
    """The templates in ``prompts/<name>.yaml``, keyed by purpose."""
    text = resources.files("rolecall.prompts").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    loaded: dict[str, str] = yaml.safe_load(text)
    return loaded


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders; a placeholder with no value is a clear error."""
    missing = [field for _, field, _, _ in string.Formatter().parse(template) if field and field not in values]
    if missing:
        raise SpecError(f"prompt template needs a value for {{{missing[0]}}}")
    return template.format_map(values)


def prompt(key: str, values: Mapping[str, Any], *, group: str = "roleplay") -> str:
    """Render the packaged template ``key`` of ``prompts/<group>.yaml`` with ``values``."""
    return render(templates(group)[key], values)
