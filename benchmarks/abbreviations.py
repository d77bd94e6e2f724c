"""Questions that ask what an abbreviation stands for, read with their own paragraph (a benchmark, not a test).

    python benchmarks/abbreviations.py ../shared/data/squad/dev-v1.1.json \\
        ../shared/data/squad/train-v1.1.reconstructed.json ../shared/data/conv/coqa_dev_wikipedia.json

Picks every question of the SQuAD-format files that says "stand(s) for", "short for", "acronym" or
"abbreviation" (its own pattern, so that an earlier checkout runs it too: `PYTHONPATH=<checkout>`), reads
it with its paragraph as `qa eval --mode reader` would, and reports per file: F1 with the reader's
threshold and always answering (the best candidate, withheld or not), answered, right (F1 >= 0.5, or the
answer inside a gold evidence span, as the conversational sets' answers are), and wrong at a score >= 0.5.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from qa import QA
from qa.evaluation.metrics import best_candidate, inside, score_prediction

ASKS = re.compile(r"\b(?:stands? for|stood for|short for|abbreviation|acronym)\b", re.IGNORECASE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, help="SQuAD-format JSON files")
    parser.add_argument("--show", action="store_true", help="print each question's answer")
    args = parser.parse_args(argv)
    qa = QA()
    for path in args.files:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        items = [(q["question"], p["context"], [a["text"] for a in q["answers"]])
                 for article in data for p in article["paragraphs"] for q in p["qas"] if ASKS.search(q["question"])]
        answers = qa.read_many([(q, context) for q, context, _ in items])
        f1 = always = right = wrong = 0.0
        for (question, _, golds), a in zip(items, answers):
            best = best_candidate(a)
            f1 += score_prediction(a.text, golds)[1]
            always += score_prediction(best, golds)[1]
            good = a.text is not None and (score_prediction(a.text, golds)[1] >= 0.5 or inside(a.text, golds))
            right += good
            wrong += a.text is not None and not good and a.score >= 0.5
            if args.show:
                print(f"  {question!r} -> {a.text!r} ({a.score:.2f}); best {best!r}; gold {golds[0]!r}")
        n = max(1, len(items))
        print(f"{path.name}: {len(items)} questions; F1 {100 * f1 / n:.1f} (always answering {100 * always / n:.1f}); "
              f"answered {sum(a.text is not None for a in answers)}; right {int(right)}; wrong at >= 0.5 {int(wrong)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
