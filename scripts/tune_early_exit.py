"""Choose ``Settings.early_exit``: answer from the top passage alone when its answer scores this much.

    python scripts/tune_early_exit.py ../shared/data/squad/dev-v1.1.json --corpus DEVCORPUS \
        --index DEVINDEX --articles even --questions 400

Each sampled question (from the even- or odd-numbered articles of the SQuAD file) is asked over the
corpus (all the file's articles, as one folder) with every retrieved passage read once; the answer
from the top passage alone and the answer from all of them are then composed from that one reading,
exactly as ``QA.answer`` composes them. For each threshold: F1 at the shipped answer threshold if the
top passage's answer is taken whenever it scores at least that much, the share of questions that
stop there, and the share of the reader's tokens that are then read.
"""

from __future__ import annotations

import argparse
import random
import statistics
from pathlib import Path

from qa.evaluation import load_questions, score_prediction
from qa.followup import FollowUp
from qa.pipeline import QA
from qa.schema import Reading

THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("squad", type=Path)
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding all the file's articles")
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--articles", choices=["even", "odd"], default="even")
    parser.add_argument("--questions", type=int, default=400)
    args = parser.parse_args()

    questions = load_questions(args.squad)
    titles = list(dict.fromkeys(q.title for q in questions))
    keep = {t for i, t in enumerate(titles) if i % 2 == (0 if args.articles == "even" else 1)}
    pool = [q for q in questions if q.title in keep and q.answers]
    sample = random.Random(0).sample(pool, min(args.questions, len(pool)))

    qa = QA(corpus=args.corpus, index=args.index, early_exit=1.0)
    retriever, threshold = qa.retriever, qa.threshold(retrieved=True)
    tokenizer = qa.reader._tokenizer  # the packaged reader's: tokens read per passage
    rows = []
    for q in sample:
        passages = retriever.retrieve(q.question, qa.settings.top_passages)
        reading = qa.reader.read_many([(q.question, passages)])[0]
        top = Reading([s for s in reading.spans if s.passage == 0], reading.no_answer[:1])
        first = qa._compose(FollowUp(q.question, q.question), passages, top, threshold, 0.0)
        full = qa._compose(FollowUp(q.question, q.question), passages, reading, threshold, 0.0)
        tokens = [len(tokenizer.inner.encode(q.question, p.text).ids) for p in passages]
        rows.append((first, full, tokens, q.answers))
    total = sum(sum(t) for _, _, t, _ in rows)
    print(f"{len(rows)} questions of the {args.articles} articles; answer threshold {threshold}")
    print("| early exit at | F1 | stopped at the top passage | tokens read |")
    print("|---|---|---|---|")
    for at in THRESHOLDS:
        f1, stopped, read = [], 0, 0
        for first, full, tokens, answers in rows:
            answer = first if first.score >= at else full
            stopped += answer is first
            read += tokens[0] if answer is first else sum(tokens)
            f1.append(score_prediction(answer.text, answers)[1])
        label = f"{at}" if at <= 1 else "never (read all)"
        print(f"| {label} | {100 * statistics.fmean(f1):.2f} | {100 * stopped / len(rows):.0f}% | "
              f"{100 * read / total:.0f}% |")


if __name__ == "__main__":
    main()
