"""Deduplication: exact (normalized hash) and near-duplicate (MinHash over word shingles).

Single pass and streaming: the first conversation of a cluster is kept, later members are
dropped as they arrive. Exact duplicates are caught by a hash of the normalized text;
near-duplicates by MinHash signatures of word 5-grams in a datasketch LSH index (memory per
kept conversation is a few hundred bytes). Clusters are reported as kept and dropped.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rolecall._text import normalize

if TYPE_CHECKING:  # datasketch pulls in scipy (a third of a second): imported when a harvest dedups
    from datasketch import MinHash

Verdict = str | None


_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


@dataclass
class DedupReport:
    exact_dropped: int = 0
    near_dropped: int = 0
    exact_clusters: int = 0
    near_clusters: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "exact_clusters": self.exact_clusters,
            "exact_dropped": self.exact_dropped,
            "near_clusters": self.near_clusters,
            "near_dropped": self.near_dropped,
        }


@dataclass
class Deduplicator:
    """Keeps the first of each cluster of (near-)identical texts."""

    near: bool = True
    threshold: float = 0.8
    num_perm: int = 64
    shingle: int = 5
    report: DedupReport = field(default_factory=DedupReport)

    def __post_init__(self) -> None:
        from datasketch import MinHash, MinHashLSH

        self._minhash = MinHash
        self._exact: dict[bytes, str] = {}
        self._exact_hits: Counter[str] = Counter()
        self._near_hits: Counter[str] = Counter()
        self._lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm) if self.near else None
        template = MinHash(num_perm=self.num_perm, seed=1)
        self._permutations, self._scheme = template.permutations, template.scheme
        rng = np.random.default_rng(1)
        self._a = rng.integers(1, 1 << 63, size=(self.num_perm, 1), dtype=np.uint64) | np.uint64(1)
        self._b = rng.integers(0, 1 << 63, size=(self.num_perm, 1), dtype=np.uint64)
        self._word_hashes: dict[str, int] = {}

    def check(self, key: str, text: str) -> Verdict:
        """``"exact_duplicate"``, ``"near_duplicate"``, or None (kept and indexed under ``key``)."""
        words = normalize(text)
        digest = hashlib.blake2b(" ".join(words).encode(), digest_size=16).digest()
        first = self._exact.get(digest)
        if first is not None:
            self.report.exact_dropped += 1
            self.report.exact_clusters += self._exact_hits[first] == 0
            self._exact_hits[first] += 1
            return "exact_duplicate"
        if self._lsh is not None:
            signature = self._signature(words)
            similar = self._lsh.query(signature)
            if similar:
                first = min(similar)
                self.report.near_dropped += 1
                self.report.near_clusters += self._near_hits[first] == 0
                self._near_hits[first] += 1
                return "near_duplicate"
            self._lsh.insert(key, signature, check_duplication=False)
        self._exact[digest] = key
        return None

    def _signature(self, words: list[str]) -> MinHash:
        """MinHash of the word 5-grams, computed with numpy.

        Words are hashed once each (cached: a corpus reuses its vocabulary), 5-gram hashes
        are combined from them with vectorised arithmetic, and the permutations are
        applied to all shingles at once; the signature is handed to datasketch's LSH.
        """
        cache = self._word_hashes
        if len(cache) > 2_000_000:
            cache.clear()
        values = list(map(cache.get, words)) or [0]
        if None in values:
            for index, value in enumerate(values):
                if value is None:
                    values[index] = cache.setdefault(words[index], zlib.crc32(words[index].encode()))
        hashes = np.array(values, dtype=np.uint64)
        n = min(self.shingle, len(hashes))
        shingles = np.zeros(len(hashes) - n + 1, dtype=np.uint64)
        for offset in range(n):  # a polynomial hash of each window, kept to 32 bits
            shingles = (shingles * np.uint64(1_000_003) + hashes[offset : len(hashes) - n + 1 + offset]) & _MASK32
        # Multiply-shift hashing (wrapping 64-bit arithmetic), one row per permutation.
        permuted = (self._a * shingles[np.newaxis, :] + self._b) >> _SHIFT32
        return self._minhash(
            num_perm=self.num_perm,
            hashvalues=permuted.min(axis=1),
            permutations=self._permutations,
            scheme=self._scheme,
        )
