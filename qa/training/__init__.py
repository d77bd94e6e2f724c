"""Fine-tuning the extractive reader: the resumable trainer and the unanswerable pairs it learns from.

    qa train-reader --train train-v1.1.json --out runs/reader --swap-negatives 0.3

What follows training lives in its own modules, imported from there: ``packaging`` (score a trained
reader and package it), ``calibration`` (fit its verifier and thresholds), ``pairs`` (a SQuAD
2.0-style file of questions and pairs), ``early_exit`` (measure ``Settings.early_exit``).
"""

from qa.training.negatives import (
    KINDS,
    add_negatives,
    cut_answer_negatives,
    hard_paragraph_negatives,
    make_negatives,
    similar_paragraphs,
    swap_negatives,
)
from qa.training.trainer import (
    DEFAULTS,
    RUN_LOG,
    Feature,
    TrainingConfig,
    batch_order,
    collate,
    featurize,
    main,
    model_card,
    negative_shares,
    packaged_encoder_path,
    train,
)

__all__ = [
    "DEFAULTS", "KINDS", "RUN_LOG", "Feature", "TrainingConfig", "add_negatives", "batch_order", "collate",
    "cut_answer_negatives", "featurize", "hard_paragraph_negatives", "main",
    "make_negatives", "model_card", "negative_shares", "packaged_encoder_path", "similar_paragraphs", "swap_negatives",
    "train",
]
