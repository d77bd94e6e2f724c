"""Score a trained reader on SQuAD dev, calibrate its no-answer threshold, and package it.

    python scripts/package_reader.py --model runs/reader/model \
        --dev ../shared/data/squad/dev-v1.1.json --out qa/models/reader-minilm

Reader mode throughout (the gold paragraph is given). Unanswerable pairs are made
as in training, of two kinds: a dev question paired with another paragraph of its
article that holds none of its answers, and a dev question paired with its own
paragraph with the sentences that answer it cut out (harder: same topic). The
threshold is chosen on the even-numbered dev articles (best F1 over answerable
questions and unanswerable pairs together, raised if needed so that at least
``--min-abstain`` of the unanswerable pairs abstain) and reported on the
odd-numbered ones, which it never saw.

Reading all of dev takes about 12 minutes on a 2-core CPU. ``--save-scores FILE``
keeps every prediction; ``--from-scores FILE`` packages again from them in seconds
(another threshold rule, another ``--min-score-retrieved``), refusing a file that
was made with other weights or other pairs. The work is done by ``qa.training.packaging``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.errors import QAError
from qa.training.packaging import DEFAULTS, RULES, PackagingConfig, score_reader, write_package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="trained model folder (runs/reader/model)")
    parser.add_argument("--dev", required=True, help="SQuAD v1.1 dev JSON")
    parser.add_argument("--out", required=True, help="folder to package into")
    parser.add_argument("--min-abstain", type=float, default=DEFAULTS["min_abstain"],
                        help="share of the calibration pairs that must abstain")
    parser.add_argument("--rule", choices=RULES, default=DEFAULTS["rule"],
                        help="f1: the F1-best threshold (raised to --min-abstain); "
                             "abstain: the lowest threshold that reaches --min-abstain")
    parser.add_argument("--negatives", type=float, default=DEFAULTS["negatives"],
                        help="pairs with another paragraph, per dev question")
    parser.add_argument("--cut-negatives", type=float, default=DEFAULTS["cut_negatives"],
                        help="pairs with the question's paragraph minus its answer sentences, per dev question")
    parser.add_argument("--save-scores", type=Path, help="also write every prediction and score to this JSON file")
    parser.add_argument("--from-scores", type=Path,
                        help="take the predictions and scores from a --save-scores file instead of reading dev")
    parser.add_argument("--batch", type=int, default=DEFAULTS["batch"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--min-score-retrieved", type=float,
                        help="threshold for retrieved passages (the F1-best min_score of `qa eval` end to end)")
    parser.add_argument("--minutes", type=float, help="training time, for the card (else from the run log)")
    parser.add_argument("--device", help="what it was trained on, for the card (else from the run log)")
    parser.add_argument("--articles", type=int, help="only the first N dev articles (a quick check)")
    cfg = PackagingConfig(**vars(parser.parse_args()))
    try:
        scores = score_reader(cfg)
    except QAError as exc:
        raise SystemExit(str(exc)) from None
    print(json.dumps(scores, indent=2))
    print(f"packaged into {write_package(cfg, scores)}")
    print("next: scripts/calibrate_reader.py --write, then scripts/calibrate_follow_ups.py --write on that folder "
          "(without a follow-up threshold, follow-ups fall back to the retrieved one)")


if __name__ == "__main__":
    main()
