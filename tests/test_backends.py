"""Inference backends: names, the CPU as detected, the per-host choice, agreement between backends, and
an index that serves any backend whose vectors agree with it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.backends import BACKENDS, BLAS_THREADS_ENV, DEFAULT_BACKEND, check_backend, decide, inference, select
from qa.backends.choice import TIE, Choice, candidates_for, choose, forget, probe_feed, saved_choices
from qa.backends.cpu import CPU, detect
from qa.embedding import VECTOR_TOLERANCE, SentenceEmbedder
from qa.errors import ModelError
from qa.pipeline import QA
from qa.reader import ExtractiveReader
from qa.schema import Passage
from qa.settings import DEFAULT_EMBEDDER, Settings
from tests.conftest import FakeEmbedder

AVX2 = frozenset({"sse4_2", "avx", "avx2", "fma"})
ZEN4 = AVX2 | {"avx512f", "avx512bw", "avx512_vnni", "avx512_bf16"}


def test_backends_are_checked() -> None:
    assert check_backend(" INT8 ") == "int8" and BACKENDS == ("auto", "fp32", "bf16", "int8", "onnx-fp32")
    assert check_backend("ONNX-fp32") == "onnx-fp32"
    with pytest.raises(ModelError, match="unknown backend 'int4'.*auto, fp32, bf16, int8, onnx-fp32"):
        check_backend("int4")
    with pytest.raises(ModelError, match="unknown backend"):
        ExtractiveReader(backend="fp64")


def test_settings_and_environment_choose_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.load().backend == "auto" == DEFAULT_BACKEND
    assert QA().reader.backend == "auto" and SentenceEmbedder().backend == "auto"
    monkeypatch.setenv("QA_BACKEND", "int8")
    qa = QA()
    assert qa.settings.backend == "int8" and qa.reader.backend == "int8" and qa.embedder.backend == "int8"
    assert QA(backend="fp32").reader.backend == "fp32"  # an argument beats the environment


def test_the_embedders_identity_is_the_model_not_the_arithmetic() -> None:
    for backend in ("fp32", "bf16", "int8", "onnx-fp32", "auto"):
        assert SentenceEmbedder("all-MiniLM-L6-v2", backend=backend).name == "all-MiniLM-L6-v2"
    assert SentenceEmbedder().tolerance == VECTOR_TOLERANCE == 0.999


def test_bf16_autocast_runs_matrix_products_in_bf16() -> None:
    import torch

    a = torch.randn(4, 8)
    with inference("bf16"):
        assert (a @ a.T).dtype == torch.bfloat16
    with inference("fp32"):
        assert (a @ a.T).dtype == torch.float32 and not torch.is_grad_enabled()


def test_the_cpu_is_read_with_the_limits_set_on_it() -> None:
    laptop, zen4 = CPU("laptop", 4, AVX2), CPU("zen4", 2, ZEN4)
    assert (laptop.isa, laptop.native_bf16, laptop.vnni, laptop.avx2) == ("AVX2", False, False, True)
    assert (zen4.isa, zen4.native_bf16, zen4.vnni) == ("AVX512_BF16", True, True)
    # the settings that make PyTorch and oneDNN act as on an older CPU make bf16 emulated
    for limits in ({"ATEN_CPU_CAPABILITY": "avx2"}, {"ONEDNN_MAX_CPU_ISA": "AVX2"},
                   {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}, {"MKL_ENABLE_INSTRUCTIONS": "AVX2"}):
        capped = CPU("zen4", 2, ZEN4, limits)
        assert not capped.native_bf16 and capped.key != zen4.key and "limited by" in capped.describe()
    assert CPU("zen4", 2, ZEN4, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX"}).native_bf16
    assert not CPU("zen4", 2, ZEN4, {"ATEN_CPU_CAPABILITY": "avx2"}).avx512
    here = detect()
    assert here.cores >= 1 and here.isa and len(here.key) == 16


def test_detection_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not detect().native_bf16 and detect().limits == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


class SlowRunner:
    """Stands in for a model: each forward pass takes ``ms`` milliseconds."""

    def __init__(self, backend: str, ms: float):
        self.backend, self.ms, self.runs = backend, ms, 0

    def run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.runs += 1
        time.sleep(self.ms / 1000)
        return [feed["input_ids"].astype(np.float32)]


def offered(ms: dict[str, float], built: list[str]) -> dict:
    def factory(name: str):
        def make() -> SlowRunner:
            built.append(name)
            return SlowRunner(name, ms[name])
        return make
    return {name: factory(name) for name in ms}


def test_capability_decides_first_bf16_only_where_native() -> None:
    names, notes = candidates_for(CPU("laptop", 4, AVX2), ["fp32", "bf16", "int8"])
    assert names == ["fp32", "int8"] and "bf16 is emulated on this CPU (AVX2)" in notes[0]
    assert candidates_for(CPU("zen4", 2, ZEN4), ["fp32", "bf16", "int8"])[0] == ["fp32", "bf16", "int8"]


def test_timing_decides_the_rest_and_the_choice_is_kept_per_host(tmp_path: Path) -> None:
    laptop, zen4 = CPU("laptop", 4, AVX2), CPU("zen4", 2, ZEN4)
    built: list[str] = []
    choice, runners = choose("reader", "m", offered({"fp32": 12, "bf16": 1, "int8": 4}, built), probe_feed(1, 8),
                             laptop, tmp_path)
    assert choice.backend == "int8" and sorted(runners) == ["fp32", "int8"] and "bf16" not in built
    assert "bf16 is emulated" in choice.reason and "int8 is fastest" in choice.reason
    assert choice.timings["int8"] < choice.timings["fp32"]
    # bf16 is a candidate where it is native, and wins when clearly fastest
    choice, _ = choose("reader", "m", offered({"fp32": 12, "bf16": 2, "int8": 6}, built), probe_feed(1, 8),
                       zen4, tmp_path)
    assert choice.backend == "bf16" and "bf16 is fastest" in choice.reason
    # kept per host and model: asked again, nothing is loaded or timed
    built.clear()
    again, runners = choose("reader", "m", offered({"fp32": 1, "bf16": 9, "int8": 9}, built), probe_feed(1, 8),
                            zen4, tmp_path)
    assert again == choice and runners == {} and built == []
    assert saved_choices(tmp_path, laptop)["reader:m"].backend == "int8"
    assert json.loads((tmp_path / "backends.json").read_text())[zen4.key]["choices"]["reader:m"]["backend"] == "bf16"
    assert forget(tmp_path, zen4) and not forget(tmp_path, zen4) and saved_choices(tmp_path, zen4) == {}


def test_int8_wins_a_near_tie(tmp_path: Path) -> None:
    within = 1 + TIE / 3
    choice, _ = choose("embedder", "m", offered({"fp32": 30, "bf16": 20, "int8": 20 * within}, []),
                       probe_feed(1, 8), CPU("zen4", 2, ZEN4), None)
    assert choice.backend == "int8" and "within 25% of the fastest" in choice.reason


def test_the_faster_onnx_runtime_backend_wins_and_takes_the_near_tie(tmp_path: Path) -> None:
    # an AVX2-only CPU: int8 without dot-product instructions is slower than ONNX Runtime at full precision
    laptop = CPU("laptop", 4, AVX2)
    choice, _ = choose("reader", "m", offered({"fp32": 60, "bf16": 1, "int8": 36, "onnx-fp32": 28}, []),
                       probe_feed(1, 8), laptop, None)
    assert choice.backend == "onnx-fp32" and "onnx-fp32 is fastest" in choice.reason
    # PyTorch a little faster: the faster of the two ONNX Runtime backends takes the tie, not int8 by name
    choice, _ = choose("reader", "m", offered({"fp32": 20, "int8": 24, "onnx-fp32": 22}, []), probe_feed(1, 8),
                       laptop, None)
    assert choice.backend == "onnx-fp32" and "within 25% of the fastest" in choice.reason
    choice, _ = choose("reader", "m", offered({"fp32": 10, "int8": 24, "onnx-fp32": 22}, []), probe_feed(1, 8),
                       laptop, None)
    assert choice.backend == "fp32"


def test_a_backend_that_fails_to_load_is_passed_over(tmp_path: Path) -> None:
    def broken() -> SlowRunner:
        raise ModelError("no onnxruntime")

    choice, _ = choose("reader", "m", {"fp32": lambda: SlowRunner("fp32", 1), "int8": broken}, probe_feed(1, 8),
                       CPU("laptop", 4, AVX2), tmp_path)
    assert choice.backend == "fp32" and "int8 unavailable: no onnxruntime" in choice.reason
    with pytest.raises(ModelError, match="no backend can run m"):
        choose("reader", "m", {"int8": broken}, probe_feed(1, 8), CPU("laptop", 4, AVX2), tmp_path / "x")


def test_a_backend_asked_for_is_used_without_timing(tmp_path: Path) -> None:
    built: list[str] = []
    choice, runner = select("reader", "m", "fp32", offered({"fp32": 1, "int8": 1}, built), probe_feed(1, 8), tmp_path)
    assert (choice.backend, runner.backend, built) == ("fp32", "fp32", ["fp32"]) and "asked for" in choice.reason
    with pytest.raises(ModelError, match="cannot run on the bf16 backend"):
        decide("reader", "m", "bf16", offered({"fp32": 1}, built), probe_feed(1, 8), tmp_path)
    assert not (tmp_path / "backends.json").exists()  # a forced backend is not a host's choice


class DriftingEmbedder(FakeEmbedder):
    """A fake embedder on another "backend": its vectors are the fake's, nudged by ``noise``."""

    tolerance = VECTOR_TOLERANCE

    def __init__(self, noise: float):
        super().__init__()
        self.noise = noise

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        exact = super().encode(texts)
        nudged = exact + self.noise * np.random.default_rng(len(texts)).standard_normal(exact.shape)
        return (nudged / np.linalg.norm(nudged, axis=1, keepdims=True)).astype(np.float32)


