"""Which of a model's matrix products take int8 with one scale per tensor (a benchmark, not a test).

    python benchmarks/quantization.py ../shared/data/squad/dev-v1.1.json           # the reader's forms
    python benchmarks/quantization.py ../shared/data/squad/dev-v1.1.json --each    # each product alone
    python benchmarks/quantization.py ../shared/data/squad/dev-v1.1.json --model embedder
    python benchmarks/quantization.py ../shared/data/squad/dev-v1.1.json --model embedder --embedder runs/x/model
    PYTHONPATH=/tmp/ort-avx2 python benchmarks/quantization.py ... --no-reads      # AVX2 timings only

The reader's ``int8`` export (``qa.backends.onnx``, scheme ``dynamic``) quantizes its products with
ONNX Runtime's ``quantize_dynamic`` but keeps some fp32. This script shows why those: from the
packaged reader's fused fp32 graph (``onnx-fp32``'s file, exported first if need be) it makes

- the blockwise int8 (``MatMulNBits``, the embedder's scheme),
- per-tensor int8 of every product, and with the feed-forward products of the first 1, 2, 3 or 4
  layers kept fp32 (4: what ships for the reader; for the embedder, of its 2 layers, the first),
- with ``--each``: per-tensor int8 of one product at a time,

and reads the same question-paragraph pairs with each (from the 31st article of the SQuAD file on:
``--questions`` questions with their own paragraph, half as many with another question's), counting
how often the best span is fp32's and how far its score moved; then times one forward pass of 1 x 280
tokens of each (median of 8 passes, three rounds, the forms taking turns).

``--model embedder``: the same forms of the packaged embedder, each embedding ``--sentences``
sentences of the SQuAD file (from the 21st article on), compared with onnx-fp32's vectors by cosine
(the index's tolerance is 0.999), and timed on 64 x 32 tokens; ``--embedder`` names another embedder
(a student folder of ``qa train-embedder``, say one trained with ``--quant-weight``) to make them of.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def forms(fp32: Path, folder: Path, each: bool) -> dict[str, Path]:
    import onnx

    from qa.backends.onnx import _FEED_FORWARD, _int8, dynamic_nodes, per_tensor

    graph = onnx.load(str(fp32)).graph
    names = dynamic_nodes(graph, kept=0)  # every product
    made = {"onnx-fp32": fp32}
    _int8(fp32, folder / "blockwise.onnx", "blockwise")
    made["blockwise"] = folder / "blockwise.onnx"
    layers = 1 + max((int(m.group(1)) for m in map(_FEED_FORWARD.search, names) if m), default=0)
    for kept in range(min(5, layers)):
        layers_kept = "layer 0" if kept == 1 else f"layers 0-{kept - 1}"
        label = "per tensor, every product" if kept == 0 else f"per tensor, feed-forward of {layers_kept} fp32"
        made[label] = per_tensor(fp32, folder / f"kept{kept}.onnx", dynamic_nodes(graph, kept))
    if each:
        for i, name in enumerate(names):
            made[f"alone: {name}"] = per_tensor(fp32, folder / f"one{i}.onnx", [name])
    return made


def pairs(squad: Path, questions: int) -> list[tuple[str, list[Any]]]:
    from qa.schema import Passage

    items: list[tuple[str, list[Any]]] = []
    for article in json.loads(squad.read_text(encoding="utf-8"))["data"][30:]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"][:2]:
                items.append((qa["question"], [Passage("p", "p", 0, 0, 0, paragraph["context"])]))
        if len(items) >= questions:
            break
    items = items[:questions]
    return items + [(q, items[(i + 7) % len(items)][1]) for i, (q, _) in enumerate(items[: questions // 2])]


def reads(reader: Any, path: Path, items: list[tuple[str, list[Any]]]) -> list[tuple[str, float]]:
    from qa.backends.onnx import OnnxRunner

    reader._runner = OnnxRunner(path, backend="onnx-fp32")  # the file to read with, whatever it holds
    found = []
    for begin in range(0, len(items), 16):
        for reading in reader.read_many(items[begin : begin + 16]):
            best = reading.spans[0] if reading.spans else None
            found.append((best.text, best.score) if best else ("", 0.0))
    return found


def sentences(squad: Path, count: int) -> list[str]:
    from qa.sentences import split_text

    found: list[str] = []
    for article in json.loads(squad.read_text(encoding="utf-8"))["data"][20:]:
        for paragraph in article["paragraphs"]:
            found += [paragraph["context"][a:b] for a, b in split_text(paragraph["context"])]
        if len(found) >= count:
            break
    return found[:count]


def vectors(embedder: Any, path: Path, texts: list[str]) -> np.ndarray:
    from qa.backends.onnx import OnnxRunner

    inner = embedder._model  # the mean-pooled encoder: its runners, set to the file asked for
    inner._runners = {inner.choice.backend: OnnxRunner(path, backend="onnx-fp32")}
    return inner.encode(texts, batch_size=64)


def compared(made: dict[str, Path], run: Any, describe: Any) -> None:
    """Print how far each form's output (``run(path)``) is from onnx-fp32's, as ``describe(got, reference)``."""
    reference = run(made["onnx-fp32"])
    for label, path in made.items():
        print(f"{label:60s} {describe(run(path), reference)}", flush=True)


def spans_moved(got: list[tuple[str, float]], reference: list[tuple[str, float]]) -> str:
    moved = np.array([abs(a[1] - b[1]) for a, b in zip(got, reference)])
    same = np.mean([a[0] == b[0] for a, b in zip(got, reference)])
    return (f"best span as fp32's {100 * same:5.1f}%  score change mean {moved.mean():.4f} "
            f"p95 {np.percentile(moved, 95):.3f} max {moved.max():.2f}")


def cosines(got: np.ndarray, reference: np.ndarray) -> str:
    cosine = np.sum(got * reference, axis=1)
    return f"cosine to fp32 mean {cosine.mean():.5f} lowest {cosine.min():.5f}"


def timings(made: dict[str, Path], shape: tuple[int, int], rounds: int = 3) -> dict[str, list[float]]:
    from roofline import session

    rng = np.random.default_rng(0)
    feed = {"input_ids": rng.integers(1000, 20000, shape).astype(np.int64),
            "attention_mask": np.ones(shape, np.int64), "token_type_ids": np.zeros(shape, np.int64)}
    runs = {label: session(str(path), 2) for label, path in made.items()}
    found: dict[str, list[float]] = {label: [] for label in made}
    for _ in range(rounds):
        for label, run in runs.items():
            names = {i.name for i in run.get_inputs()}
            mine = {k: v for k, v in feed.items() if k in names}
            run.run(None, mine)
            samples = []
            for _ in range(8):
                began = time.perf_counter()
                run.run(None, mine)
                samples.append(time.perf_counter() - began)
            found[label].append(round(1e3 * statistics.median(samples), 1))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("squad", type=Path)
    parser.add_argument("--model", choices=("reader", "embedder"), default="reader")
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--each", action="store_true", help="also each product quantized alone")
    parser.add_argument("--no-reads", action="store_true", help="timings only")
    parser.add_argument("--embedder", default=None, help="with --model embedder: this embedder, not the packaged one")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from roofline import export_of

    from qa.reader import ExtractiveReader
    from qa.settings import DEFAULT_EMBEDDER

    fp32 = export_of(args.model, "onnx-fp32", args.embedder)
    shape = (1, 280) if args.model == "reader" else (64, 32)
    with tempfile.TemporaryDirectory() as folder:
        made = forms(fp32, Path(folder), args.each)
        if not args.no_reads and args.model == "embedder":
            from qa.embedding import SentenceEmbedder

            embedder = SentenceEmbedder(args.embedder or DEFAULT_EMBEDDER, backend="onnx-fp32")
            embedder.warm_up()
            texts = sentences(args.squad, args.sentences)
            print(f"{len(texts)} sentences")
            compared(made, lambda path: vectors(embedder, path, texts), cosines)
        elif not args.no_reads:
            reader = ExtractiveReader(backend="onnx-fp32")
            reader.warm_up()
            items = pairs(args.squad, args.questions)
            print(f"{len(items)} reads ({args.questions} with their paragraph)")
            compared(made, lambda path: reads(reader, path, items), spans_moved)
        made = {k: v for k, v in made.items() if not k.startswith("alone")}
        for label, ms in timings(made, shape).items():
            print(f"{label:60s} {shape[0]} x {shape[1]} tokens: {' / '.join(f'{x:.1f}' for x in ms)} ms")


if __name__ == "__main__":
    main()
