#!/usr/bin/env python
"""
Write a larger training file for the distillation runs of `accuracy.py --distill_file`: a task's training subset plus
rows drawn at random from the rest of its full training split, shuffled, as JSON lines.

The teacher keeps being fine-tuned on the subset; the pruning runs read this file instead. The distillation losses
use no labels, so the added rows act as unlabelled in-domain text (docs/training.md: give the pruning run as much
distinct data as you can). The evaluation set is untouched. The 8,000-review IMDB file of docs/benchmarks.md:

```bash
python benchmarks/distill_rows.py --extra_rows 6000 --seed 13 --output benchmarks/work/imdb/train_8k_seed13.jsonl
```
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

from common import SHARED_DATA


def read_json_lines(path: Path) -> list[dict]:
    """The rows of a JSON lines file, gzip-compressed or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def distill_rows(subset: list[dict], pool: list[dict], extra_rows: int, seed: int) -> list[dict]:
    """
    `subset` plus `extra_rows` rows of `pool` whose `id` is not in `subset`, drawn and then shuffled with `seed`.

    Raises:
        ValueError: when `pool` has fewer than `extra_rows` rows outside `subset`, or a row has no `id`.
    """
    if any("id" not in row for row in [*subset, *pool]):
        raise ValueError("every row needs an `id` to tell the subset's rows apart in the full split")
    taken = {row["id"] for row in subset}
    candidates = [row for row in pool if row["id"] not in taken]
    if not 0 <= extra_rows <= len(candidates):
        raise ValueError(f"--extra_rows must be in [0, {len(candidates)}] (rows outside the subset), got {extra_rows}")
    rng = random.Random(seed)
    rows = subset + rng.sample(candidates, extra_rows)
    rng.shuffle(rows)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", type=Path, default=SHARED_DATA, help="the shared data folder")
    parser.add_argument("--subset", default="imdb/train_2k_seed13.jsonl", help="the teacher's training rows")
    parser.add_argument("--pool", default="imdb/train.jsonl.gz", help="the full training split to draw from")
    parser.add_argument("--extra_rows", type=int, required=True, help="rows added to the subset")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--output", type=Path, required=True, help="the JSON lines file to write")
    args = parser.parse_args(argv)
    if args.data_dir is None:
        parser.error("--data_dir is required: no shared data folder was found")
    for option in ("subset", "pool"):
        if not (args.data_dir / getattr(args, option)).is_file():
            parser.error(f"--{option} {getattr(args, option)} is not a file under --data_dir {args.data_dir}")
    subset, pool = read_json_lines(args.data_dir / args.subset), read_json_lines(args.data_dir / args.pool)
    try:
        rows = distill_rows(subset, pool, args.extra_rows, args.seed)
    except ValueError as error:
        parser.error(str(error))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    print(f"wrote {len(rows)} rows to {args.output}")


if __name__ == "__main__":
    main()