def test_an_index_serves_any_backend_whose_vectors_agree(two_articles: Path, tmp_path: Path) -> None:
    folder = tmp_path / "index"
    built = QA(corpus=two_articles, index=folder, embedder=DriftingEmbedder(0.0)).index()
    assert built.manifest["tolerance"] == VECTOR_TOLERANCE and built.manifest["embedder"] == "fake-embedder"
    # arithmetic a little different (cosine ~0.9999): the same generation serves, nothing is re-embedded
    close = DriftingEmbedder(0.001)
    served = QA(corpus=two_articles, index=folder, embedder=close).index()
    assert served.manifest["built"] == built.manifest["built"] and close.encoded <= 8
    assert 0.999 < served.agreement(close) < 1.0
    # arithmetic that drifts beyond the tolerance: the index is rebuilt with it
    far = DriftingEmbedder(0.05)
    rebuilt = QA(corpus=two_articles, index=folder, embedder=far).index()
    assert rebuilt.manifest["segments"] != built.manifest["segments"] and far.encoded > 8


def test_indexes_that_named_a_backend_with_the_model_still_serve(two_articles: Path, tmp_path: Path) -> None:
    folder = tmp_path / "index"
    built = QA(corpus=two_articles, index=folder, embedder=FakeEmbedder()).index()
    toc = folder / (folder / "CURRENT").read_text().strip()
    manifest = json.loads(toc.read_text())
    toc.write_text(json.dumps({**manifest, "embedder": "fake-embedder@bf16", "backend": "bf16"}))
    again = FakeEmbedder()
    served = QA(corpus=two_articles, index=folder, embedder=again).index()
    assert served.embedder == "fake-embedder" and again.encoded == 0 and served.manifest["segments"] == \
        built.manifest["segments"]


