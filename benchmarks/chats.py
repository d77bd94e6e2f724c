"""Terse chats end to end, on the seed alone and among other stories (a benchmark, not a test).

    python benchmarks/chats.py --distractors ../shared/data/conv/coqa_dev_wikipedia.json --part tune
    python benchmarks/chats.py --distractors ../shared/data/conv/coqa_dev_wikipedia.json --part held-out

The chats (``eval/terse_chats.jsonl``) are about the seed article and the short news stories in
``eval/articles/``. Two corpora are built under ``--work``: "alone" holds just those articles,
"among" adds the first ``--count`` stories of ``--distractors`` (a CoQA/QuAC-style file) as other
articles. Each chat is asked turn by turn through ``QA.chat()`` and again without history; the
report gives first turns and follow-ups apart (right, abstained, wrong at score >= 0.5).
``--part tune`` runs the chats tuned on, ``--part held-out`` those kept out of every choice.
``--misses`` prints each turn not answered right (use it on the tune part only).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from qa.evaluation import evaluate_conversations, format_conversation_report

ROOT = Path(__file__).resolve().parent.parent


def build(work: Path, distractors: Path | None, count: int) -> dict[str, Path]:
    """The corpus folders: "alone" (the chats' articles) and, with ``distractors``, "among"."""
    articles = sorted((ROOT / "seeds").glob("*.txt")) + sorted((ROOT / "eval" / "articles").glob("*.txt"))
    corpora = {"alone": work / "alone"}
    if distractors is not None:
        corpora["among"] = work / "among"
    for folder in corpora.values():
        folder.mkdir(parents=True, exist_ok=True)
        for path in articles:
            target = folder / path.name
            if not target.exists() or target.read_bytes() != path.read_bytes():
                shutil.copyfile(path, target)
    if distractors is not None:
        data = json.loads(distractors.read_text(encoding="utf-8"))
        stories = []
        for a, article in enumerate(data["data"]):
            for p, paragraph in enumerate(article["paragraphs"]):
                stories.append({"id": paragraph.get("id") or f"{a}-{p}",
                                "title": article.get("title") or f"story {a}", "text": paragraph["context"]})
        text = json.dumps(stories[:count], ensure_ascii=False, indent=1) + "\n"
        target = corpora["among"] / "stories.json"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return corpora


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=Path, default=ROOT / "eval" / "terse_chats.jsonl")
    parser.add_argument("--distractors", type=Path, help="CoQA/QuAC-style JSON whose stories join the 'among' corpus")
    parser.add_argument("--count", type=int, default=60, help="how many distractor stories (default 60)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-chats"))
    parser.add_argument("--part", choices=("all", "tune", "held-out"), default="tune")
    parser.add_argument("--corpora", default="alone,among", help="which corpora to run (default both)")
    parser.add_argument("--misses", action="store_true", help="print every turn not answered right")
    parser.add_argument("--out", type=Path, help="write each report as JSON: <out>-<corpus>.json")
    args = parser.parse_args(argv)
    corpora = build(args.work, args.distractors, args.count)
    for name in args.corpora.split(","):
        if name not in corpora:
            print(f"no corpus {name!r} (give --distractors for 'among')", file=sys.stderr)
            return 2
        out = None if args.out is None else Path(f"{args.out}-{name}.json")
        report = evaluate_conversations(args.chats, corpus=corpora[name], index=args.work / f"{name}-index",
                                        part=args.part, progress=False, out=out)
        print(f"== {name}: {args.part} chats ==")
        print(format_conversation_report(report))
        if args.misses:
            for run, rows in report.rows.items():
                for r in rows:
                    if not r.right:
                        print(f"  [{run}] {r.conversation}#{r.turn} {r.question!r} -> {r.query!r}: "
                              f"{r.prediction!r} ({r.score:.2f}); want {r.answers[:2]}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
