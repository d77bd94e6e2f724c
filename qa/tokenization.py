"""The models' tokenizers, loaded with the ``tokenizers`` library alone (no transformers, no PyTorch).

    tok = ModelTokenizer.load("qa/models/reader-minilm")
    windows, pair_of = tok.pair_windows([("Who?", "Macron said ...")], max_length=256, stride=64)
    feed = tok.padded(windows)   # {"input_ids": int64 array, "attention_mask": ..., "token_type_ids": ...}

A model folder's ``tokenizer.json`` is read directly: it is what transformers' fast tokenizers wrap,
and windows, offsets and ids come out the same (``tests/test_tokenization.py``). A folder without one
(some hub models) goes through ``AutoTokenizer`` once to get it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError


class ModelTokenizer:
    """A ``tokenizers.Tokenizer`` and its padding id; safe to share between threads."""

    def __init__(self, inner: Any, pad_id: int = 0):
        self.inner, self.pad_id = inner, pad_id
        self._lock = threading.Lock()  # truncation is a setting of the shared tokenizer

    @classmethod
    def load(cls, location: str | Path) -> ModelTokenizer:
        path = Path(location)
        try:
            if (path / "tokenizer.json").exists():
                from tokenizers import Tokenizer

                inner = Tokenizer.from_file(str(path / "tokenizer.json"))
            else:
                from transformers import AutoTokenizer

                inner = AutoTokenizer.from_pretrained(str(location)).backend_tokenizer
        except Exception as exc:  # noqa: BLE001 - any loading failure is reported the same way
            raise ModelError(f"cannot load the tokenizer of {location}: {exc}") from exc
        inner.no_truncation()
        inner.no_padding()
        return cls(inner, _pad_id(path, inner))

    def pair_windows(self, pairs: list[tuple[str, str]], max_length: int, stride: int) -> tuple[list[Any], list[int]]:
        """Every window of (question, passage) pairs: the passage cut into overlapping windows of at most
        ``max_length`` tokens with the question in each, as transformers' ``return_overflowing_tokens``
        does; and, per window, the number of the pair it came from."""
        with self._lock:
            self.inner.enable_truncation(max_length, stride=stride, strategy="only_second", direction="right")
            try:
                encodings = self.inner.encode_batch(pairs)
            finally:
                self.inner.no_truncation()
        windows, pair_of = [], []
        for n, encoding in enumerate(encodings):
            for window in (encoding, *encoding.overflowing):
                windows.append(window)
                pair_of.append(n)
        return windows, pair_of

    def encode(self, texts: list[str], max_length: int) -> list[Any]:
        """Encodings of single texts, each cut at ``max_length`` tokens."""
        with self._lock:
            self.inner.enable_truncation(max_length, strategy="longest_first", direction="right")
            try:
                return self.inner.encode_batch(texts)
            finally:
                self.inner.no_truncation()

    def padded(self, encodings: list[Any]) -> dict[str, np.ndarray]:
        """The model's inputs for a batch of encodings, padded on the right to the longest."""
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            types[row, :n] = e.type_ids
            mask[row, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _pad_id(path: Path, inner: Any) -> int:
    token: Any = "[PAD]"
    with contextlib.suppress(OSError, ValueError):
        token = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8")).get("pad_token") or token
    if isinstance(token, dict):
        token = token.get("content", "[PAD]")
    found = inner.token_to_id(str(token))
    return int(found) if found is not None else 0
