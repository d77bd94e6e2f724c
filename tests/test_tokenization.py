"""The models' tokenizers read with ``tokenizers`` alone give what transformers' fast tokenizers give:
the same windows of a long passage, ids, token types, offsets and word ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.errors import ModelError
from qa.reader import PACKAGED_READER_DIR
from qa.tokenization import ModelTokenizer
from tests.conftest import SEED

QUESTION = "Who offered Russia “increased cooperation”?"


def test_windows_match_transformers_fast_tokenizer() -> None:
    from transformers import AutoTokenizer

    text = SEED.read_text(encoding="utf-8")
    pairs = [(QUESTION, text), ("Which day?", text[:300]), ("Wer?", "Émile Zola écrivit J’accuse… à Paris.")]
    ours = ModelTokenizer.load(PACKAGED_READER_DIR)
    windows, pair_of = ours.pair_windows(pairs, max_length=256, stride=64)
    theirs = AutoTokenizer.from_pretrained(PACKAGED_READER_DIR)(
        [q for q, _ in pairs], [t for _, t in pairs], truncation="only_second", max_length=256, stride=64,
        return_overflowing_tokens=True, return_offsets_mapping=True)
    assert len(windows) > len(pairs)  # the seed article needs several windows
    assert pair_of == list(theirs["overflow_to_sample_mapping"])
    for w, window in enumerate(windows):
        assert window.ids == theirs["input_ids"][w]
        assert window.type_ids == theirs["token_type_ids"][w]
        assert [tuple(o) for o in window.offsets] == [tuple(o) for o in theirs["offset_mapping"][w]]
        assert window.sequence_ids == theirs.sequence_ids(w)
        assert window.word_ids == theirs.word_ids(w)


def test_padding_and_truncation_of_single_texts() -> None:
    tok = ModelTokenizer.load(PACKAGED_READER_DIR)
    encodings = tok.encode(["Macron spoke.", "word " * 400], max_length=32)
    assert [len(e.ids) for e in encodings] == [len(encodings[0].ids), 32]
    feed = tok.padded(encodings)
    assert feed["input_ids"].shape == (2, 32) and feed["input_ids"].dtype == np.int64
    short = len(encodings[0].ids)
    assert feed["attention_mask"][0].tolist() == [1] * short + [0] * (32 - short)
    assert (feed["input_ids"][0, short:] == tok.pad_id).all() and tok.pad_id == 0
    assert tok.inner.truncation is None  # a call's truncation does not stay on the shared tokenizer


def test_a_folder_without_a_tokenizer_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load the tokenizer"):
        ModelTokenizer.load(tmp_path / "nothing-here")
