"""Fit the verifier that turns a reader's answers into calibrated probabilities, and store it with the reader.

    python scripts/calibrate_reader.py --model qa/models/reader-minilm \
        --dev ../shared/data/squad/dev-v1.1.json --save runs/calibration-rows.json

Two sets of held-out pairs are made from SQuAD v1.1 dev (never from the training data):

- given passages (reader mode, as ``qa eval --mode reader``): every dev question with its paragraph,
  and SQuAD 2.0-style unanswerable pairs of every kind in ``qa.training.negatives`` (other/hard
  paragraph, answer cut out, swapped name/number/date, antonym, negation, unstated condition);
- retrieved passages (as ``qa.answer()``): dev questions over a corpus of all 48 dev articles, each
  asked three ways: as is; with every passage holding its answer withheld from what the reader sees
  (the articles don't say: same topic, no answer); and with a swapped name/number/date, its answer
  withheld likewise.

The logistic models (``qa.verification.fit``) are fitted on the even-numbered dev articles and
reported on the odd-numbered ones; the thresholds are chosen on the even ones too. ``--write``
stores models, thresholds and the held-out report in the model folder's ``qa_reader.json`` and a
"Calibration" section of its card. ``--save FILE`` keeps every row (signals and labels), and
``--rows FILE`` refits from them in seconds. Rows hold every candidate the verifier scored, and the
report replays each row's choice with the fitted model; ``--fit-on candidates`` fits on all of them.
The candidates a model ranks below its choice overstate as it scores them; a rescaling of their log-odds
is fitted too (``Verifier.alternative``), and ``--alternatives-only`` fits just that for the model the
folder already holds (``--rows`` and ``--write`` as above).
The work is done by ``qa.training.calibration``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa.training.calibration import (
    MIN_ABSTAIN,
    RETRIEVED_MIN_ABSTAIN,
    RETRIEVED_RULE,
    RULE,
    RULES,
    calibrate_alternatives,
    calibrate_reader,
    format_alternatives,
    format_reader_calibration,
    reader_command,
    reader_config,
    reader_rows,
    write_alternatives,
    write_reader_calibration,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="reader folder (e.g. qa/models/reader-minilm)")
    parser.add_argument("--dev", required=True, help="SQuAD v1.1 dev JSON")
    parser.add_argument("--articles", type=int, help="only the first N dev articles (quick runs)")
    parser.add_argument("--retrieved", type=int, default=1600, help="dev questions asked over retrieved passages")
    parser.add_argument("--rule", choices=RULES, default=RULE)
    parser.add_argument("--min-abstain", type=float, default=MIN_ABSTAIN, help="with --rule abstain")
    parser.add_argument("--retrieved-rule", choices=RULES, default=RETRIEVED_RULE)
    parser.add_argument("--retrieved-min-abstain", type=float, default=RETRIEVED_MIN_ABSTAIN)
    parser.add_argument("--fit-on", choices=("answers", "candidates"), default="answers",
                        help="fit on the candidate each row answered with, or on every candidate the "
                             "verifier ranks (rows saved with them; measured no better for the shipped reader)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--save", type=Path, help="write every row (signals, labels) here")
    parser.add_argument("--rows", type=Path, help="refit from rows saved by --save, without reading")
    parser.add_argument("--write", action="store_true", help="store models and thresholds in the model folder")
    parser.add_argument("--alternatives-only", action="store_true",
                        help="fit only the runner-ups' rescaling for the folder's own retrieved model (with --write: "
                             "store only that)")
    args = parser.parse_args()

    if args.rows:
        rows = json.loads(args.rows.read_text())
    else:
        began = time.time()
        rows = reader_rows(args.model, args.dev, args.articles, args.retrieved, args.batch)
        print(f"read {len(rows['given']) + len(rows['retrieved'])} items in {time.time() - began:.0f}s")
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps({"model": args.model, **rows}) + "\n")

    if args.alternatives_only:
        scale, report = calibrate_alternatives(rows["retrieved"], reader_config(args.model)["calibration"]["retrieved"])
        if scale is None or report is None:
            raise SystemExit("these rows hold no runner-up candidates (saved before rows kept them)")
        print(scale)
        print(format_alternatives(report))
        if args.write:
            print(f"written to {write_alternatives(args.model, scale, report)}")
        return
    calibration = calibrate_reader(rows, args.rule, args.min_abstain, args.retrieved_rule,
                                   args.retrieved_min_abstain, args.fit_on == "candidates")
    print(format_reader_calibration(calibration.report))
    if args.write:
        command = reader_command(args.model, args.rule, args.min_abstain, args.retrieved_rule)
        if args.fit_on == "candidates":
            command += " --fit-on candidates"
        print(f"calibration written to {write_reader_calibration(args.model, calibration, command)}")


if __name__ == "__main__":
    main()
