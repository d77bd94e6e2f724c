"""Kill -9 `qa index` at random moments while the corpus grows, and check after every kill that the
index on disk opens and answers (the check of issue 11; tests/test_index_segments.py does the same
with a fake embedder).

    python scripts/kill_index.py --squad ../shared/data/squad/dev-v1.1.json --kills 20

Each round adds one SQuAD-dev paragraph as an article to the corpus and starts `qa index` (the packaged models),
killed with SIGKILL after a uniform random delay up to 1.1 times what an uninterrupted run takes
(so that some kills land while it writes, and a few runs finish). After
the kill: the index is opened (``SentenceIndex.load``) and searched, densely and lexically, for a
question about an article indexed before. At the end `qa ask` must answer from the final index.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from qa.embedding import SentenceEmbedder
    from qa.index import SentenceIndex

    data = json.loads(args.squad.read_text())["data"]
    question = data[0]["paragraphs"][0]["qas"][0]["question"]
    rng = random.Random(args.seed)
    qa = str(Path(sys.executable).parent / "qa")
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        env = {**os.environ, "QA_CORPUS": str(corpus), "QA_INDEX": str(index_dir)}

        paragraphs = [(a["title"], p["context"]) for a in data for p in a["paragraphs"]]

        def add(n: int) -> None:  # one paragraph a round: the write is a fair share of a run, as for news
            title, text = paragraphs[n % len(paragraphs)]
            record = {"id": f"{n}-{title}", "title": f"{title} ({n})", "text": text}
            (corpus / f"{n:03d}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")

        add(0)
        began = time.perf_counter()
        subprocess.run([qa, "index"], env=env, check=True, capture_output=True)
        full = time.perf_counter() - began
        print(f"an uninterrupted `qa index` of one article took {full:.1f} s; kills land in (0, {1.1 * full:.1f}) s")
        embedder = SentenceEmbedder()
        vector = embedder.encode([question])
        moments, survived, completed = [], 0, 0
        for n in range(1, args.kills + 1):
            add(n)
            child = subprocess.Popen([qa, "index"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            moment = rng.uniform(0, 1.1 * full)
            time.sleep(moment)
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
            else:
                completed += 1
            child.wait()
            moments.append(moment)
            index = SentenceIndex.load(index_dir)
            dense = index.search(vector, 5)[0]
            lexical = index.lexical(question, 5)
            assert dense and lexical, "the index did not answer"
            assert all(index.sentences[p].article_id in index.articles for p, _ in dense + lexical)
            survived += 1
            print(f"kill {n:2d} at {moment:4.1f} s: index opens, {len(index.articles)} articles, "
                  f"{len(index.segments)} segments, top sentence: {index.sentences[dense[0][0]].text[:60]!r}")
        answer = subprocess.run([qa, "ask", question], env=env, check=True, capture_output=True, text=True).stdout
        final = SentenceIndex.load(index_dir)
        print(f"{survived}/{args.kills} kills left an index that answered ({completed} runs had finished "
              f"before their kill); after a last update: {len(final.articles)} articles "
              f"(of {args.kills + 1}); qa ask: {answer.splitlines()[0]!r}")


if __name__ == "__main__":
    main()
