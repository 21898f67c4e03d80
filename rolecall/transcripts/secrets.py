"""Scrubbing secrets that slipped into message content before anything is exported."""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"
_PATTERNS = re.compile(
    "|".join(
        [
            r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}",  # OpenAI / Anthropic style keys
            r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face tokens
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key ids
            r"(?i:aws_secret_access_key)\s*[=:]\s*[A-Za-z0-9/+=]{40}",  # AWS secret keys, with their label
            r"\bgh[pousr]_[A-Za-z0-9]{36,}",  # GitHub tokens
            r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack tokens
        ]
    )
)


#: Substrings every secret above contains; texts with none of them skip the regex (the common case).
_MARKERS = (
    "sk-",
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
    "xox",
)


def might_hold_secrets(*texts: str) -> bool:
    """False when no text can hold a secret (a cheap test before the regex)."""
    return any(marker in text for text in texts for marker in _MARKERS)


def scrub(text: str) -> tuple[str, int]:
    """``text`` with every key-shaped secret replaced, and how many were replaced."""
    if not might_hold_secrets(text):
        return text, 0
    return _PATTERNS.subn(REDACTED, text)
