"""Write a SQuAD 2.0-style file: a SQuAD v1.1 file's questions plus unanswerable pairs of every kind.

    python scripts/make_pairs.py ../shared/data/squad/dev-v1.1.json runs/dev-pairs-odd.json --articles odd

The pairs are made by ``qa.training.negatives`` (shares per question as in ``--shares``, JSON); the
output is read by ``qa eval --mode reader`` (abstention on SQuAD 2.0-style pairs at the shipped
threshold) and by ``qa train-reader --train``. ``--articles odd`` keeps the odd-numbered articles
only: the half that ``scripts/calibrate_reader.py`` never fits on. The work is done by
``qa.training.pairs``.
"""

from __future__ import annotations

import argparse
import json

from qa.training.pairs import ARTICLES, SHARES, write_pairs_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", help="SQuAD v1.1 JSON")
    parser.add_argument("out", help="output .json (or .json.xz)")
    parser.add_argument("--articles", choices=ARTICLES, default="all")
    parser.add_argument("--shares", type=json.loads, default=SHARES, help=f"JSON, default {json.dumps(SHARES)}")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    path, answerable, kinds = write_pairs_file(args.squad, args.out, args.articles, args.shares, args.seed)
    print(f"{path}: {answerable} answerable, {sum(kinds.values())} unanswerable {dict(kinds)}")


if __name__ == "__main__":
    main()
