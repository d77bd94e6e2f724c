from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import qa.training as training
import qa.training.trainer as trainer
from qa.squad import squad_examples
from qa.training import TrainingConfig, add_negatives, batch_order, featurize

CONTEXT_A = "The Eiffel Tower was finished in 1889. It stands in Paris on the Champ de Mars."
CONTEXT_B = "The Louvre is the world's most visited museum. It opened in 1793."


def qa_item(id: str, question: str, answer: str, context: str) -> dict:
    return {"id": id, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


SQUAD = {"version": "1.1", "data": [{"title": "Paris", "paragraphs": [
    {"context": CONTEXT_A, "qas": [qa_item("q1", "When was the Eiffel Tower finished?", "1889", CONTEXT_A),
                                   qa_item("q2", "Where does the tower stand?", "Paris", CONTEXT_A)]},
    {"context": CONTEXT_B, "qas": [qa_item("q3", "When did the Louvre open?", "1793", CONTEXT_B)]},
]}]}


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from qa.embedding import packaged_minilm_path

    folder = tmp_path_factory.mktemp("tiny-base")
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(packaged_minilm_path()).save_pretrained(folder)
    return folder


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.json"
    path.write_text(json.dumps(SQUAD))
    return path


def test_labels_point_at_the_answer_tokens(squad_file: Path, tiny_base: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    examples = squad_examples(squad_file)
    cfg = TrainingConfig(train=str(squad_file), out="", max_length=24, stride=8, overflow_negatives=1.0)
    features = featurize(examples + add_negatives(examples, 1.0, random.Random(0)), tokenizer, cfg)
    decoded = {tokenizer.decode(f.input_ids[f.start : f.end + 1]) for f in features if f.start}
    assert {"1889", "paris", "1793"} <= decoded
    assert any(f.start == 0 and f.end == 0 for f in features)  # unanswerable pairs: [CLS]
    assert all(len(f.input_ids) <= 24 for f in features)


def test_negatives_never_hold_the_answer(squad_file: Path) -> None:
    examples = squad_examples(squad_file)
    negatives = add_negatives(examples, 1.0, random.Random(0))
    assert negatives and all(ex["answers"] == [] for ex in negatives)
    for neg in negatives:
        original = next(ex for ex in examples if ex["id"] + "-neg" == neg["id"])
        assert neg["context"] != original["context"]
        assert all(a["text"].lower() not in neg["context"].lower() for a in original["answers"])


def test_batch_order_is_seeded(squad_file: Path, tiny_base: Path) -> None:
    from transformers import AutoTokenizer

    cfg = TrainingConfig(train=str(squad_file), out="", batch_size=2, max_length=24, stride=8)
    features = featurize(squad_examples(squad_file), AutoTokenizer.from_pretrained(tiny_base), cfg)
    assert batch_order(features, cfg, 2) == batch_order(features, cfg, 2)
    assert sorted(i for b in batch_order(features, cfg, 1) for i in b) == list(range(len(features)))


def run(
    squad_file: Path, tiny_base: Path, out: Path, max_steps: int = 4, lr: float = 1e-4, save_dtype: str = "float32"
) -> Path:
    return training.train(TrainingConfig(
        train=str(squad_file), out=str(out), base=str(tiny_base), max_length=32, stride=8, batch_size=2,
        max_steps=max_steps, checkpoint_every=2, log_every=2, negatives=1.0, bf16=False, save_dtype=save_dtype,
        lr=lr,
    ))


def test_interrupted_run_resumes_to_the_same_weights(
    squad_file: Path, tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors.torch import load_file

    straight = run(squad_file, tiny_base, tmp_path / "straight")
    calls = {"n": 0}
    real_collate = training.collate

    def dies_at_step_3(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_collate(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(trainer, "collate", dies_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        run(squad_file, tiny_base, tmp_path / "resumed")
    assert (tmp_path / "resumed" / "checkpoint" / "state.pt").exists()
    monkeypatch.setattr(trainer, "collate", real_collate)
    resumed = run(squad_file, tiny_base, tmp_path / "resumed")
    a, b = load_file(straight / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] == b[key]).all(), key
    for name in ("config.json", "tokenizer.json", "training_config.json", "training_run.json", "README.md"):
        assert (resumed / name).exists()


def test_finished_run_extends_with_a_larger_max_steps(squad_file: Path, tiny_base: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    short = load_file(run(squad_file, tiny_base, tmp_path / "run", max_steps=4) / "model.safetensors")
    longer = run(squad_file, tiny_base, tmp_path / "run", max_steps=8)
    record = json.loads((longer / "training_run.json").read_text())
    assert record["steps"] == 8
    assert record["minutes"] > 0  # the time of both sessions
    assert record["schedules"] == [{"from_step": 0, "total_steps": 4}, {"from_step": 4, "total_steps": 8}]
    assert "--max-steps 4" in (longer / "README.md").read_text()  # both commands are in the card
    extended = load_file(longer / "model.safetensors")
    assert any(not (short[k] == extended[k]).all() for k in short)  # it trained on from where it stopped


def test_checkpoint_refuses_other_settings(squad_file: Path, tiny_base: Path, tmp_path: Path) -> None:
    run(squad_file, tiny_base, tmp_path / "run")
    with pytest.raises(SystemExit, match="lr"):
        run(squad_file, tiny_base, tmp_path / "run", lr=5e-5)


def test_cut_negatives_keep_the_paragraph_but_not_the_answer(squad_file: Path) -> None:
    examples = squad_examples(squad_file)
    cut = training.cut_answer_negatives(examples, 1.0, random.Random(0))
    by_id = {ex["id"]: ex for ex in cut}
    assert by_id["q1-cut"]["context"] == "It stands in Paris on the Champ de Mars."
    assert by_id["q1-cut"]["answers"] == []
    assert by_id["q2-cut"]["context"] == "The Eiffel Tower was finished in 1889."
    assert by_id["q3-cut"]["context"] == "The Louvre is the world's most visited museum."
    twice = "Paris is large. Paris is old."
    repeated = [{**examples[0], "context": twice, "answers": [{"text": "Paris", "answer_start": 0}]}]
    assert training.cut_answer_negatives(repeated, 1.0, random.Random(0)) == []  # the answer is in what is left


def test_a_model_trained_from_another_records_both_stages(squad_file: Path, tiny_base: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForQuestionAnswering

    first = run(squad_file, tiny_base, tmp_path / "first", save_dtype="float16")  # as the packaged reader
    second = training.train(TrainingConfig(
        train=str(squad_file), out=str(tmp_path / "second"), base=str(first), max_length=32, stride=8,
        batch_size=2, max_steps=2, negatives=1.0, cut_negatives=1.0, bf16=True, save_dtype="float32",
    ))
    AutoModelForQuestionAnswering.from_pretrained(second)  # a complete model folder
    record = json.loads((second / "training_run.json").read_text())
    assert record["base_run"]["run"]["steps"] == 4
    card = (second / "README.md").read_text()
    assert card.index(f"--out {tmp_path / 'first'}") < card.index(f"--out {tmp_path / 'second'}")
    assert "--cut-negatives 1.0" in card


def package(**options: Any) -> Path:
    """Score and package a reader as scripts/package_reader.py does (torch is already imported)."""
    from qa.training.packaging import PackagingConfig, package_reader

    return package_reader(PackagingConfig(**options))[0]


def test_packaging_again_from_saved_scores(squad_file: Path, tiny_base: Path, tmp_path: Path) -> None:
    from qa.errors import QAError

    model = run(squad_file, tiny_base, tmp_path / "run")
    scores = tmp_path / "scores.json"
    pairs = {"negatives": 1.0, "cut_negatives": 1.0}
    package(model=model, dev=squad_file, out=tmp_path / "first", **pairs, save_scores=scores)
    saved = json.loads(scores.read_text())
    assert {row["id"] for row in saved["items"]} >= {"q1", "q1-cut", "q3-neg"}

    package(model=model, dev=squad_file, out=tmp_path / "again", **pairs, from_scores=scores,
            min_score_retrieved=0.5)
    first = json.loads((tmp_path / "first" / "qa_reader.json").read_text())
    again = json.loads((tmp_path / "again" / "qa_reader.json").read_text())
    assert again["scores"] == first["scores"] and again["min_score"] == first["min_score"]
    assert again["min_score_retrieved"] == 0.5 and "min_score_retrieved" not in first
    assert "--from-scores" not in (tmp_path / "again" / "README.md").read_text()

    with pytest.raises(QAError, match="other questions or pairs"):
        package(model=model, dev=squad_file, out=tmp_path / "x", negatives=0.0, from_scores=scores)
    other = run(squad_file, tiny_base, tmp_path / "other", lr=5e-5)
    with pytest.raises(QAError, match="not saved for these weights"):
        package(model=other, dev=squad_file, out=tmp_path / "x", **pairs, from_scores=scores)
    assert not (tmp_path / "x").exists()


def test_max_minutes_stops_early_and_writes_the_model(squad_file: Path, tiny_base: Path, tmp_path: Path) -> None:
    model = training.train(TrainingConfig(
        train=str(squad_file), out=str(tmp_path / "run"), base=str(tiny_base), max_length=32, stride=8,
        batch_size=2, max_steps=50, checkpoint_every=100, log_every=100, negatives=1.0, bf16=False,
        save_dtype="float32", max_minutes=0.0,
    ))
    record = json.loads((model / "training_run.json").read_text())
    assert record["steps"] == 1  # the limit was already reached after the first step
    assert (model / "model.safetensors").exists()


def test_pairs_file_round_trips_as_squad_2(tmp_path: Path) -> None:
    from qa.training import make_negatives
    from qa.training.negatives import write_pairs

    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD))
    examples = squad_examples(path)
    negatives = make_negatives(examples, {"other": 1.0, "cut": 1.0}, 0)
    path = write_pairs(examples, negatives, tmp_path / "pairs.json.xz")
    back = squad_examples(path)
    assert sorted((e["id"], e["question"], e["context"], bool(e["answers"])) for e in back) == \
        sorted((e["id"], e["question"], e["context"], bool(e["answers"])) for e in examples + negatives)


def test_shared_groups_hold_the_answer_window_then_similar_paragraphs(squad_file: Path, tiny_base: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    examples = squad_examples(squad_file)
    cfg = TrainingConfig(train=str(squad_file), out="", max_length=40, stride=8, shared=1.0, shared_passages=1)
    groups = trainer.featurize_groups(examples, training.similar_paragraphs(examples, examples, 1), tokenizer, cfg)
    assert len(groups) == 3 and all(len(g) == 2 for g in groups)
    for n, (ex, (own, other)) in enumerate(zip(examples, groups)):
        assert own.group == other.group == n
        assert tokenizer.decode(own.input_ids[own.start : own.end + 1]) == ex["answers"][0]["text"].lower()
        assert (other.start, other.end) == (0, 0)
        assert ex["context"] != tokenizer.decode(other.input_ids)  # another paragraph, not its own
    # a question with fewer similar paragraphs than asked for is left out, so every group has one size
    wide = TrainingConfig(**{**cfg.__dict__, "shared_passages": 2})
    assert trainer.featurize_groups(examples, training.similar_paragraphs(examples, examples, 2), tokenizer, wide) == []


def test_shared_order_swaps_in_whole_groups_at_the_asked_share(squad_file: Path) -> None:
    cfg = TrainingConfig(train=str(squad_file), out="", batch_size=4, shared=0.5, seed=3)
    order = [[i, i + 1, i + 2, i + 3] for i in range(0, 400, 4)]
    groups = [[1000 + 2 * g, 1001 + 2 * g] for g in range(10)]
    mixed = trainer.shared_order(order, groups, cfg)
    grouped = [b for b in mixed if b[0] >= 1000]
    assert 35 <= len(grouped) <= 65 and len(mixed) == len(order)
    assert all(len(b) == 4 and b[0] % 2 == 0 and b[1] == b[0] + 1 and b[3] == b[2] + 1 for b in grouped)
    assert mixed == trainer.shared_order(order, groups, cfg)
    assert trainer.shared_order(order, groups, TrainingConfig(train="", out="")) == order  # shared 0: unchanged


def test_shared_loss_normalises_the_answer_over_every_window_of_its_group() -> None:
    import torch

    torch.manual_seed(0)
    starts, ends = torch.randn(4, 8), torch.randn(4, 8)
    context = torch.zeros(4, 8, dtype=torch.bool)
    context[:, 3:7] = True
    batch = {"start_positions": torch.tensor([4, 0, 5, 0]), "end_positions": torch.tensor([5, 0, 6, 0]),
             "context": context}
    got = trainer.shared_loss(starts, ends, batch, 2)
    expected = 0.0
    for own, other in ((0, 1), (2, 3)):
        s, e = batch["start_positions"][own], batch["end_positions"][own]
        per_window = -(torch.log_softmax(starts[own], 0)[s] + torch.log_softmax(ends[own], 0)[e]) / 2
        pooled_s = torch.cat([starts[own, 3:7], starts[other, 3:7]])
        pooled_e = torch.cat([ends[own, 3:7], ends[other, 3:7]])
        shared = -(starts[own, s] - torch.logsumexp(pooled_s, 0) + ends[own, e] - torch.logsumexp(pooled_e, 0)) / 2
        expected += (per_window + shared) / 2
    assert torch.allclose(got, torch.as_tensor(expected), atol=1e-5)
    # a distractor that scores its spans higher costs more; its [CLS] and question tokens do not count
    louder = ends.clone()
    louder[1, 3:7] += 2.0
    assert trainer.shared_loss(starts, louder, batch, 2) > got
    quiet = ends.clone()
    quiet[1, :3] += 5.0
    assert torch.allclose(trainer.shared_loss(starts, quiet, batch, 2), got)


def test_a_run_with_shared_groups_trains_and_records_them(squad_file: Path, tiny_base: Path, tmp_path: Path) -> None:
    model = training.train(TrainingConfig(
        train=str(squad_file), out=str(tmp_path / "run"), base=str(tiny_base), max_length=32, stride=8,
        batch_size=4, max_steps=4, checkpoint_every=2, log_every=2, negatives=1.0, bf16=False,
        save_dtype="float32", shared=1.0, shared_passages=1,
    ))
    assert (model / "model.safetensors").exists()
    assert json.loads((model / "training_config.json").read_text())["shared"] == 1.0


def test_a_run_with_paraphrased_questions_trains_and_records_them(
    squad_file: Path, tiny_base: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("INFO", logger="qa.training"):
        model = training.train(TrainingConfig(
            train=str(squad_file), out=str(tmp_path / "run"), base=str(tiny_base), max_length=32, stride=8,
            batch_size=4, max_steps=2, checkpoint_every=2, log_every=2, bf16=False, save_dtype="float32",
            paraphrases=1.0,
        ))
    assert json.loads((model / "training_config.json").read_text())["paraphrases"] == 1.0
    made = [r.getMessage() for r in caplog.records if "in other words" in r.getMessage()]
    assert made and int(made[0].split()[0]) > 0
