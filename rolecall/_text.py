"""Reading dialogue text: the protocol's markers, words, similarity, pleasantries and refusals.

Both the live guards and the dataset code (quality floor, dedup, scoring) ask the same
questions of a reply, so the answers live here once, below both; neither imports the other.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9']+")
INSTRUCTION = re.compile(r"^\s*\**\s*instruction\s*\**\s*:", re.IGNORECASE | re.MULTILINE)
SOLUTION = re.compile(r"^\s*\**\s*solution\s*\**\s*:", re.IGNORECASE | re.MULTILINE)
_INPUT = re.compile(r"(?im)^\s*\**\s*input\s*\**\s*:")
PROMISE = re.compile(
    r"^(sure|certainly|of course|okay|ok|great|alright)?[ ,!.]*"
    r"(i will|i'll|i am going to|i'm going to|i can|let me|i would be happy to|i'd be happy to|i shall)\b",
    re.IGNORECASE,
)
REFUSAL = re.compile(
    r"\b(as an ai( language model)?|i('m| am) (sorry|unable)|i cannot (help|assist|do|provide)|"
    r"i can't (help|assist|do|provide)|i'm not able to)\b",
    re.IGNORECASE,
)
#: Every refusal the pattern knows contains one of these; most texts contain none and skip the regex.
_REFUSAL_MARKERS = ("as an ai", "sorry", "unable", "cannot", "can't", "not able")
_POLITE_WORDS = frozenset(
    "thank thanks you your welcome goodbye bye great glad pleasure have a nice day good luck wonderful "
    "appreciate it it's was working with so much very for all the help again too same to hope see soon take "
    "care cheers awesome happy my and i am we were".split()
)


def normalize(text: str) -> list[str]:
    """Lower-case words without accents or punctuation: what similarity compares."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _WORD.findall(folded)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of word bigrams (words for very short texts), 0..1."""
    words_a, words_b = normalize(a), normalize(b)
    if not words_a or not words_b:
        return 1.0 if words_a == words_b else 0.0
    n = 2 if min(len(words_a), len(words_b)) > 3 else 1
    grams_a = {tuple(words_a[i : i + n]) for i in range(len(words_a) - n + 1)}
    grams_b = {tuple(words_b[i : i + n]) for i in range(len(words_b) - n + 1)}
    return len(grams_a & grams_b) / len(grams_a | grams_b)


def containment(part: str, whole: str) -> float:
    """The share of ``part``'s word bigrams (words, for very short texts) found in ``whole``, 0..1."""
    words_part, words_whole = normalize(part), normalize(whole)
    if not words_part:
        return 0.0
    n = 2 if len(words_part) > 3 else 1
    grams_part = {tuple(words_part[i : i + n]) for i in range(len(words_part) - n + 1)}
    grams_whole = {tuple(words_whole[i : i + n]) for i in range(len(words_whole) - n + 1)}
    return len(grams_part & grams_whole) / len(grams_part)


def is_promise(text: str, *, max_words: int = 40) -> bool:
    """A one-line "I will ..." of at most ``max_words`` words and no code: work promised, not done."""
    one_line = "\n" not in text.strip() and "```" not in text
    return bool(PROMISE.match(text)) and len(normalize(text)) <= max_words and one_line


def is_pleasantry(text: str) -> bool:
    """A reply made of thanks and goodbyes with no work in it."""
    words = normalize(text.replace("Next request.", ""))
    words = [word for word in words if word not in ("solution", "instruction", "input", "none")]
    return bool(words) and len(words) <= 40 and sum(w in _POLITE_WORDS for w in words) / len(words) >= 0.75


def refusal(text: str) -> str | None:
    """The words of ``text`` that refuse the task ("As an AI ..."), or None."""
    lowered = text.lower()
    if not any(marker in lowered for marker in _REFUSAL_MARKERS):
        return None
    match = REFUSAL.search(text)
    return match.group(0) if match else None


def instruction_text(text: str) -> str:
    """The text of an instruction, between "Instruction:" and "Input:"."""
    match = INSTRUCTION.search(text)
    rest = text[match.end() :] if match else text
    return _INPUT.split(rest, maxsplit=1)[0].strip(" \n\t,.;:")


def body(text: str) -> str:
    """The reply without its protocol markers."""
    text = re.sub(r"(?i)^\s*\**\s*(solution|instruction)\s*\**\s*:\s*", "", text.strip())
    text = re.sub(r"(?im)^\s*input\s*:\s*none\.?\s*$", "", text)
    return re.sub(r"(?i)\s*next request\.?\s*$", "", text).strip()
