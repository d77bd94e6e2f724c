"""Extractive reading: find answer spans to a question in passages with a transformers QA model.

Start and end logits of each window are turned into probabilities over the
window's context tokens *and* [CLS], the model's "no answer" position; a span's
score is P(start) x P(end), so a passage the model thinks holds no answer gives
only low-scoring spans, and the [CLS] pair is that passage's no-answer score.

    reader = ExtractiveReader()            # the packaged reader, offline
    reader.read("Who offered Russia cooperation?", passages).spans[0].text
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from qa.backends import DEFAULT_BACKEND, check_backend, select
from qa.errors import ModelError
from qa.schema import Passage, Reading, Span
from qa.settings import DEFAULT_READER, cache_home

log = logging.getLogger(__name__)

PACKAGED_READER_DIR = Path(__file__).parent / "models" / "reader-minilm"
READER_CONFIG = "qa_reader.json"  # our settings in a model folder, e.g. its calibrated min_score
FALLBACK_MIN_SCORE = 0.2
OUTPUTS = ("start_logits", "end_logits")


def resolve_reader(name: str) -> str:
    """A loadable location for a reader name; the default name is the folder shipped in the package."""
    if name == DEFAULT_READER:
        if not (PACKAGED_READER_DIR / "config.json").exists():
            raise ModelError(
                f"the packaged reader is missing from {PACKAGED_READER_DIR}: reinstall qa, "
                "or pass another extractive QA model (reader=... / --reader / QA_READER)"
            )
        return str(PACKAGED_READER_DIR)
    return name


def int8_scheme() -> str:
    """The reader's int8 form on this CPU (docs/backends.md): blockwise where it has int8 dot products
    (VNNI: fast, and the answers closest to fp32's), one activation scale per tensor where it has not
    (AVX2: the only int8 faster than fp32 there; SQuAD-dev F1 within 0.1 of fp32, but it moves more
    scores, and on the held-out terse chats it answered 1-2 more turns wrong)."""
    from qa.backends.cpu import detect

    return "blockwise" if detect().vnni else "dynamic"


class ExtractiveReader:
    """A transformers extractive QA model; loads on first use, on the backend chosen for this machine."""

    def __init__(
        self, model: str = DEFAULT_READER, max_length: int = 384, stride: int = 128,
        max_answer_tokens: int = 30, top_k: int = 10, batch_size: int = 16, device: str | None = None,
        backend: str = DEFAULT_BACKEND,
    ):
        self.name = model
        self.backend = check_backend(backend)  # as asked: auto, fp32, bf16, int8 or onnx-fp32 (qa.backends)
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.top_k = top_k
        self.batch_size = batch_size
        self.device = device or "cpu"
        self.choice: Any = None  # the qa.backends.Choice made at warm-up: what runs, and why
        self._runner: Any = None
        self._tokenizer: Any = None
        self._torch_model: Any = None
        self._config: dict[str, Any] = {}
        self._warm = threading.Lock()
        self._warned = False  # about a calibrated folder without a follow-up threshold

    def warm_up(self) -> None:
        if self._runner is not None:
            return
        with self._warm:
            if self._runner is not None:
                return
            from qa.backends import Offer
            from qa.backends.choice import probe_feed
            from qa.backends.onnx import weight_files
            from qa.tokenization import ModelTokenizer

            location = resolve_reader(self.name)
            local = Path(location).is_dir()
            if local:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                config = Path(location) / READER_CONFIG
                if config.exists():
                    self._config = json.loads(config.read_text(encoding="utf-8"))
            try:
                self._tokenizer = ModelTokenizer.load(location)
            except ModelError as exc:
                raise ModelError(f"cannot load reader {self.name!r}: {exc}") from exc
            folder = Path(location)
            sources = weight_files(folder) if local else None
            self._offer = Offer(lambda: self._load(location), OUTPUTS, cache_home(), f"reader-{folder.name}",
                                sources, self.device, scheme=int8_scheme())
            self.choice, self._runner = select("reader", self.name, self.backend, self._offer.factories(),
                                               probe_feed(1, 192), cache_home())
            self._offer.keep(self.choice.backend)

    def _load(self, location: str) -> Any:
        """The fp32 transformers model (for PyTorch, and for the ONNX exports)."""
        import torch
        from transformers import AutoModelForQuestionAnswering

        try:
            return AutoModelForQuestionAnswering.from_pretrained(location, dtype=torch.float32)
        except Exception as exc:  # noqa: BLE001 - any loading failure is reported the same way
            raise ModelError(f"cannot load reader {self.name!r}: {exc}") from exc

    @property
    def runs_on(self) -> str:
        """The backend the forward passes run on (``backend`` resolved for this machine)."""
        self.warm_up()
        return str(self.choice.backend)

    @property
    def min_score(self) -> float:
        """The answer score below which this reader's answers should be withheld (calibrated on dev)."""
        self.warm_up()
        return float(self._config.get("min_score", FALLBACK_MIN_SCORE))

    @property
    def min_score_retrieved(self) -> float:
        """The threshold for answers found among retrieved passages (several passages, one question):
        higher than ``min_score``, which is calibrated on single gold-or-unrelated paragraphs."""
        self.warm_up()
        return float(self._config.get("min_score_retrieved", self.min_score))

    @property
    def min_score_follow_up(self) -> float:
        """The threshold for follow-up questions read with the conversation in view (their own
        calibrated model, ``calibration["follow_up"]``); ``min_score_retrieved`` without one."""
        self.warm_up()
        if "min_score_follow_up" not in self._config and self._config.get("calibration") and not self._warned:
            self._warned = True  # once per reader
            log.warning("reader %s has no follow-up threshold: follow-ups use its retrieved threshold %.2f, which "
                        "withholds many right answers; run scripts/calibrate_follow_ups.py --write on it",
                        self.name, self.min_score_retrieved)
        return float(self._config.get("min_score_follow_up", self.min_score_retrieved))

    @property
    def calibration(self) -> dict[str, Any] | None:
        """The fitted verifier models of this reader folder (``qa_reader.json``), if it has them."""
        self.warm_up()
        return self._config.get("calibration")

    def read(self, question: str, passages: list[Passage]) -> Reading:
        """Candidate answer spans over all passages, best first, and each passage's no-answer score."""
        return self.read_many([(question, passages)])[0]

    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
        """``read`` for several questions at once, batching their windows together."""
        self.warm_up()
        pairs = [(q, i, n, p.text) for i, (q, ps) in enumerate(items) for n, p in enumerate(ps)]
        spans: list[dict[tuple[int, int, int], tuple[float, float]]] = [{} for _ in items]  # key: (score, raw)
        no_answer = [[1.0] * len(ps) for _, ps in items]
        if not pairs:
            return [Reading([], []) for _ in items]
        windows, pair_of = self._tokenizer.pair_windows([(q.strip(), t) for q, *_, t in pairs], self.max_length,
                                                        self.stride)
        start_logits = [np.empty(0)] * len(windows)
        end_logits = [np.empty(0)] * len(windows)
        for rows in _batches([len(w.ids) for w in windows], self.batch_size):
            starts, ends = self._runner.run(self._tokenizer.padded([windows[w] for w in rows]))
            for n, w in enumerate(rows):
                start_logits[w] = starts[n, : len(windows[w].ids)]
                end_logits[w] = ends[n, : len(windows[w].ids)]
        for w, window in enumerate(windows):
            _, item, passage, _ = pairs[pair_of[w]]
            context = np.array([s == 1 for s in window.sequence_ids])
            allowed = context.copy()
            allowed[0] = True  # [CLS]: no answer
            ls = _log_softmax(np.where(allowed, start_logits[w], -np.inf))
            le = _log_softmax(np.where(allowed, end_logits[w], -np.inf))
            no_answer[item][passage] = min(no_answer[item][passage], float(np.exp(ls[0] + le[0])))
            ls_ctx, le_ctx = np.where(context, ls, -np.inf), np.where(context, le, -np.inf)
            first_char, last_char = _word_bounds(window.word_ids, window.offsets)
            best_starts = np.argsort(-ls_ctx)[: self.top_k]
            best_ends = np.argsort(-le_ctx)[: self.top_k]
            for i in best_starts:
                for j in best_ends:
                    if not (context[i] and context[j]) or j < i or j - i + 1 > self.max_answer_tokens:
                        continue
                    key = (passage, first_char[i], last_char[j])  # whole words: never "Darmani" for "Darmanin"
                    score = float(np.exp(ls[i] + le[j]))
                    if score > spans[item].get(key, (0.0, 0.0))[0]:
                        spans[item][key] = (score, float(start_logits[w][i] + end_logits[w][j]))
        readings = []
        for item, (_, ps) in enumerate(items):
            found = [
                Span(p, s, e, ps[p].text[s:e], score, raw)
                for (p, s, e), (score, raw) in spans[item].items() if e > s
            ]
            found.sort(key=lambda x: (-x.score, x.passage, x.start))
            readings.append(Reading(found[: self.top_k * 2], no_answer[item]))
        return readings


PAD_SLACK = 1.15  # a batch may hold at most this many token positions per real token


def _batches(lengths: list[int], size: int) -> list[list[int]]:
    """Window numbers in batches of at most ``size``, shortest first, each padded by at most ``PAD_SLACK``.

    A batch is padded to its longest window, and the reader's passages differ in length (on SQuAD-dev
    articles one batch of a question's windows was 43% padding); on a CPU a forward pass costs in
    proportion to its token positions, so a short window is better read apart than padded.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for w in sorted(range(len(lengths)), key=lambda w: lengths[w]):
        if current and (len(current) == size or lengths[w] * (len(current) + 1) > PAD_SLACK * (tokens + lengths[w])):
            batches.append(current)
            current, tokens = [], 0
        current.append(w)
        tokens += lengths[w]
    return batches + [current] if current else batches


def _word_bounds(word_ids: list[int | None], offsets: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Per token, the first and last character of the word it belongs to."""
    first = [start for start, _ in offsets]
    last = [end for _, end in offsets]
    t = 0
    while t < len(word_ids):
        u = t
        while word_ids[t] is not None and u + 1 < len(word_ids) and word_ids[u + 1] == word_ids[t]:
            u += 1
        for k in range(t, u + 1):
            first[k], last[k] = offsets[t][0], offsets[u][1]
        t = u + 1
    return first, last


def _log_softmax(x: np.ndarray) -> np.ndarray:
    finite = x[np.isfinite(x)]
    m = finite.max()
    return x - (m + np.log(np.exp(finite - m).sum()))
