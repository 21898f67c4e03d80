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


def scrub(text: str) -> tuple[str, int]:
    """``text`` with every key-shaped secret replaced, and how many were replaced."""
    return _PATTERNS.subn(REDACTED, text)
