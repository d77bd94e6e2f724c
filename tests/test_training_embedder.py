"""Distilling the embedder: seeded, resumable, and the written folder loads as the student it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qa.training.embedder as distil
from qa.training.embedder import EmbedderTrainingConfig, pairs_and_sentences, split_articles

PARAGRAPHS = [
    ("The Eiffel Tower was finished in 1889. It stands in Paris on the Champ de Mars.",
     [("When was the Eiffel Tower finished?", "1889"), ("Where does the tower stand?", "Champ de Mars")]),
    ("The Louvre is the world's most visited museum. It opened in 1793.", [("When did the Louvre open?", "1793")]),
    ("Ferries leave the harbour every hour. The last one sails at midnight.",
     [("How often do ferries leave?", "every hour"), ("When does the last ferry sail?", "midnight")]),
    ("The mayor opened a new bridge on Monday. It cost 40 million euros.",
     [("What did the mayor open?", "a new bridge"), ("How much did the bridge cost?", "40 million euros")]),
]


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    data = [{"title": f"Article {i}", "paragraphs": [{"context": c, "qas": [
        {"id": f"{i}-{j}", "question": q, "answers": [{"text": a, "answer_start": c.index(a)}]}
        for j, (q, a) in enumerate(qas)]}]} for i, (c, qas) in enumerate(PARAGRAPHS)]
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return path


def test_pairs_point_at_the_sentence_holding_the_answer(squad_file: Path) -> None:
    training, held_out = split_articles(squad_file, every=4)
    assert [a["title"] for a in held_out] == ["Article 0"] and len(training) == 3
    pairs, sentences, answers = pairs_and_sentences(training)
    assert ("When did the Louvre open?", "It opened in 1793.") in pairs
    assert answers[pairs.index(("When did the Louvre open?", "It opened in 1793."))] == "1793"
    assert ("How often do ferries leave?", "Ferries leave the harbour every hour.") in pairs
    assert len(sentences) == 6 and all(s in sentences for _, s in pairs)


def test_batches_are_of_similar_lengths_and_cover_each_epoch() -> None:
    import random

    lengths = [5] * 8 + [300] * 8
    batches = distil._length_batches(lengths, 4, 4, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(16))
    assert all(len({lengths[i] for i in b}) == 1 for b in batches)


def config(squad_file: Path, out: Path, **kw: Any) -> EmbedderTrainingConfig:
    return EmbedderTrainingConfig(train=str(squad_file), out=str(out), questions=8, sentences=4, batch_size=2,
                                  max_steps=4, held_out_every=4, checkpoint_every=2, log_every=1, **kw)


def weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(folder / "model.safetensors")


@pytest.mark.real_model
def test_interrupted_distillation_resumes_to_the_same_student(
    squad_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole = distil.train(config(squad_file, tmp_path / "whole"))
    saved = distil._atomic_save

    def interrupt_after_step_2(obj: Any, path: Path) -> None:
        saved(obj, path)
        if obj["step"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(distil, "_atomic_save", interrupt_after_step_2)
    with pytest.raises(KeyboardInterrupt):
        distil.train(config(squad_file, tmp_path / "resumed"))
    monkeypatch.setattr(distil, "_atomic_save", saved)
    resumed = distil.train(config(squad_file, tmp_path / "resumed"))
    a, b = weights(whole), weights(resumed)
    assert a.keys() == b.keys() and "embeddings.word_embeddings.weight" not in a
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["encoder.layer.0.attention.self.query.weight"],
                              weights(distil.teacher_path())["encoder.layer.0.attention.self.query.weight"])
    card = json.loads((whole / "qa_embedder.json").read_text())
    assert card["layers_from_teacher"] == [0, 5] and card["config"]["max_steps"] == 4

    from qa.embedding import SentenceEmbedder

    vectors = SentenceEmbedder(str(whole), backend="fp32").encode(["When did the Louvre open?", "It opened in 1793."])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    with pytest.raises(SystemExit, match="other settings"):
        distil.train(config(squad_file, tmp_path / "whole", lr=1e-3))


def test_hard_negatives_are_bm25s_best_other_sentences(tmp_path: Path) -> None:
    from qa.training.embedder import hard_negatives

    pairs = [("Who built the north bridge?", "Karl Olsen built the north bridge in 1931."),
             ("When did the tower open?", "The tower opened in 1950.")]
    sentences = [s for _, s in pairs] + ["The south bridge was built by Maria Lopez.",
                                        "Visitors climb the tower every summer.", "Bread costs two euros."]
    found = hard_negatives(pairs, sentences, 1, tmp_path / "hard.json")
    assert found == [["The south bridge was built by Maria Lopez."], ["Visitors climb the tower every summer."]]
    assert hard_negatives(pairs, sentences, 1, tmp_path / "hard.json") == found  # read back from the cache


def test_hard_negatives_holding_the_answer_are_not_negatives(tmp_path: Path) -> None:
    from qa.training.embedder import hard_negatives

    pairs = [("Who built the north bridge?", "The north bridge opened in 1931."),
             ("When did the tower open?", "The tower opened in 1950.")]
    sentences = [s for _, s in pairs] + ["Karl Olsen built the north bridge.", "Who built the old north gate?",
                                        "Bread costs two euros."]
    unfiltered = hard_negatives(pairs, sentences, 2, tmp_path / "hard.json")
    assert sorted(unfiltered[0]) == ["Karl Olsen built the north bridge.", "Who built the old north gate?"]
    found = hard_negatives(pairs, sentences, 2, tmp_path / "hard.json", answers=["Karl Olsen", "1950"])
    assert "Karl Olsen built the north bridge." not in found[0]  # it answers the question too
    assert found[0][0] == "Who built the old north gate?"


@pytest.mark.real_model
def test_recall_check_keeps_the_best_student(squad_file: Path, tmp_path: Path) -> None:
    folder = distil.train(config(squad_file, tmp_path / "run", eval_every=2, eval_questions=4))
    card = json.loads((folder / "qa_embedder.json").read_text())
    checks = card["held_out_recall@5"]
    assert [h["step"] for h in checks] == [0, 2, 4]
    assert all(0.0 <= h["held_out_recall@5"] <= 1.0 for h in checks)
    assert (tmp_path / "run" / "best.pt").exists()


def test_a_narrowed_student_keeps_its_largest_feed_forward_units() -> None:
    import torch
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertLayer

    torch.manual_seed(0)
    layer = BertLayer(BertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=6)).eval()
    with torch.no_grad():
        layer.intermediate.dense.weight[[1, 4]] *= 10  # units 1 and 4 weigh most going in and out
        layer.output.dense.weight[:, [1, 4]] *= 10
        layer.intermediate.dense.weight[0] = 0  # unit 0 does nothing
    x = torch.randn(1, 3, 8)
    with torch.no_grad():
        up = layer.intermediate.dense
        before = layer.output.dense(layer.intermediate.intermediate_act_fn(up(x))[..., [1, 4]]
                                    @ torch.eye(6)[[1, 4]])  # the two units' share of the output
        distil.prune_ffn(layer, 2)
        assert layer.intermediate.dense.weight.shape == (2, 8) and layer.output.dense.weight.shape == (8, 2)
        after = layer.output.dense(layer.intermediate.intermediate_act_fn(layer.intermediate.dense(x)))
    assert torch.allclose(before, after, atol=1e-5)


@pytest.mark.real_model
def test_a_student_can_be_the_teacher_and_bf16_is_used_only_where_native(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from qa.embedding import PACKAGED_STUDENT_DIR, SentenceEmbedder

    texts = ["When did the Louvre open?", "It opened in 1793.", "Ferries leave the harbour every hour."]
    student = SentenceEmbedder(backend="fp32").encode(texts)
    monkeypatch.setattr(distil, "detect_cpu", lambda: SimpleNamespace(native_bf16=False))
    fp32 = distil.teacher_vectors(texts, tmp_path / "a.npy", 128, folder=str(PACKAGED_STUDENT_DIR))
    assert np.allclose(fp32.astype(np.float32), student, atol=2e-4)  # the student's own (float16-stored: ~6e-5 off)
    teacher = SentenceEmbedder("all-MiniLM-L6-v2", backend="fp32").encode(texts)
    assert np.min(np.sum(fp32 * teacher, axis=1)) < 0.99  # not all-MiniLM-L6-v2's
    monkeypatch.setattr(distil, "detect_cpu", lambda: SimpleNamespace(native_bf16=True))
    bf16 = distil.teacher_vectors(texts, tmp_path / "b.npy", 128, folder=str(PACKAGED_STUDENT_DIR))
    assert np.abs(bf16.astype(np.float32) - student).max() > 2e-4  # under bf16 autocast (~7e-4 off here)
    assert np.min(np.sum(bf16.astype(np.float32) * student, axis=1)) > 0.99


@pytest.mark.real_model
def test_a_run_with_another_teacher_keeps_that_teachers_vectors_apart(squad_file: Path, tmp_path: Path) -> None:
    from qa.embedding import PACKAGED_STUDENT_DIR

    distil.train(config(squad_file, tmp_path / "run", layers=[0], init=str(PACKAGED_STUDENT_DIR),
                        ffn=64, teacher=str(PACKAGED_STUDENT_DIR)))
    assert not (tmp_path / "run" / "teacher.npy").exists()
    assert len(list((tmp_path / "run").glob("teacher-*.npy"))) == 1
    card = json.loads((tmp_path / "run" / "model" / "qa_embedder.json").read_text())
    assert card["config"]["teacher"] == str(PACKAGED_STUDENT_DIR) and card["config"]["ffn"] == 64
    assert "the vector of the student in" in (tmp_path / "run" / "model" / "README.md").read_text()


def test_the_rank_loss_is_zero_only_for_the_teachers_ranking() -> None:
    import torch

    from qa.training.embedder import rank_loss

    teacher = torch.tensor([[9.0, 1.0, 2.0, 9.0], [0.0, 5.0, 1.0, 2.0]])
    keep_out = torch.tensor([[False, False, False, True], [False] * 4])  # row 0's copy of its answer sentence
    assert rank_loss(teacher, teacher, keep_out).item() == pytest.approx(0.0, abs=1e-6)
    assert rank_loss(teacher + 3.0, teacher, keep_out).item() == pytest.approx(0.0, abs=1e-6)  # a shift is no change
    student = teacher.clone()
    student[0, 3] = -50.0  # a kept-out cell may score anything
    assert rank_loss(student, teacher, keep_out).item() == pytest.approx(0.0, abs=1e-6)
    swapped = teacher[:, [1, 0, 2, 3]]
    assert rank_loss(swapped, teacher, keep_out).item() > 1.0
    assert not torch.isnan(rank_loss(swapped, teacher, keep_out))


def tiny_encoder(tmp_path: Path) -> tuple[Path, Any]:
    """A 2-layer BERT with random weights, saved: a stand-in for the student whose int8 form is checked."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=1200, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                 intermediate_size=128, max_position_embeddings=64), add_pooling_layer=False)
    folder = tmp_path / "tiny-encoder"
    model.save_pretrained(folder)
    return folder, lambda: BertModel.from_pretrained(folder, add_pooling_layer=False).eval()