@pytest.mark.real_model
def test_every_backend_agrees_with_fp32_on_the_packaged_models(seed_corpus: Path, tmp_path: Path) -> None:
    text = (seed_corpus / next(p.name for p in seed_corpus.iterdir())).read_text(encoding="utf-8")
    passages = [Passage("seed", "seed", 0, 0, 0, text[:1200])]
    questions = ["Who offered Russia cooperation?", "Which broadcaster carried the remarks?",
                 "How many Russians were killed?"]
    others = ("bf16", "int8", "onnx-fp32")
    readers = {b: ExtractiveReader(backend=b) for b in ("fp32", *others)}
    assert {b: r.runs_on for b, r in readers.items()} == {b: b for b in readers}
    for q in questions:
        reference = readers["fp32"].read(q, passages).spans[0]
        for backend in others:
            found = readers[backend].read(q, passages).spans[0]
            assert found.text == reference.text and abs(found.score - reference.score) < 0.05, (backend, q)
    sentences = [line for line in text.splitlines() if line.strip()][:12]
    reference = SentenceEmbedder(backend="fp32").encode(sentences)
    for backend in others:
        vectors = SentenceEmbedder(backend=backend).encode(sentences)
        assert np.min(np.sum(reference * vectors, axis=1)) > VECTOR_TOLERANCE, backend
    # ONNX Runtime at full precision computes what PyTorch does (fused kernels: rounding only)
    assert np.min(np.sum(reference * SentenceEmbedder(backend="onnx-fp32").encode(sentences), axis=1)) > 0.99999
    # an index built on one backend serves the others: no re-embedding
    first = QA(corpus=seed_corpus, index=tmp_path / "index", backend="fp32").index()
    assert first.manifest["embedder"] == DEFAULT_EMBEDDER and first.manifest["backend"] == "fp32"
    for backend in (*others, "auto"):
        served = QA(corpus=seed_corpus, index=tmp_path / "index", backend=backend).index()
        assert served.manifest["built"] == first.manifest["built"], backend


