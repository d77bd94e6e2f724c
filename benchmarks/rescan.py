"""How much the corpus change check costs a question over a large folder (a benchmark, not a test).

    python benchmarks/rescan.py                    # 10,000 two-sentence articles in a temporary folder
    python benchmarks/rescan.py --files 2000 --questions 50

Builds the index once, then times ``QA.answer`` with the folder compared with the index before
every question (``rescan_seconds=0``) and at most every 2 s (the default), packaged models.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def make_corpus(folder: Path, files: int) -> None:
    for i in range(files):
        sub = folder / f"d{i % 50}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"a{i}.txt").write_text(
            f"Report {i}\nThe council of town {i} approved a budget of {i * 7} euros on Monday.", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=30)
    args = parser.parse_args()
    from qa.pipeline import QA

    with tempfile.TemporaryDirectory(prefix="qa-rescan-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        make_corpus(corpus, args.files)
        for seconds in (0.0, 2.0):
            qa = QA(corpus=corpus, index=index, rescan_seconds=seconds)
            qa.index(progress=seconds == 0.0)
            qa.answer("What budget did town 17 approve?")  # warm-up: models load
            samples = []
            for i in range(args.questions):
                began = time.perf_counter()
                qa.answer(f"What budget did town {i * 31 % args.files} approve?")
                samples.append(time.perf_counter() - began)
            print(f"rescan_seconds={seconds:g}: qa.answer p50 {1000 * statistics.median(samples):.0f} ms "
                  f"over {args.files:,} files ({args.questions} questions)", flush=True)


if __name__ == "__main__":
    main()
