"""The embedder: the packaged models run without sentence-transformers (the teacher with the same
vectors), and the default is the 2-layer student distilled from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.embedding import MeanPooledEncoder, SentenceEmbedder, token_batches


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
    embedder = SentenceEmbedder("all-MiniLM-L6-v2", backend="fp32")
    vectors = embedder.encode(sentences)
    assert isinstance(embedder._model, MeanPooledEncoder) and embedder.dimension == 384
    reference = SentenceTransformer(str(embedder._model.folder), device="cpu").encode(
        sentences, normalize_embeddings=True)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.99999


def test_token_batches_cover_every_text_once_longest_first_within_the_budget() -> None:
    lengths = [12, 40, 7, 300, 40, 9, 25, 25, 3, 64]
    batches = token_batches(lengths, 100)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)
    for rows in batches:
        padded = len(rows) * max(lengths[i] for i in rows)
        assert padded <= 100 or len(rows) == 1  # a text longer than the budget goes alone
    assert [len(b) for b in batches] == [1, 1, 2, 4, 2]  # 300 | 64 | 40 40 | 25 25 12 9 | 7 3
    assert token_batches([], 100) == []


@pytest.mark.real_model
def test_bulk_vectors_do_not_depend_on_how_texts_are_batched() -> None:
    texts = [f"Sentence number {i} about the concert hall attack" + " and its aftermath" * (i % 7) for i in range(40)]
    embedder = SentenceEmbedder()
    embedder.warm_up()
    encoder = embedder._model
    together = encoder.encode(texts, batch_tokens=1024)
    alone = encoder.encode(texts, batch_tokens=1)  # one text a pass (a handful would take the question backend)
    assert together.shape == (40, 384)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(together * alone, axis=1)) > 0.99999  # padding never changes a text's vector


@pytest.mark.real_model
def test_embedding_a_question_imports_neither_sentence_transformers_nor_pytorch() -> None:
    code = ("import sys; from qa.embedding import SentenceEmbedder; SentenceEmbedder().encode(['a question']); "
            "print(*(m in sys.modules for m in ('sentence_transformers', 'sklearn', 'transformers', 'torch')))")
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # the host's choice
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False", "False"]  # a question is embedded on int8


def test_a_student_folder_that_does_not_match_its_config_is_refused(tmp_path: Path) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    from qa.embedding import STUDENT_CARD, load_student
    from qa.errors import ModelError

    folder = tmp_path / "student"
    folder.mkdir()
    config = BertConfig(hidden_size=384, num_hidden_layers=2, num_attention_heads=12, intermediate_size=1536)
    config.save_pretrained(folder)
    save_file({"embeddings.LayerNorm.weight": np.ones(384, dtype=np.float32)}, folder / "model.safetensors")
    (folder / STUDENT_CARD).write_text("{}")
    with pytest.raises(ModelError, match="does not match its config"):
        load_student(folder)


def test_a_missing_packaged_student_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.embedding
    from qa.errors import ModelError

    monkeypatch.setattr(qa.embedding, "PACKAGED_STUDENT_DIR", tmp_path / "nothing")
    with pytest.raises(ModelError, match="packaged embedder is missing"):
        qa.embedding.resolve_embedder(qa.embedding.STUDENT_NAME)


@pytest.mark.real_model
def test_the_packaged_student_is_a_two_layer_copy_of_the_teacher() -> None:
    import torch
    from safetensors import safe_open

    from qa.embedding import PACKAGED_STUDENT_DIR, STUDENT_NAME, WORD_EMBEDDINGS, packaged_minilm_path
    from qa.settings import DEFAULT_EMBEDDER

    assert DEFAULT_EMBEDDER == STUDENT_NAME
    with safe_open(str(PACKAGED_STUDENT_DIR / "model.safetensors"), "pt") as shipped:
        assert WORD_EMBEDDINGS not in shipped.keys()  # noqa: SIM118 - safe_open has no __contains__; read from the teacher's package instead
    with safe_open(str(packaged_minilm_path() / "model.safetensors"), "pt") as teacher_file:
        teacher_words = teacher_file.get_tensor(WORD_EMBEDDINGS)
    student = SentenceEmbedder(backend="fp32")
    sentences = ["French President Emmanuel Macron offered Russia cooperation on Friday.",
                 "The concert hall attack killed 139 people.",
                 "The Islamic State group claimed responsibility for the attack.",
                 "Shares in the carmaker fell by 4% after the results."]
    vectors = student.encode(sentences)
    model = student._model.offer.torch_model
    assert model.config.num_hidden_layers == 2 and student.dimension == 384
    assert torch.equal(model.embeddings.word_embeddings.weight, teacher_words)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    teacher = SentenceEmbedder("all-MiniLM-L6-v2", backend="fp32").encode(sentences)
    assert np.min(np.sum(vectors * teacher, axis=1)) > 0.8  # distilled: near the teacher's vectors
    questions = ["Who offered Russia cooperation?", "How many people died in the attack?",
                 "Who claimed the attack?", "How much did the carmaker's shares drop?"]
    ranks = (student.encode(questions) @ vectors.T).argmax(axis=1)
    assert ranks.tolist() == [0, 1, 2, 3]


@pytest.mark.real_model
def test_a_complete_copy_of_the_student_loads_in_sentence_transformers(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from qa.embedding import PACKAGED_STUDENT_DIR, save_complete

    sentences = ["Macron offered Russia cooperation.", "Who offered Russia cooperation?"]
    ours = SentenceEmbedder(backend="fp32").encode(sentences)
    theirs = SentenceTransformer(str(save_complete(PACKAGED_STUDENT_DIR, tmp_path / "full")), device="cpu").encode(
        sentences, normalize_embeddings=True)
    assert np.min(np.sum(ours * theirs, axis=1)) > 0.99999
