"""Write a SQuAD 2.0-style file: a SQuAD v1.1 file's questions plus unanswerable pairs of every kind.

    python scripts/make_pairs.py ../shared/data/squad/dev-v1.1.json runs/dev-pairs-odd.json --articles odd

The pairs are made by ``qa.training.negatives`` (shares per question as in ``--shares``, JSON); the
output is read by ``qa eval --mode reader`` (abstention on SQuAD 2.0-style pairs at the shipped
threshold) and by ``qa train-reader --train``. ``--articles odd`` keeps the odd-numbered articles
only: the half that ``scripts/calibrate_reader.py`` never fits on.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from qa.training import load_squad_examples, make_negatives
from qa.training.negatives import write_pairs

SHARES = {"other": 0.15, "hard": 0.2, "cut": 0.2, "swap": 0.4, "antonym": 0.6, "negation": 0.08, "condition": 0.15}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", help="SQuAD v1.1 JSON")
    parser.add_argument("out", help="output .json (or .json.xz)")
    parser.add_argument("--articles", choices=["all", "even", "odd"], default="all")
    parser.add_argument("--shares", type=json.loads, default=SHARES, help=f"JSON, default {json.dumps(SHARES)}")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    examples = load_squad_examples(args.squad)
    if args.articles != "all":
        examples = [ex for ex in examples if ex["article"] % 2 == (args.articles == "odd")]
    negatives = make_negatives(examples, args.shares, args.seed)
    path = write_pairs(examples, negatives, args.out)
    print(f"{path}: {len(examples)} answerable, {len(negatives)} unanswerable "
          f"{dict(Counter(n['kind'] for n in negatives))}")


if __name__ == "__main__":
    main()
