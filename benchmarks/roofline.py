"""How close the models' forward passes run to what the CPU's arithmetic allows (a benchmark, not a test).

    python benchmarks/roofline.py                        # this CPU as it is
    PYTHONPATH=/tmp/ort-avx2 python benchmarks/roofline.py   # ONNX Runtime held to AVX2 (onnxruntime_avx2.py)

A forward pass of a BERT-shaped model is mostly matrix products, so its speed has a ceiling: the
rate at which this CPU multiplies matrices. This script times that ceiling with ONNX Runtime on the
shapes the embedder meets when indexing (a batch of 64 sentences of 32 tokens: 2,048 rows times
384 by 1,536 weights), in fp32 (``MatMul``) and in 8-bit integers (``MatMulInteger``, u8 x s8),
then one forward pass of each packaged model's exports (``onnx-fp32``'s ``model-fp32.onnx`` and
``int8``'s ``model.onnx``: the files qa itself runs, exported first if need be, ``QA_CACHE``
applying): the reader on one 280-token window (a question and a six-sentence passage), the
embedder on 64 x 32 tokens. Each pass's rate counts its multiply-adds (the
projections, the feed-forward layers and attention's two products) at two operations each, so
it compares directly with the matrix-product ceiling. ``--profile`` adds the share of each
operator kind.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HIDDEN, FEED_FORWARD = 384, 1536
MODELS = {  # layers, batch, tokens
    "reader": (6, 1, 280),
    "embedder": (2, 64, 32),
}


def session(model: Any, threads: int, profile: str | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = profile
    source = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def best_seconds(call: Any, repeats: int = 10, rounds: int = 5) -> float:
    for _ in range(3):
        call()
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        for _ in range(repeats):
            call()
        best = min(best, (time.perf_counter() - began) / repeats)
    return best


def gemm_rate(kind: str, threads: int, m: int = 2048, k: int = HIDDEN, n: int = FEED_FORWARD) -> float:
    """Operations per second (two per multiply-add) of one m x k by k x n product, in GOPS."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if kind == "fp32":
        weights = numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "W")
        node, types = helper.make_node("MatMul", ["A", "W"], ["Y"]), (TensorProto.FLOAT, TensorProto.FLOAT)
        a = rng.standard_normal((m, k)).astype(np.float32)
    else:
        weights = numpy_helper.from_array(rng.integers(-127, 127, (k, n)).astype(np.int8), "W")
        node, types = helper.make_node("MatMulInteger", ["A", "W"], ["Y"]), (TensorProto.UINT8, TensorProto.INT32)
        a = rng.integers(0, 255, (m, k)).astype(np.uint8)
    graph = helper.make_graph([node], "gemm", [helper.make_tensor_value_info("A", types[0], [m, k])],
                              [helper.make_tensor_value_info("Y", types[1], [m, n])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    run = session(model, threads)
    return 2 * m * k * n / best_seconds(lambda: run.run(None, {"A": a})) / 1e9


def multiply_adds(layers: int, tokens: int) -> int:
    """Multiply-adds per token: four projections, two feed-forward products, attention's two products."""
    return layers * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FEED_FORWARD + 2 * tokens * HIDDEN)


def export_of(model: str, backend: str, embedder: str | None = None) -> Path:
    """The ONNX file the packaged ``model`` (reader or embedder; ``embedder``: another one) runs on
    ``backend`` (int8 or onnx-fp32), found, and made the first time, by the model's own loading
    (``qa.backends.onnx.exported``)."""
    from qa.embedding import SentenceEmbedder
    from qa.reader import ExtractiveReader

    if model == "reader":
        reader = ExtractiveReader(backend=backend)
        reader.warm_up()
        return Path(reader._runner.path)
    from qa.settings import DEFAULT_EMBEDDER

    encoder = SentenceEmbedder(embedder or DEFAULT_EMBEDDER, backend=backend)
    encoder.warm_up()
    return Path(encoder._model.runner(64).path)  # 64 texts: the bulk runner, the backend asked for


def forward_rate(path: Path, layers: int, batch: int, tokens: int, threads: int, profile: bool) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        run = session(str(path), threads, str(Path(folder) / "profile") if profile else None)
        names = {i.name for i in run.get_inputs()}
        feed = {"input_ids": rng.integers(1000, 20000, (batch, tokens)).astype(np.int64),
                "attention_mask": np.ones((batch, tokens), np.int64),
                "token_type_ids": np.zeros((batch, tokens), np.int64)}
        feed = {k: v for k, v in feed.items() if k in names}
        seconds = best_seconds(lambda: run.run(None, feed), repeats=5)
        row: dict[str, Any] = {"ms": round(seconds * 1e3, 2),
                               "gflops": round(2 * multiply_adds(layers, tokens) * batch * tokens / seconds / 1e9, 1)}
        if profile:
            events = json.loads(Path(run.end_profiling()).read_text())
            spent: collections.Counter[str] = collections.Counter()
            for event in events:
                if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
                    spent[event["args"]["op_name"]] += event["dur"]
            total = sum(spent.values()) or 1
            row["operators"] = {op: round(100 * us / total, 1) for op, us in spent.most_common(6)}
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="the share of each operator kind in each pass")
    args = parser.parse_args()
    import onnxruntime

    ceiling = gemm_rate("fp32", args.threads)
    report: dict[str, Any] = {"onnxruntime": str(Path(onnxruntime.__file__).parent),
                              "gemm_fp32_gflops": round(ceiling, 1),
                              "gemm_u8s8_gops": round(gemm_rate("u8s8", args.threads), 1)}
    for name, (layers, batch, tokens) in MODELS.items():
        for backend in ("onnx-fp32", "int8"):
            row = forward_rate(export_of(name, backend), layers, batch, tokens, args.threads, args.profile)
            row["of_fp32_ceiling"] = round(row["gflops"] / ceiling, 2)
            report[f"{name} {backend} ({batch} x {tokens} tokens)"] = row
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
