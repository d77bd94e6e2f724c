"""Inference backends: selection, validation, the index manifest, and fp32/bf16 agreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.backends import BACKENDS, BLAS_THREADS_ENV, DEFAULT_BACKEND, check_backend, inference
from qa.embedding import SentenceEmbedder
from qa.errors import ModelError
from qa.pipeline import QA
from qa.reader import ExtractiveReader
from qa.schema import Passage
from qa.settings import DEFAULT_EMBEDDER, Settings


def test_backends_are_checked() -> None:
    assert check_backend(" BF16 ") == "bf16" and BACKENDS == ("fp32", "bf16")
    with pytest.raises(ModelError, match="unknown backend 'int4'.*fp32, bf16"):
        check_backend("int4")
    with pytest.raises(ModelError, match="unknown backend"):
        ExtractiveReader(backend="fp64")


def test_settings_and_environment_choose_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.load().backend == "bf16" == DEFAULT_BACKEND
    assert QA().reader.backend == "bf16" and SentenceEmbedder().backend == "bf16"
    monkeypatch.setenv("QA_BACKEND", "fp32")
    qa = QA()
    assert qa.settings.backend == "fp32" and qa.reader.backend == "fp32" and qa.embedder.backend == "fp32"
    assert QA(backend="bf16").reader.backend == "bf16"  # an argument beats the environment


def test_the_embedder_backend_is_part_of_the_vectors_identity() -> None:
    assert SentenceEmbedder("all-MiniLM-L6-v2", backend="fp32").name == "all-MiniLM-L6-v2"
    assert SentenceEmbedder("all-MiniLM-L6-v2", backend="bf16").name == "all-MiniLM-L6-v2@bf16"


def test_bf16_autocast_runs_matrix_products_in_bf16() -> None:
    import torch

    a = torch.randn(4, 8)
    with inference("bf16"):
        assert (a @ a.T).dtype == torch.bfloat16
    with inference("fp32"):
        assert (a @ a.T).dtype == torch.float32 and not torch.is_grad_enabled()


@pytest.mark.real_model
def test_bf16_agrees_with_fp32_on_the_packaged_models(seed_corpus: Path, tmp_path: Path) -> None:
    text = (seed_corpus / next(p.name for p in seed_corpus.iterdir())).read_text(encoding="utf-8")
    passages = [Passage("seed", "seed", 0, 0, 0, text[:1200])]
    questions = ["Who offered Russia cooperation?", "Which broadcaster carried the remarks?",
                 "How many Russians were killed?"]
    fp32, bf16 = ExtractiveReader(backend="fp32"), ExtractiveReader(backend="bf16")
    for q in questions:
        a, b = fp32.read(q, passages), bf16.read(q, passages)
        assert a.spans[0].text == b.spans[0].text
        assert abs(a.spans[0].score - b.spans[0].score) < 0.05
    sentences = [line for line in text.splitlines() if line.strip()][:8]
    v32 = SentenceEmbedder(backend="fp32").encode(sentences)
    v16 = SentenceEmbedder(backend="bf16").encode(sentences)
    assert np.min(np.sum(v32 * v16, axis=1)) > 0.99
    # the index notices: vectors of another backend are rebuilt, not mixed
    first = QA(corpus=seed_corpus, index=tmp_path / "index", backend="fp32").index()
    assert first.manifest["embedder"] == DEFAULT_EMBEDDER and first.manifest["backend"] == "fp32"
    rebuilt = QA(corpus=seed_corpus, index=tmp_path / "index", backend="bf16").index()
    assert rebuilt.manifest["embedder"] == f"{DEFAULT_EMBEDDER}@bf16" and rebuilt.manifest["backend"] == "bf16"


BLAS_PROBE = """
import json, sys
import numpy as np
from threadpoolctl import threadpool_info
from qa.backends import serial_blas
from qa.pipeline import QA
from tests.conftest import FakeEmbedder

def blas():  # the BLAS numpy calls (pthreads); FAISS's OpenMP-threaded one is left as it is
    return sorted({i["num_threads"] for i in threadpool_info()
                   if i["user_api"] == "blas" and i.get("threading_layer") != "openmp"})

before = blas()
qa = QA(corpus=sys.argv[1], index=sys.argv[2], embedder=FakeEmbedder())
qa.index()
print(json.dumps({"before": before, "after": blas(), "again": serial_blas()}))
"""


def _blas_threads(tmp_path: Path, corpus: Path, **env: str) -> dict:
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    clean = {k: v for k, v in os.environ.items() if k not in (*BLAS_THREADS_ENV, "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", BLAS_PROBE, str(corpus), str(tmp_path / "index")], cwd=root,
                         env={**clean, **env}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_index_loaded_for_questions_puts_numpys_blas_on_one_thread(seed_corpus: Path, tmp_path: Path) -> None:
    # OpenBLAS's idle threads spin after a threaded call, on the cores the reader needs next (qa.backends.serial_blas)
    found = _blas_threads(tmp_path, seed_corpus)
    assert found["after"] == [1] and found["again"] is True


def test_blas_threads_set_by_the_user_are_left_alone(seed_corpus: Path, tmp_path: Path) -> None:
    found = _blas_threads(tmp_path, seed_corpus, OPENBLAS_NUM_THREADS="2")
    assert found["after"] == found["before"] and found["again"] is False


def test_omp_num_threads_is_not_a_blas_setting(seed_corpus: Path, tmp_path: Path) -> None:
    # OMP_NUM_THREADS also sets PyTorch's threads: people set it for torch, and numpy's OpenBLAS would still spin
    found = _blas_threads(tmp_path, seed_corpus, OMP_NUM_THREADS="2")
    assert found["after"] == [1] and found["again"] is True
