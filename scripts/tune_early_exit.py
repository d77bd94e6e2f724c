"""Choose ``Settings.early_exit``: answer from the top passage alone when its answer scores this much.

    python scripts/tune_early_exit.py ../shared/data/squad/dev-v1.1.json --corpus DEVCORPUS \
        --index DEVINDEX --articles even --questions 400

Each sampled question (from the even- or odd-numbered articles of the SQuAD file) is asked over the
corpus (all the file's articles, as one folder) with every retrieved passage read once; the answer
from the top passage alone and the answer from all of them are then composed from that one reading,
exactly as ``QA.answer`` composes them. For each threshold: F1 at the shipped answer threshold if the
top passage's answer is taken whenever it scores at least that much, the share of questions that
stop there, and the share of the reader's tokens that are then read. The work is done by
``qa.training.early_exit``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qa.training.early_exit import early_exit_table, format_early_exit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("squad", type=Path)
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding all the file's articles")
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--articles", choices=["even", "odd"], default="even")
    parser.add_argument("--questions", type=int, default=400)
    args = parser.parse_args()
    print(format_early_exit(early_exit_table(args.squad, args.corpus, args.index, args.articles, args.questions)))


if __name__ == "__main__":
    main()
