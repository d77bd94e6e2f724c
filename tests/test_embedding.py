"""The embedder: the packaged model runs without sentence-transformers, with the same vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.embedding import MeanPooledEncoder, SentenceEmbedder


def st_folder(folder: Path, modules: list[str], pooling: dict[str, bool]) -> Path:
    folder.mkdir()
    (folder / "modules.json").write_text(json.dumps(
        [{"idx": i, "name": str(i), "path": "", "type": f"sentence_transformers.models.{m}"}
         for i, m in enumerate(modules)]))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 128}')
    return folder


def test_other_pipelines_are_left_to_sentence_transformers(tmp_path: Path) -> None:
    cls = {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}
    mean = {"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True}
    assert MeanPooledEncoder.load(str(st_folder(tmp_path / "cls", ["Transformer", "Pooling", "Normalize"], cls)),
                                  "cpu") is None
    assert MeanPooledEncoder.load(str(st_folder(tmp_path / "dense", ["Transformer", "Pooling", "Dense"], mean)),
                                  "cpu") is None
    assert MeanPooledEncoder.load(str(tmp_path), "cpu") is None  # no modules.json: a hub name or another layout
    assert MeanPooledEncoder.load("sentence-transformers/all-mpnet-base-v2", "cpu") is None


@pytest.mark.real_model
def test_packaged_embedder_matches_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    sentences = ["Macron offered Russia cooperation.", "Short.", "The attack on the Moscow concert hall " * 30]
    embedder = SentenceEmbedder(backend="fp32")
    vectors = embedder.encode(sentences)
    assert isinstance(embedder._model, MeanPooledEncoder) and embedder.dimension == 384
    reference = SentenceTransformer(embedder._model.model.name_or_path, device="cpu").encode(
        sentences, normalize_embeddings=True)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.99999
    code = ("import sys; from qa.embedding import SentenceEmbedder; SentenceEmbedder().encode(['a question']); "
            "print('sentence_transformers' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