def test_the_simulated_int8_form_computes_what_onnx_runtime_does(tmp_path: Path) -> None:
    import torch

    from qa.backends.choice import probe_feed
    from qa.backends.onnx import OnnxRunner, exported, weight_files
    from qa.training.embedder import int8_simulated

    folder, load = tiny_encoder(tmp_path)
    path = exported(weight_files(folder), tmp_path / "cache", "tiny", load, ("last_hidden_state",),
                    scheme="dynamic-all")
    feed = probe_feed(3, 24, vocab=100)
    feed["attention_mask"][2, 16:] = 0
    ort = OnnxRunner(path, threads=1).run(feed)[0]
    model = load()
    tensors = {k: torch.from_numpy(v) for k, v in feed.items()}
    with torch.inference_mode():
        fp32 = model(**tensors).last_hidden_state.numpy()
        with int8_simulated(model):
            simulated = model(**tensors).last_hidden_state.numpy()
        assert np.array_equal(model(**tensors).last_hidden_state.numpy(), fp32)  # the layers are themselves again
    real = feed["attention_mask"].astype(bool)
    off, off_fp32 = np.abs(simulated - ort)[real].mean(), np.abs(fp32 - ort)[real].mean()
    assert off < 0.25 * off_fp32, (off, off_fp32)  # the int8 arithmetic itself, not just something near fp32


