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

from datasketch import MinHash, MinHashLSH

from rolecall.guards import normalize

Verdict = str | None


def _crc32(data: bytes) -> int:
    return zlib.crc32(data)


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
        self._exact: dict[bytes, str] = {}
        self._exact_hits: Counter[str] = Counter()
        self._near_hits: Counter[str] = Counter()
        self._lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm) if self.near else None
        template = MinHash(num_perm=self.num_perm, seed=1)
        self._permutations, self._scheme = template.permutations, template.scheme

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
        n = self.shingle
        shingles = [" ".join(words[i : i + n]).encode() for i in range(max(1, len(words) - n + 1))]
        signature = MinHash(
            num_perm=self.num_perm, hashfunc=_crc32, permutations=self._permutations, scheme=self._scheme
        )
        signature.update_batch(shingles)
        return signature
