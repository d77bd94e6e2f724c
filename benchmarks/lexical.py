"""bm25s (memory-mapped, what qa uses) against SQLite FTS5 with its bm25() ranking, over the sentences
of an existing index (a benchmark, not a test).

    python benchmarks/lexical.py --index /tmp/qa-scale/index --questions ../shared/data/squad/dev-v1.1.json

For each: build time, size on disk, time to open and answer the first query in a new process,
p50/p95 of a top-30 query, and how many of bm25s's top 30 FTS5 also returns (the two tokenize and
stem differently: FTS5's porter tokenizer keeps stopwords, which qa drops).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

OPEN_BM25S = """
import sys, time
t = time.perf_counter()
from qa.index import SentenceIndex
index = SentenceIndex.load(sys.argv[1])
index.lexical(sys.argv[2], 30)
print(time.perf_counter() - t)
"""
OPEN_FTS5 = """
import sqlite3, sys, time
t = time.perf_counter()
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT rowid, bm25(s) FROM s WHERE s MATCH ? ORDER BY bm25(s) LIMIT 30", (sys.argv[2],)).fetchall()
print(time.perf_counter() - t)
"""


def fts_query(text: str) -> str:
    """The question's words OR-ed, each quoted (FTS5 syntax characters in questions are literal)."""
    return " OR ".join(f'"{w}"' for w in re.findall(r"\w+", text.lower())) or '""'


def ms(samples: list[float]) -> str:
    s = sorted(x * 1000 for x in samples)
    return f"p50 {statistics.median(s):.1f} ms, p95 {s[round(0.95 * (len(s) - 1))]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True, help="a SQuAD file")
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from qa.index import SentenceIndex

    data = json.loads(args.questions.read_text())["data"]
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]][::7][: args.n]
    index = SentenceIndex.load(args.index)
    positions = [p for article in index.articles for p in index.article_positions(article)]
    lexical_dirs = [s.path / "lexical" for s in index.segments]
    size = sum(f.stat().st_size for d in lexical_dirs for f in d.iterdir()) / 2**20
    print(f"{len(positions):,} sentences in {len(index.segments)} segments; bm25s on disk {size:.0f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "fts.sqlite"
        began = time.perf_counter()
        db = sqlite3.connect(db_path)
        db.execute("CREATE VIRTUAL TABLE s USING fts5(text, tokenize='porter unicode61')")
        db.executemany("INSERT INTO s(rowid, text) VALUES (?, ?)",
                       ((p, index.sentences[p].text) for p in positions))
        db.commit()
        print(f"FTS5 build {time.perf_counter() - began:.1f} s (reading the sentences included), "
              f"on disk {db_path.stat().st_size / 2**20:.0f} MiB")
        for name, code, target in (("bm25s", OPEN_BM25S, args.index), ("FTS5", OPEN_FTS5, db_path)):
            q = questions[0] if name == "bm25s" else fts_query(questions[0])
            out = subprocess.run([sys.executable, "-c", code, str(target), q], capture_output=True, text=True,
                                 cwd=ROOT, check=True).stdout
            print(f"{name}: open + first query in a new process {float(out):.2f} s")
        times: dict[str, list[float]] = {"bm25s": [], "FTS5": []}
        overlap = []
        for question in questions:
            began = time.perf_counter()
            ours = [p for p, _ in index.lexical(question, 30)]
            times["bm25s"].append(time.perf_counter() - began)
            began = time.perf_counter()
            theirs = [r[0] for r in db.execute("SELECT rowid, bm25(s) FROM s WHERE s MATCH ? ORDER BY bm25(s) "
                                               "LIMIT 30", (fts_query(question),))]
            times["FTS5"].append(time.perf_counter() - began)
            if ours:
                overlap.append(len(set(ours) & set(theirs)) / len(ours))
        for name, samples in times.items():
            print(f"{name}: top-30 query {ms(samples)} over {len(samples)} questions")
        print(f"FTS5 returns {statistics.fmean(overlap):.1%} of bm25s's top 30")


if __name__ == "__main__":
    main()
