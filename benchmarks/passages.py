"""What choosing among retrieved passages costs (a benchmark, not a test).

    python benchmarks/passages.py --dev ../shared/data/squad/dev-v1.1.json --corpus C --index I \\
        --articles even --every 10 [--reader FOLDER] [--out rows.json]

Asks SQuAD-format questions over a built corpus (``qa eval``'s, or any holding their articles) and
reports, always answering (the best candidate, withheld or not): the pipeline's F1 as shipped; the F1 of
the likeliest answer when each of its retrieved passages is read alone; and the F1 if the best of those
passages were chosen (an oracle: what a reader that told passages apart would reach); and the F1 when the
passage is chosen by other rules on its best span: the highest start and end logits (the scale a reader
trained with ``train-reader --shared`` learns to compare across passages), and the span's log-odds
against its passage's no-answer score. Also the median no-answer probability of the passage chosen against
that of the best one, where they differ and the best one is right. ``--articles even`` keeps the
even-numbered articles (the verifier was fitted on those).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from qa import QA
from qa.evaluation.metrics import best_candidate, score_prediction
from qa.followup import FollowUp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, required=True, help="SQuAD-format questions")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--articles", choices=("all", "even", "odd"), default="even")
    parser.add_argument("--every", type=int, default=10, help="every n-th question of those articles")
    parser.add_argument("--reader", help="another reader folder (its qa_reader.json verifier is used)")
    parser.add_argument("--out", type=Path, help="write each question's passages and scores here")
    args = parser.parse_args(argv)
    data = json.loads(args.dev.read_text(encoding="utf-8"))["data"]
    keep = {"all": lambda a: True, "even": lambda a: a % 2 == 0, "odd": lambda a: a % 2 == 1}[args.articles]
    questions = [(q["question"], [x["text"] for x in q["answers"]]) for a, article in enumerate(data) if keep(a)
                 for p in article["paragraphs"] for q in p["qas"]][:: args.every]
    qa = QA(corpus=args.corpus, index=args.index, **({"reader": args.reader} if args.reader else {}))
    rows = []
    for question, golds in questions:
        passages = qa.retriever.retrieve(question)
        shipped = qa.answer(question)
        alone = qa.answerer.reader.read_many([(question, [p]) for p in passages])
        per = []
        for rank, (passage, reading) in enumerate(zip(passages, alone)):
            a = qa.answerer.compose(FollowUp(question, question), [passage], reading, 0.0, 0.0)
            top = max(reading.spans, key=lambda s: s.raw) if reading.spans else None
            per.append({"rank": rank, "score": a.score, "no_answer": reading.no_answer[0], "text": a.text,
                        "f1": score_prediction(a.text, golds)[1], "raw": top.raw if top else -math.inf,
                        "odds": math.log(max(top.score, 1e-12)) - math.log(max(reading.no_answer[0], 1e-12))
                        if top else -math.inf})
        rows.append({"question": question, "golds": golds, "passages": per,
                     "f1": score_prediction(best_candidate(shipped), golds)[1]})
    n = max(1, len(rows))
    chosen = [max(r["passages"], key=lambda p: p["score"]) if r["passages"] else None for r in rows]
    best = [max(r["passages"], key=lambda p: (p["f1"], p["score"])) if r["passages"] else None for r in rows]
    print(f"{len(rows)} questions, always answering: pipeline F1 {100 * sum(r['f1'] for r in rows) / n:.1f}; "
          f"likeliest of the passages read alone {100 * sum(c['f1'] if c else 0 for c in chosen) / n:.1f}; "
          f"best passage {100 * sum(b['f1'] if b else 0 for b in best) / n:.1f}")
    for rule, key in (("highest start and end logits", "raw"), ("span against no-answer log-odds", "odds")):
        picked = [max(r["passages"], key=lambda p: p[key]) if r["passages"] else None for r in rows]
        print(f"  passage chosen by its {rule}: F1 {100 * sum(c['f1'] if c else 0 for c in picked) / n:.1f}")
    apart = [(c, b) for c, b in zip(chosen, best) if c and b and c["rank"] != b["rank"] and b["f1"] >= 0.5 > c["f1"]]
    if apart:
        print(f"{len(apart)} answered from another passage than a right one: median no-answer probability "
              f"{statistics.median(c['no_answer'] for c, _ in apart):.3f} (chosen) against "
              f"{statistics.median(b['no_answer'] for _, b in apart):.3f} (right)")
    if args.out:
        args.out.write_text(json.dumps(rows) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
