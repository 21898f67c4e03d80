"""Secrets never reach a file: key-shaped strings are scrubbed from everything rolecall writes.

Transcripts, failures, datasets, cards, reports, manifests, caches and log lines all pass
through :func:`scrub` (text) or :func:`scrub_data` (parsed JSON) on their way out, so a key
that arrives in a server's error message, a tool's output or a field nobody expected to hold
one is replaced by ``[REDACTED]`` wherever it sits. Besides the known key shapes, the exact
values of keys rolecall was configured with (:func:`remember`) are scrubbed too, whatever
their shape. The replacement holds no quote or backslash, so scrubbing serialized JSON keeps
it valid JSON.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

REDACTED = "[REDACTED]"

_SHAPES = (
    r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_\-]{20,}",  # OpenAI / Anthropic style keys
    r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe keys
    r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face tokens
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key ids
    r"(?i:aws_secret_access_key)[\"']?\s*[=:]\s*[\"']?[A-Za-z0-9/+=]{40}",  # AWS secret keys, with their label
    r"\bgh[pousr]_[A-Za-z0-9]{36,}",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{40,}",  # GitHub fine-grained tokens
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API keys
    r"\bglpat-[A-Za-z0-9_\-]{20,}",  # GitLab tokens
    r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",  # JSON Web Tokens
    r"(?i:bearer)\s+[A-Za-z0-9_\-.=+/]{20,}",  # Authorization: Bearer <token>
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",  # PEM private keys
)
_PATTERN = re.compile("|".join(_SHAPES))

#: Substrings every shape above contains; a text with none of them skips the regex (the common case).
_MARKERS = (
    "sk-",
    "k_live_",
    "k_test_",
    "hf_",
    "AKIA",
    "ASIA",
    "ws_secret_access_key",
    "WS_SECRET_ACCESS_KEY",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "AIza",
    "glpat-",
    "eyJ",
    "earer",
    "EARER",
    "PRIVATE KEY",
)

#: Exact values of keys this process was configured with (shorter ones would redact ordinary words).
_known: set[str] = set()
_MIN_KNOWN = 12


def remember(value: str | None) -> None:
    """Scrub this exact value from now on, whatever its shape (a configured API key)."""
    if value and len(value) >= _MIN_KNOWN and value != "no-key-required":
        _known.add(value)


def might_hold_secrets(*texts: str) -> bool:
    """False when no text can hold a secret (a cheap test before the regex)."""
    return any(_holds_marker(text) for text in texts)


def _holds_marker(text: str) -> bool:
    return any(marker in text for marker in _MARKERS) or any(key in text for key in _known)


def scrub(text: str) -> tuple[str, int]:
    """``text`` with every secret replaced, and how many were replaced."""
    if not might_hold_secrets(text):
        return text, 0
    count = 0
    for key in _known:
        if key in text:
            count += text.count(key)
            text = text.replace(key, REDACTED)
    text, found = _PATTERN.subn(REDACTED, text)
    return text, count + found


def clean(text: str) -> str:
    """``text`` with every secret replaced."""
    return scrub(text)[0]


def scrub_data(value: Any) -> tuple[Any, int]:
    """A copy of parsed JSON data (dicts, lists, strings) with every string scrubbed, keys included."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        count, cleaned = 0, {}
        for key, item in value.items():
            new_key, found_key = scrub(key) if isinstance(key, str) else (key, 0)
            new_item, found_item = scrub_data(item)
            cleaned[new_key] = new_item
            count += found_key + found_item
        return cleaned, count
    if isinstance(value, list | tuple):
        count, items = 0, []
        for item in value:
            new_item, found = scrub_data(item)
            items.append(new_item)
            count += found
        return items, count
    return value, 0


class ScrubbingFilter(logging.Filter):
    """A logging filter that scrubs each record's final message (install it on a handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if might_hold_secrets(message):
            record.msg, record.args = clean(message), None
        return True


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) with every secret replaced: the way rolecall writes its files."""
    path.write_text(clean(text), encoding="utf-8")
