"""The inference backends qa does not ship, measured against the ones it does (a benchmark, not a test).

    pip install onnxruntime onnx onnxscript openvino      # once, into qa's venv; not qa dependencies
    python benchmarks/backends.py ../shared/data/squad/dev-v1.1.json --questions 400

How qa chose its backend (qa.backends): every candidate runs the packaged weights on this machine.
Embedder: sentences/s over the file's first ``--sentences`` sentences (shortest first, batches of 64) and cosine
to sentence-transformers fp32. Reader: one question over 5 passages (p50), and SQuAD F1 always
answering on a seeded sample of ``--questions`` questions with their gold paragraph, through qa's
own reader code (only the forward pass is swapped). Candidates: PyTorch fp32 and bf16 autocast and
qa's int8 (its backends), ONNX Runtime fp32 and per-tensor dynamic int8 (per-channel weights, AVX-512 VNNI kernels),
OpenVINO with bf16 inference precision. The ONNX files are exported from the packaged weights into
a temporary folder on each run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export(model: Any, path: Path, outputs: list[str]) -> None:
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return tuple(getattr(out, name) for name in outputs)

    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, *outputs)}
    torch.onnx.export(Wrapped(model).eval(), example, str(path), input_names=list(INPUTS), output_names=outputs,
                      dynamic_axes=axes, opset_version=17, dynamo=False)


def runners(onnx_path: Path, folder: Path) -> dict[str, Any]:
    """name -> function(dict of int64 arrays) -> list of output arrays, for each non-torch candidate."""
    import onnxruntime as ort
    import openvino as ov
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = folder / (onnx_path.stem + "_qint8_avx512_vnni.onnx")
    quantize_dynamic(str(onnx_path), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    found = {}
    for name, path in (("onnxruntime fp32", onnx_path), ("onnxruntime int8", int8)):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        found[name] = lambda feed, s=session: s.run(None, {k: feed[k] for k in INPUTS})
    compiled = ov.Core().compile_model(str(onnx_path), "CPU", {"INFERENCE_PRECISION_HINT": "bf16"})
    request = compiled.create_infer_request()
    found["openvino bf16"] = lambda feed: [request.infer({k: feed[k] for k in INPUTS})[o] for o in compiled.outputs]
    return found


def embedder_rows(sentences: list[str], folder: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    from qa.embedding import SentenceEmbedder, packaged_minilm_path, unit_mean

    path = packaged_minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    reference = SentenceTransformer(str(path), device="cpu").encode(sentences, normalize_embeddings=True)
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))

    def rate(encode: Any) -> tuple[float, np.ndarray]:
        encode(sentences[:64])
        began = time.perf_counter()
        vectors = encode(sentences)
        return len(sentences) / (time.perf_counter() - began), vectors

    def pooled(run: Any) -> Any:
        def encode(texts: list[str]) -> np.ndarray:
            out = np.zeros((len(texts), 384), np.float32)
            rows_all = order if len(texts) == len(sentences) else list(range(len(texts)))
            for b in range(0, len(rows_all), 64):
                rows = rows_all[b : b + 64]
                feed = dict(tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=256,
                                      return_tensors="np"))
                hidden = run({k: feed[k].astype(np.int64) for k in INPUTS})[0]
                out[rows] = unit_mean(hidden, feed["attention_mask"])
            return out
        return encode

    onnx_path = folder / "embedder.onnx"
    export(AutoModel.from_pretrained(path).eval(), onnx_path, ["last_hidden_state"])
    candidates = {f"pytorch {b}": SentenceEmbedder(backend=b).encode for b in ("fp32", "bf16")}
    candidates["qa int8 (shipped)"] = SentenceEmbedder(backend="int8").encode
    candidates.update({name: pooled(run) for name, run in runners(onnx_path, folder).items()})
    print(f"\nembedder, {len(sentences):,} sentences:")
    for name, encode in candidates.items():
        speed, vectors = rate(encode)
        cosine = np.sum(vectors * reference, axis=1)
        print(f"  {name:<18} {speed:6.0f} sentences/s   cosine to fp32 mean {cosine.mean():.5f} "
              f"lowest {cosine.min():.5f}", flush=True)


def reader_rows(items: list[tuple[str, str, list[str]]], passages: list[Any], folder: Path,
                only: list[str] | None = None) -> None:
    from qa.evaluation.metrics import score_prediction
    from qa.reader import ExtractiveReader
    from qa.schema import Passage

    fp32 = ExtractiveReader(backend="fp32")
    fp32.warm_up()
    onnx_path = folder / "reader.onnx"
    export(fp32._offer.torch_model, onnx_path, ["start_logits", "end_logits"])
    candidates: dict[str, ExtractiveReader] = {"pytorch fp32": fp32, "pytorch bf16": ExtractiveReader(backend="bf16"),
                                               "qa int8 (shipped)": ExtractiveReader(backend="int8")}
    for name, run in runners(onnx_path, folder).items():
        reader = ExtractiveReader(backend="fp32")
        reader.warm_up()
        reader._runner = SimpleNamespace(run=run)  # only the forward pass is swapped
        candidates[name] = reader
    print(f"\nreader, 5 passages ({sum(len(p.text.split()) for p in passages)} words) and F1 on {len(items)} "
          "questions with their paragraph, always answering:")
    for name, reader in candidates.items():
        if only and name not in only:
            continue
        reader.read_many([(items[0][0], passages)])
        times = []
        for i in range(20):
            began = time.perf_counter()
            reader.read_many([(items[i % len(items)][0], passages)])
            times.append(time.perf_counter() - began)
        f1 = []
        for question, context, answers in items:
            spans = reader.read(question, [Passage("p", "p", 0, 0, 0, context)]).spans
            f1.append(score_prediction(spans[0].text if spans else None, answers)[1])
        print(f"  {name:<18} p50 {1000 * statistics.median(times):6.1f} ms   F1 {100 * statistics.fmean(f1):.2f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", type=Path, help="SQuAD v1.1 JSON")
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--sentences", type=int, default=3000, help="0: skip the embedder")
    parser.add_argument("--only", action="append", help="reader candidates to run, e.g. 'onnxruntime int8'")
    args = parser.parse_args()
    from qa.schema import Passage
    from qa.sentences import split_text

    data = json.loads(args.file.read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for a in data for p in a["paragraphs"]]
    sentences: list[str] = []
    for context in contexts:
        sentences += [context[s:e] for s, e in split_text(context)]
        if len(sentences) >= args.sentences:
            break
    sentences = sentences[: args.sentences]
    items = [(q["question"], p["context"], [x["text"] for x in q["answers"]])
             for a in data for p in a["paragraphs"] for q in p["qas"]]
    items = random.Random(5).sample(items, min(args.questions, len(items)))
    passages = [Passage("p", "p", 0, 0, 0, " ".join(c[s:e] for s, e in split_text(c)[:3])) for c in contexts[:5]]
    with tempfile.TemporaryDirectory() as tmp:
        if sentences:
            embedder_rows(sentences, Path(tmp))
        reader_rows(items, passages, Path(tmp), args.only)


if __name__ == "__main__":
    main()
