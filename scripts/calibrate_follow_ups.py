"""Choose the reader's threshold for follow-up questions (and optionally fit a follow-up model).

    python scripts/calibrate_follow_ups.py --model qa/models/reader-minilm \
        ../shared/data/conv/coqa_dev_literature.json ../shared/data/conv/quac_train_0.05.json \
        --limit 250 --save runs/follow-up-rows.json [--write] [--fit-model]

A follow-up read with the conversation in view ("What did Emmanuel Macron propose?", searched
within the conversation's story) is asked about a story the user has already found, so it is far
more often answerable than a question asked cold; the single-question threshold, chosen on SQuAD
2.0-style pairs that are half unanswerable, withholds too many of its answers. This asks the
follow-up turns of conversational sets end to end over each file's stories through
``QA.answer(history=)`` with the shipped settings, and keeps every follow-up that used the history:
its best candidate (answered or withheld), its score from the shipped verifier, and a label: right
at F1 >= 0.5 against a gold answer or when it lies inside a gold evidence span (these sets'
answers are evidence spans, often a whole clause: see their README), wrong for QuAC's
CANNOTANSWER. Yes/no turns are skipped.

The threshold maximises the share of turns handled right (a right answer, or abstaining on an
unanswerable turn), less ``--wrong-cost`` (default 0) for each wrong answer shown, on the
conversations with even CRC32 ids, and is reported on the odd ones. A cost of 0.1 or more moves
the threshold from about 0.17 to 0.27: fewer low-scored wrong answers, but fewer right ones too
(on the seed's explicit follow-ups F1 falls from about 92 to 81; docs/conversations.md).
``--fit-model`` also fits the verifier's logistic model on the follow-ups alone (same signals)
and reports it; ``--write`` stores ``min_score_follow_up`` (and with ``--fit-model`` the model as
``calibration["follow_up"]``) in the model folder's ``qa_reader.json``. ``--save``/``--rows``
keep and reuse the rows. The work is done by ``qa.training.calibration``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa.training.calibration import calibrate_follow_ups, follow_up_rows, reader_config, write_follow_up_calibration


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("files", nargs="*", type=Path, help="CoQA/QuAC-style conversation files")
    parser.add_argument("--model", default="qa/models/reader-minilm")
    parser.add_argument("--limit", type=int, help="first N conversations of each file")
    parser.add_argument("--save", type=Path, help="write the rows here")
    parser.add_argument("--rows", type=Path, help="fit from rows saved earlier instead of asking")
    parser.add_argument("--write", action="store_true", help="store the threshold (and model) in the model folder")
    parser.add_argument("--fit-model", action="store_true", help="also fit a verifier model on follow-ups alone")
    parser.add_argument("--wrong-cost", type=float, default=0.0,
                        help="what a wrong answer shown costs, against 1 for a right one (default 0)")
    args = parser.parse_args()

    began = time.time()
    if args.rows:
        rows = json.loads(args.rows.read_text())
    else:
        rows = [r for f in args.files for r in follow_up_rows(f, args.model, args.limit)]
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps(rows, ensure_ascii=False) + "\n")
    shipped = reader_config(args.model).get("min_score_retrieved", 0.5)
    calibration = calibrate_follow_ups(rows, shipped, args.wrong_cost, args.fit_model)
    report = calibration.report
    print(json.dumps(report, indent=2))
    print(f"threshold {calibration.threshold:.4f}; {len(rows)} rows ({report['fitted_on']['turns']} fitted, "
          f"{report['held_out']['turns']} held out); {time.time() - began:.0f} s")
    if args.write:
        print(f"wrote {write_follow_up_calibration(args.model, calibration)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
