"""qa's sentence splitter (sentencex with two repairs) against pySBD, the one it replaced.

    pip install pysbd        # not a qa dependency any more
    python benchmarks/splitting.py ../shared/data/squad/dev-v1.1.json ../shared/data/squad/xquad.en.json

For each SQuAD file's articles: sentences per second of each splitter (both line by line, as
``qa.sentences`` splits), the share of pySBD's sentence ends that qa's agree with (of the union of
both), and a seeded sample of the sentences only pySBD made, to read the differences.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

from squad import squad_articles


def pysbd_spans(text: str, segmenter: object) -> list[tuple[int, int]]:
    spans, lines = [], re.finditer(r"[^\n]+", text)
    for line in lines:
        cursor = line.start()
        for piece in segmenter.segment(line.group()):  # type: ignore[attr-defined]
            piece = piece.strip()
            start = text.find(piece, cursor, line.end()) if piece else -1
            if start >= 0:
                spans.append((start, start + len(piece)))
                cursor = start + len(piece)
    return spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--show", type=int, default=8, help="sentences only pySBD made, to print")
    args = parser.parse_args()
    import pysbd

    from qa.sentences import split_text

    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=False)
    for path in args.files:
        texts = [a["text"] for a in squad_articles(json.loads(path.read_text(encoding="utf-8"))["data"])]
        began = time.perf_counter()
        ours = [split_text(t) for t in texts]
        ours_s = time.perf_counter() - began
        began = time.perf_counter()
        theirs = [pysbd_spans(t, segmenter) for t in texts]
        theirs_s = time.perf_counter() - began
        agree = sum(len({e for _, e in a} & {e for _, e in b}) for a, b in zip(ours, theirs))
        union = sum(len({e for _, e in a} | {e for _, e in b}) for a, b in zip(ours, theirs))
        n_ours, n_theirs = sum(map(len, ours)), sum(map(len, theirs))
        print(f"{path.name}: qa {n_ours:,} sentences, {n_ours / ours_s:,.0f}/s; pySBD {n_theirs:,}, "
              f"{n_theirs / theirs_s:,.0f}/s; sentence ends agreeing {100 * agree / union:.1f}%")
        only = [t[s:e] for t, a, b in zip(texts, ours, theirs) for s, e in sorted(set(b) - set(a))]
        for sentence in random.Random(3).sample(only, min(args.show, len(only))):
            print("   only pySBD:", repr(sentence[:160]))


if __name__ == "__main__":
    main()