@pytest.mark.real_model
def test_auto_picks_a_backend_for_this_host_and_keeps_it(qa_cache: Path) -> None:
    reader = ExtractiveReader()
    assert reader.runs_on in ("fp32", "bf16", "int8", "onnx-fp32") and reader.choice.reason
    if not detect().native_bf16:
        assert reader.runs_on != "bf16"
    kept = saved_choices(qa_cache, detect())
    assert kept["reader:qa-reader-minilm"] == reader.choice and isinstance(reader.choice, Choice)


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


def tiny_reader(tmp_path: Path, loads: list[int] | None = None) -> tuple[Path, Any]:
    """A small random BERT reader saved in ``tmp_path / "tiny"``, and its loader (counting into ``loads``)."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    folder = tmp_path / "tiny"
    torch.manual_seed(0)
    config = BertConfig(vocab_size=1200, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=256, max_position_embeddings=128)
    BertForQuestionAnswering(config).save_pretrained(folder)

    def load() -> Any:
        if loads is not None:
            loads.append(1)
        return BertForQuestionAnswering.from_pretrained(folder)

    return folder, load


def test_onnx_export_is_made_once_recorded_and_close_to_fp32(tmp_path: Path) -> None:
    from qa.backends.onnx import CARD, FP32_FILE, OnnxRunner, exported, weight_files
    from qa.backends.pytorch import TorchRunner

    loads: list[int] = []
    folder, load = tiny_reader(tmp_path, loads)

    outputs = ("start_logits", "end_logits")
    path = exported(weight_files(folder), tmp_path / "cache", "reader-tiny", load, outputs)
    card = json.loads((path.parent / CARD).read_text())
    assert "MatMulNBits 8-bit symmetric, block 128" in card["recipe"] and card["inputs"] == [
        "input_ids", "attention_mask", "token_type_ids"]
    assert exported(weight_files(folder), tmp_path / "cache", "reader-tiny", load, outputs) == path and loads == [1]
    feed = probe_feed(2, 24, vocab=100)
    feed["attention_mask"][1, 20:] = 0
    int8 = OnnxRunner(path, threads=1).run(feed)
    fp32 = TorchRunner(load(), "fp32", outputs).run(feed)
    for a, b in zip(int8, fp32):
        assert a.shape == b.shape and np.corrcoef(a[:, :20].ravel(), b[:, :20].ravel())[0, 1] > 0.99
    # the same export holds the full-precision graph: PyTorch's numbers to rounding, no second export
    full = exported(weight_files(folder), tmp_path / "cache", "reader-tiny", load, outputs, precision="fp32")
    assert full == path.parent / FP32_FILE and loads == [1, 1]
    runner = OnnxRunner(full, threads=1, backend="onnx-fp32")
    assert runner.backend == "onnx-fp32"
    for a, b in zip(runner.run(feed), fp32):
        assert np.allclose(a[:, :20], b[:, :20], atol=1e-4)
    # other weights are another export, and the export they replace goes (the model twice, ~140 MB for the reader)
    assert any(part.startswith(f"{(folder / 'model.safetensors').resolve()}:") for part in card["made_from"])
    onnx = tmp_path / "cache" / "onnx"
    (onnx / "reader-tiny-0123456789abcdef").mkdir()  # an export being written elsewhere: no card yet
    (onnx / "reader-tiny-fedcba9876543210").mkdir()  # an older recipe's export: a card without its sources
    (onnx / "reader-tiny-fedcba9876543210" / CARD).write_text(json.dumps({"format": 1}))
    (folder / "model.safetensors").touch()
    again = exported(weight_files(folder), tmp_path / "cache", "reader-tiny", load, outputs)
    assert again != path and again.exists() and not path.parent.exists()
    assert sorted(p.name for p in onnx.iterdir()) == sorted([again.parent.name, "reader-tiny-0123456789abcdef"])


def test_the_dynamic_scheme_is_an_export_of_its_own_with_integer_products(tmp_path: Path) -> None:
    import onnx

    from qa.backends.onnx import CARD, OnnxRunner, exported, weight_files
    from qa.backends.pytorch import TorchRunner

    folder, load = tiny_reader(tmp_path)
    outputs = ("start_logits", "end_logits")

    dynamic = exported(weight_files(folder), tmp_path / "cache", "reader-tiny", load, outputs, scheme="dynamic")
    blockwise = exported(weight_files(folder), tmp_path / "cache", "reader-tiny", load, outputs)
    assert dynamic.parent != blockwise.parent and dynamic.exists() and blockwise.exists()  # neither prunes the other
    card = json.loads((dynamic.parent / CARD).read_text())
    assert card["scheme"] == "dynamic" and "reduce_range (7-bit)" in card["recipe"]
    ops = {n.op_type for n in onnx.load(str(dynamic)).graph.node}
    assert "DynamicQuantizeLinear" in ops and ({"MatMulInteger", "QAttention"} & ops) and "MatMulNBits" not in ops
    weights = [i for i in onnx.load(str(dynamic)).graph.initializer if i.data_type == onnx.TensorProto.INT8]
    # 7-bit weights: a uint8 x int8 pair product cannot overflow AVX2's 16 bits
    assert weights and all(np.abs(onnx.numpy_helper.to_array(w)).max() <= 64 for w in weights)
    feed = probe_feed(2, 24, vocab=100)
    feed["attention_mask"][1, 20:] = 0
    fp32 = TorchRunner(load(), "fp32", outputs).run(feed)
    for a, b in zip(OnnxRunner(dynamic, threads=1).run(feed), fp32):
        assert a.shape == b.shape and np.corrcoef(a[:, :20].ravel(), b[:, :20].ravel())[0, 1] > 0.99
    with pytest.raises(ValueError, match="scheme must be one of blockwise, dynamic"):
        exported(weight_files(folder), tmp_path / "cache", "reader-tiny", load, outputs, scheme="fp8")


def test_choices_timed_on_older_recipes_are_made_again(tmp_path: Path) -> None:
    from qa.backends.choice import CHOICES_FORMAT, saved_choices

    zen4 = CPU("zen4", 2, ZEN4)
    (tmp_path / "backends.json").write_text(json.dumps(
        {zen4.key: {"choices": {"reader:m": {"backend": "onnx-fp32", "reason": "timed", "timings": {}, "cpu": ""}}}}))
    assert saved_choices(tmp_path, zen4) == {}  # no format: timed before the reader's int8 changed
    built: list[str] = []
    choose("reader", "m", offered({"onnx-fp32": 12, "int8": 4}, built), probe_feed(1, 8), zen4, tmp_path)
    assert sorted(built) == ["int8", "onnx-fp32"]
    found = json.loads((tmp_path / "backends.json").read_text())
    assert found["format"] == CHOICES_FORMAT and found[zen4.key]["choices"]["reader:m"]["backend"] == "int8"
    assert saved_choices(tmp_path, zen4)["reader:m"].backend == "int8"


def test_a_damaged_export_says_how_to_fix_it(tmp_path: Path) -> None:
    from qa.backends.onnx import OnnxRunner

    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="delete .* and it is exported again"):
        OnnxRunner(broken)


def test_bulk_embedding_gives_int8_a_wider_tie(tmp_path: Path) -> None:
    from qa.backends.choice import BULK_TIE

    ms = {"fp32": 40, "bf16": 20, "int8": 20 * (1 + (TIE + BULK_TIE) / 2)}  # between the two ties
    reader, _ = choose("reader", "m", offered(ms, []), probe_feed(1, 8), CPU("zen4", 2, ZEN4), None)
    bulk, _ = choose("embedder", "m", offered(ms, []), probe_feed(1, 8), CPU("zen4", 2, ZEN4), None, tie=BULK_TIE)
    assert (reader.backend, bulk.backend) == ("bf16", "int8") and "within 50% of the fastest" in bulk.reason


@pytest.mark.real_model
def test_questions_are_embedded_on_onnx_runtime_whatever_the_bulk_choice(qa_cache: Path) -> None:
    from qa.backends.choice import _save
    from qa.embedding import PACKAGED_STUDENT_DIR, MeanPooledEncoder

    cpu = detect()
    routes = {}
    for bulk in ("bf16", "fp32", "int8", "onnx-fp32"):
        name = f"routing-{bulk}"
        _save(qa_cache, cpu, f"embedder:{name}", Choice(bulk, "saved for this test", {}, cpu.describe()))
        encoder = MeanPooledEncoder.load(str(PACKAGED_STUDENT_DIR), "cpu", "auto", name=name)
        assert encoder is not None and encoder.choice.backend == bulk
        routes[bulk] = (encoder.runner(100).backend, encoder.runner(1).backend)
    # a PyTorch bulk choice answers questions on int8; an ONNX Runtime one answers them itself
    assert routes == {"bf16": ("bf16", "int8"), "fp32": ("fp32", "int8"), "int8": ("int8", "int8"),
                      "onnx-fp32": ("onnx-fp32", "onnx-fp32")}
    asked = MeanPooledEncoder.load(str(PACKAGED_STUDENT_DIR), "cpu", "fp32", name="routing-asked")
    assert asked is not None and asked.runner(1).backend == "fp32"  # a backend asked for is used throughout


def test_the_readers_int8_is_per_tensor_only_where_the_cpu_has_no_int8_dot_products(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.backends.cpu as cpu
    from qa.reader import int8_scheme

    monkeypatch.setattr(cpu, "detect", lambda: CPU("laptop", 4, AVX2))
    assert int8_scheme() == "dynamic"
    monkeypatch.setattr(cpu, "detect", lambda: CPU("zen4", 2, ZEN4))
    assert int8_scheme() == "blockwise"
    monkeypatch.setattr(cpu, "detect", lambda: CPU("zen4", 2, ZEN4, {"ONEDNN_MAX_CPU_ISA": "AVX2"}))
    assert int8_scheme() == "dynamic"  # held to AVX2, as benchmarks/hosts.py --hosts avx2 does
