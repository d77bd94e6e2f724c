from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.reader import ExtractiveReader, resolve_reader
from qa.schema import Passage
from qa.settings import DEFAULT_READER


@pytest.fixture(scope="module")
def tiny_reader_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT QA model with the real tokenizer: exercises the
    decoding and offset mapping, not answer quality."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    from qa.embedding import packaged_minilm_path

    folder = tmp_path_factory.mktemp("tiny-reader")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertForQuestionAnswering(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(packaged_minilm_path()).save_pretrained(folder)
    (folder / "qa_reader.json").write_text('{"min_score": 0.05}')
    return folder


PASSAGES = [
    Passage("a", "A", 0, 2, 0, "Emmanuel Macron offered Russia increased cooperation. Moscow did not reply."),
    Passage("b", "B", 5, 6, 40, "Darmanin said all countries are affected by the threat."),
]


def test_spans_map_to_passage_text(tiny_reader_dir: Path) -> None:
    reader = ExtractiveReader(str(tiny_reader_dir), top_k=5)
    reading = reader.read("Who offered Russia cooperation?", PASSAGES)
    assert reading.spans and len(reading.no_answer) == 2
    for span in reading.spans:
        assert PASSAGES[span.passage].text[span.start : span.end] == span.text
        assert 0.0 < span.score <= 1.0
    assert all(0.0 <= p <= 1.0 for p in reading.no_answer)
    assert [s.score for s in reading.spans] == sorted((s.score for s in reading.spans), reverse=True)
    assert reader.min_score == 0.05


def test_long_passages_are_read_in_windows(tiny_reader_dir: Path) -> None:
    long = Passage("c", "C", 0, 40, 0, " ".join(f"Clause {i} mentions the city of Lyon." for i in range(60)))
    reader = ExtractiveReader(str(tiny_reader_dir), max_length=64, stride=16, top_k=5)
    reading = reader.read("Which city?", [long])
    assert max(s.end for s in reading.spans) <= len(long.text)
    for span in reading.spans:
        assert long.text[span.start : span.end] == span.text


def test_read_many_equals_read(tiny_reader_dir: Path) -> None:
    reader = ExtractiveReader(str(tiny_reader_dir))
    one = reader.read("Who said all countries are affected?", PASSAGES)
    many = reader.read_many([("Who offered Russia cooperation?", PASSAGES[:1]),
                             ("Who said all countries are affected?", PASSAGES)])
    assert [s.text for s in many[1].spans] == [s.text for s in one.spans]
    assert many[1].spans[0].score == pytest.approx(one.spans[0].score, rel=1e-4)


def test_no_passages_no_spans(tiny_reader_dir: Path) -> None:
    assert ExtractiveReader(str(tiny_reader_dir)).read("Who?", []).spans == []


def test_missing_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load reader"):
        ExtractiveReader(str(tmp_path / "no-such-model")).warm_up()


def test_default_name_resolves_to_the_packaged_folder() -> None:
    try:
        location = resolve_reader(DEFAULT_READER)
    except ModelError as exc:
        assert "packaged reader is missing" in str(exc)
    else:
        assert (Path(location) / "config.json").exists()


def test_spans_are_whole_words(tiny_reader_dir: Path) -> None:
    text = "Interior Minister Gérald Darmanin warned of unprecedented, multifaceted threats."
    passage = Passage("d", "D", 0, 0, 0, text)
    reading = ExtractiveReader(str(tiny_reader_dir), top_k=20).read("Who warned?", [passage])
    assert len(reading.spans) > 5

    for span in reading.spans:
        assert span.start == 0 or not (text[span.start - 1].isalnum() and text[span.start].isalnum()), span.text
        assert span.end == len(text) or not (text[span.end - 1].isalnum() and text[span.end].isalnum()), span.text


def test_batches_keep_padding_small() -> None:
    from qa.reader import PAD_SLACK, _batches

    lengths = [100, 230, 256, 224, 90, 95, 12]
    batches = _batches(lengths, 16)
    assert sorted(w for b in batches for w in b) == list(range(len(lengths)))
    for b in batches:
        assert max(lengths[w] for w in b) * len(b) <= PAD_SLACK * sum(lengths[w] for w in b)
    assert [len(b) for b in _batches([10] * 40, 16)] == [16, 16, 8] and _batches([], 16) == []


def test_batching_does_not_change_the_reading(tiny_reader_dir: Path) -> None:
    passages = [*PASSAGES, Passage("c", "C", 0, 9, 0, " ".join(["Lyon is a city in France."] * 9))]
    together = ExtractiveReader(str(tiny_reader_dir), backend="fp32").read("Which city?", passages)
    apart = ExtractiveReader(str(tiny_reader_dir), backend="fp32", batch_size=1).read("Which city?", passages)
    assert [(s.passage, s.start, s.end) for s in together.spans] == [(s.passage, s.start, s.end) for s in apart.spans]
    assert together.no_answer == pytest.approx(apart.no_answer, rel=1e-4)


def test_raw_span_scores_are_one_scale_across_passages(tiny_reader_dir: Path) -> None:
    reader = ExtractiveReader(str(tiny_reader_dir), top_k=5)
    together = reader.read("Who offered Russia cooperation?", PASSAGES)
    alone = reader.read("Who offered Russia cooperation?", PASSAGES[:1])
    # a span's raw score is its passage's own: reading another passage beside it changes its probability's
    # normalisation, not this
    for span in (s for s in together.spans if s.passage == 0):
        twin = next(t for t in alone.spans if (t.start, t.end) == (span.start, span.end))
        assert twin.raw == pytest.approx(span.raw, abs=1e-3)
    # within one window the probability is the raw score less one normaliser, the same for every span
    offsets = [s.raw - math.log(s.score) for s in alone.spans]
    assert len(offsets) > 1 and max(offsets) - min(offsets) < 1e-3


def test_a_calibrated_reader_without_a_follow_up_threshold_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    reader = ExtractiveReader("some/reader")
    reader._runner = object()  # as if warmed up: only its configuration is read
    reader._config = {"min_score": 0.3, "min_score_retrieved": 0.4, "calibration": {"retrieved": {}}}
    with caplog.at_level(logging.WARNING, logger="qa.reader"):
        assert reader.min_score_follow_up == 0.4 and reader.min_score_follow_up == 0.4
    assert len([r for r in caplog.records if "calibrate_follow_ups" in r.getMessage()]) == 1
    caplog.clear()
    reader._config["min_score_follow_up"] = 0.17
    with caplog.at_level(logging.WARNING, logger="qa.reader"):
        assert reader.min_score_follow_up == 0.17
    assert not caplog.records