def test_a_quant_aware_run_records_how_far_its_int8_form_is_and_only_agreement_chooses_that_form(
        squad_file: Path, tmp_path: Path) -> None:
    from qa.embedding import int8_scheme

    folder = distil.train(config(squad_file, tmp_path / "run", layers=[0], quant_weight=1.0))
    card = json.loads((folder / "qa_embedder.json").read_text())
    assert card["config"]["quant_weight"] == 1.0
    assert all(0.0 < h["int8_cosine_lowest"] <= 1.0 for h in card["history"])  # the steps' own
    assert 0.9 < card["int8_cosine_lowest"] < 1.0  # over the held-out article's sentences, at the end

    def scheme(quant_weight: float, lowest: float) -> str:
        (folder / "qa_embedder.json").write_text(json.dumps(
            {**card, "config": {**card["config"], "quant_weight": quant_weight}, "int8_cosine_lowest": lowest}))
        return int8_scheme(folder)

    assert scheme(1.0, 0.9995) == "dynamic-all"  # trained for it, and agreeing as the index needs
    assert scheme(1.0, 0.997) == "blockwise"  # trained for it, not agreeing enough
    assert scheme(0.0, 0.9995) == "blockwise"
    assert int8_scheme(tmp_path) == "blockwise"  # a folder without a student card
