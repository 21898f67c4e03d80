"""Assemble the shipped gold set from the role-plays here and their readings: ``rolecall/judges/gold/VERSION.jsonl``.

Each turn's label is the readers' common reading; where readers disagree, the resolution in
``labels/resolved/`` (made by reading the turn again against the rules) decides, and a
disagreement left unresolved stops the build. Role-plays are split into train and test whole,
within each family of sources (written, scripted, and each way the embedded model was run), a
fixed share to test by a hash of the id, so a rebuild with more role-plays moves none of the old.

    python bench/gold/build.py [--test-share 0.3]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
from pathlib import Path

from rolecall.judges import gold

HERE = Path(__file__).parent
SOURCES = {"written": "written", "scripted": "scripted", "embedded": "embedded"}


def readings() -> tuple[dict[tuple[str, int], list[bool]], dict[tuple[str, int], bool]]:
    read: dict[tuple[str, int], list[bool]] = collections.defaultdict(list)
    resolved: dict[tuple[str, int], bool] = {}
    for path in sorted((HERE / "labels").glob("*/*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        for label in record["labels"]:
            key = (record["id"], label["i"])
            if path.parent.name == "resolved":
                resolved[key] = bool(label["on_task"])
            else:
                read[key].append(bool(label["on_task"]))
    return read, resolved


def family(play_id: str) -> str:
    """``w``, ``s``, ``e-d``, ``e-p``, ``e-s``: the way the role-play was made."""
    return play_id[:3] if play_id.startswith("e-") else play_id[0]


def in_test(play_id: str, share: float) -> bool:
    digest = hashlib.sha256(play_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def build(share: float) -> list[gold.GoldPlay]:
    read, resolved = readings()
    plays, unresolved = [], []
    for folder, source in SOURCES.items():
        for path in sorted((HERE / folder).glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            turns = []
            for index, turn in enumerate(record["turns"]):
                key = (record["id"], index)
                seen = read.get(key, [])
                if key in resolved:
                    label = resolved[key]
                elif seen and len(set(seen)) == 1:
                    label = seen[0]
                else:
                    unresolved.append(f"{record['id']} turn {index}: readings {seen or 'none'}")
                    continue
                turns.append(gold.GoldTurn(turn["side"], turn["text"], label, source))
            split = "test" if in_test(record["id"], share) else "train"
            plays.append(gold.GoldPlay(
                record["id"], split, record["task"], record["user_role"], record["assistant_role"], turns,
                tuple(record.get("subtasks") or ()),
            ))  # fmt: skip
    if unresolved:
        sys.exit("unresolved labels:\n" + "\n".join(unresolved))
    return plays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-share", type=float, default=0.3)
    args = parser.parse_args()
    plays = build(args.test_share)
    out = Path(gold.__file__).parent / "gold" / f"{gold.VERSION}.jsonl"
    out.parent.mkdir(exist_ok=True)
    gold.write(plays, out)
    counts: collections.Counter[tuple[str, str, bool]] = collections.Counter()
    for play in plays:
        for turn in play.turns:
            counts[family(play.id), play.split, turn.on_task] += 1
    print(f"{len(plays)} role-plays, {sum(len(p.turns) for p in plays)} turns -> {out}")
    for fam in sorted({key[0] for key in counts}):
        for split in ("train", "test"):
            on, off = counts[fam, split, True], counts[fam, split, False]
            print(f"  {fam:4s} {split:5s} on {on:4d}  off {off:4d}")


if __name__ == "__main__":
    main()
