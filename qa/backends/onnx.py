"""The ONNX Runtime backends: ``int8`` (8-bit weights and 8-bit arithmetic in the matrix products) and
``onnx-fp32`` (the same fused graph at full precision).

    path = exported(source_files, cache, "reader", load_model, outputs)   # once, then cached
    OnnxRunner(path).run({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    OnnxRunner(exported(..., precision="fp32"), backend="onnx-fp32")     # the full-precision graph

Export is an explicit, reproducible step (``export``), done from the shipped weights on first use (``qa
info`` on a new machine does it too) into the user's cache, never a side effect hidden in the index:

1. the transformers model, fp32, with eager attention, goes through ``torch.onnx.export``;
2. ONNX Runtime's transformer optimizer fuses attention, layer norms and GELU; this graph is kept as
   ``model-fp32.onnx``, the ``onnx-fp32`` backend: PyTorch fp32's numbers, and on CPUs without int8
   dot products (AVX2 only) the embedder's fastest backend (docs/backends.md);
3. the int8 graph (``model.onnx``), by one of the schemes (``SCHEMES``):

   - ``blockwise`` (the embedder; the reader on CPUs with VNNI): every remaining MatMul becomes
     ``MatMulNBits`` with 8-bit symmetric weights in blocks of 128 and ``accuracy_level=4``:
     activations are quantized to int8 per block of 128 at run time, so one outlier token does not
     set the scale of a whole batch;
   - ``dynamic`` (the reader on CPUs without int8 dot products, ``qa.reader.int8_scheme``): ONNX
     Runtime's dynamic quantization of the fused attention and the MatMuls, but the first
     feed-forward layers' (``FP32_FEED_FORWARD``): weights 7-bit per output channel (``reduce_range``:
     a uint8 x int8 pair product then fits the 16 bits of AVX2's ``vpmaddubsw``, so AVX2 and VNNI
     compute the same integers), activations uint8 with one scale per tensor, found at run time;
   - ``dynamic-all``: the same for every product, for a model trained to agree with it
     (``qa.embedding.int8_scheme``; ``qa train-embedder --quant-weight``).

Why two (docs/backends.md): per-tensor activation scales move the embedder's vectors to cosine 0.995,
below the index's 0.999, and blockwise keeps them at 0.9997; the reader's F1 stays within 0.1 of fp32
per tensor, whose forward pass on AVX2 takes about 0.8x of fp32's, where blockwise takes 1.2x (with
VNNI blockwise is about as fast and moves fewer answers).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError
from qa.files import write_atomic

log = logging.getLogger(__name__)

EXPORT_FORMAT = 3  # bump when the recipe changes: older exports are redone (2: the fp32 graph kept too; 3: schemes)
BLOCK = 128
SCHEMES = ("blockwise", "dynamic", "dynamic-all")
MODEL_FILE = "model.onnx"
FP32_FILE = "model-fp32.onnx"
CARD = "export.json"


def made_from(files: Iterable[Path], scheme: str = "blockwise") -> list[str]:
    """What an export is made from: the recipe (its int8 ``scheme``), ONNX Runtime's version (a new one
    may quantize differently), and each source file as ``path:size:modification time``."""
    parts = [f"format={EXPORT_FORMAT}", f"scheme={scheme}", f"block={BLOCK}", f"onnxruntime={_version('onnxruntime')}"]
    for path in sorted(Path(p) for p in files):
        stat = path.stat()
        parts.append(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    return parts


def fingerprint(files: Iterable[Path], scheme: str = "blockwise") -> str:
    """The name of an export's folder: a hash of ``made_from``."""
    import hashlib

    return hashlib.sha256("\n".join(made_from(files, scheme)).encode()).hexdigest()[:16]


def stale(folder: Path) -> bool:
    """An export no model on this disk can use any more: one of its source files was replaced or
    removed (an upgrade, a deleted checkout), or it predates the record of its sources."""
    try:
        card = json.loads((folder / CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # an export still being written, or not ours
    parts = card.get("made_from") if isinstance(card, dict) else None
    if not isinstance(parts, list):
        return True
    for part in parts:
        path, _, rest = str(part).rpartition(":")
        path, _, size = path.rpartition(":")
        if not path:
            continue  # format=, scheme=, block=, onnxruntime=
        try:
            stat = Path(path).stat()
        except OSError:
            return True
        if f"{stat.st_size}:{stat.st_mtime_ns}" != f"{size}:{rest}":
            return True
    return False


def prune(cache: Path, name: str, keep: Path) -> list[Path]:
    """Delete the stale exports of ``name`` in ``cache/onnx/`` (never ``keep``); the folders deleted.
    Each holds the model twice (int8 and fp32), so an upgrade would otherwise leave ~140 MB behind."""
    removed = []
    for folder in (Path(cache) / "onnx").glob(f"{name}-*"):
        suffix = folder.name[len(name) + 1:]
        if folder == keep or len(suffix) != 16 or not folder.is_dir() or not stale(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    if removed:
        log.info("removed %d stale ONNX export(s) of %s", len(removed), name)
    return removed


def weight_files(folder: Path) -> list[Path]:
    """The files of a model folder an export is made from: its config and weights (not its tokenizer
    or qa's settings beside them, which do not change the graph)."""
    return [p for p in Path(folder).iterdir() if p.is_file() and (p.name == "config.json" or
                                                                  p.suffix in (".safetensors", ".bin"))]


def exported(sources: Iterable[Path], cache: Path, name: str, load: Callable[[], Any],
             outputs: tuple[str, ...], precision: str = "int8", scheme: str = "blockwise") -> Path:
    """The ONNX file of a model (``precision``: int8 or fp32), exported into ``cache/onnx/`` by ``export``
    the first time. ``load``: builds the fp32 transformers model (only called when exporting);
    ``scheme``: how its int8 graph is quantized (``SCHEMES``)."""
    if precision not in ("int8", "fp32"):
        raise ValueError(f"precision must be int8 or fp32, not {precision!r}")
    _check_scheme(scheme)
    sources = list(sources)
    folder = Path(cache) / "onnx" / f"{name}-{fingerprint(sources, scheme)}"
    wanted = folder / (MODEL_FILE if precision == "int8" else FP32_FILE)
    if wanted.exists() and (folder / CARD).exists():
        return wanted
    log.warning("preparing the ONNX forms of %s for this machine (once; cached in %s)", name, folder.parent)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
    try:
        export(load(), tmp, outputs, source=name, sources=made_from(sources, scheme), scheme=scheme)
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished the same export first
            if not (folder / MODEL_FILE).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    prune(cache, name, keep=folder)
    return wanted


def export(model: Any, out: Path, outputs: tuple[str, ...], source: str = "", sources: list[str] | None = None,
           scheme: str = "blockwise") -> Path:
    """Write ``out/model.onnx`` (int8 by ``scheme``, as the module says), ``out/model-fp32.onnx`` (the fused
    graph at full precision) and ``out/export.json`` from a transformers ``model``; ``outputs``: the names
    of its outputs the ONNX graph gives. It takes the token inputs the model's ``forward`` accepts
    (input_ids, attention_mask and, where it has them, token_type_ids).
    ``sources``: what it is made from (``made_from``), kept in the card so that ``stale`` can tell."""
    _check_scheme(scheme)
    try:
        import onnx  # noqa: F401 - the exporter and the quantizers need it
        import torch
        from onnxruntime.quantization import quantize_dynamic  # noqa: F401 - checked here, used in _int8
    except ImportError as exc:
        raise ModelError(f"the int8 backend needs onnx and onnxruntime ({exc}): pip install onnx onnxruntime, "
                         "or choose another backend (QA_BACKEND=fp32)") from exc
    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    model = model.float().eval()
    if hasattr(model, "set_attn_implementation"):
        with contextlib.suppress(Exception):  # eager attention exports to plain MatMul/Softmax the optimizer fuses
            model.set_attn_implementation("eager")
    config = model.config
    accepted = inspect.signature(model.forward).parameters
    inputs = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted)

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: Any) -> Any:
            result = self.inner(**dict(zip(inputs, tensors)))
            return tuple(getattr(result, name) for name in outputs)

    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in inputs)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*inputs, *outputs)}
    plain = out / "fp32.onnx"
    with warnings.catch_warnings(), _quiet():
        warnings.simplefilter("ignore")
        torch.onnx.export(Wrapped(model), example, str(plain), input_names=list(inputs), output_names=list(outputs),
                          dynamic_axes=axes, opset_version=17, dynamo=False)
        fused = _fuse(plain, config)
        os.replace(fused or plain, out / FP32_FILE)
        _int8(out / FP32_FILE, out / MODEL_FILE, scheme)
    for leftover in out.glob("*.onnx"):
        if leftover.name not in (MODEL_FILE, FP32_FILE):
            leftover.unlink()
    card = {
        "format": EXPORT_FORMAT, "source": source, "inputs": list(inputs), "outputs": list(outputs),
        "scheme": scheme,
        "recipe": f"torch.onnx.export (opset 17, eager attention) -> onnxruntime transformer optimizer "
                  f"({'fused' if fused else 'not fused'}; {FP32_FILE}) -> {RECIPES[scheme]} ({MODEL_FILE})",
        "versions": {p: _version(p) for p in ("torch", "transformers", "onnx", "onnxruntime")},
        "seconds": round(time.perf_counter() - began, 1),
        "made_from": sources or [],
    }
    write_atomic(out / CARD, json.dumps(card, indent=1) + "\n")
    return out / MODEL_FILE


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}")


RECIPES = {
    "blockwise": f"MatMulNBits 8-bit symmetric, block {BLOCK}, accuracy_level 4 (int8 activations per block)",
    "dynamic": "quantize_dynamic of MatMul and Attention: int8 weights per channel, reduce_range (7-bit), "
               "uint8 activations per tensor",
    "dynamic-all": "quantize_dynamic of every MatMul and Attention: int8 weights per channel, reduce_range (7-bit), "
                   "uint8 activations per tensor",
}


# dynamic scheme: the feed-forward products of this share of the layers, counted from the input, stay fp32.
# Their inputs carry the outliers one scale per tensor holds worst: quantized one at a time, those of the
# reader's layers 0-3 moved its best span's score by 0.004-0.012 on average, every other product by
# 0.0004-0.0044 (docs/backends.md; benchmarks/quantization.py --each).
FP32_FEED_FORWARD = 2 / 3
_FEED_FORWARD = re.compile(r"layer\.(\d+)/(?:intermediate|output)/dense/")


def dynamic_nodes(graph: Any, kept: int | None = None) -> list[str]:
    """The nodes the dynamic scheme quantizes: every MatMul with a weight and every fused Attention, but
    the feed-forward products of the first ``kept`` layers (default: ``FP32_FEED_FORWARD`` of them)."""
    names = [n.name for n in graph.node if n.op_type in ("MatMul", "Attention")]
    if kept is None:
        layers = [int(m.group(1)) for m in map(_FEED_FORWARD.search, names) if m]
        kept = math.ceil(FP32_FEED_FORWARD * (max(layers) + 1)) if layers else 0
    return [n for n in names if not ((m := _FEED_FORWARD.search(n)) and int(m.group(1)) < kept)]


def per_tensor(fp32: Path, out: Path, nodes: list[str]) -> Path:
    """``nodes`` of the fp32 graph ``fp32`` quantized by the dynamic scheme (the module says how), written
    to ``out``; the other products stay fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it advises pre-processing on the root logger; the graph is already fused
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                         op_types_to_quantize=["MatMul", "Attention"], nodes_to_quantize=nodes,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    return out


def _int8(fp32: Path, out: Path, scheme: str) -> None:
    """The int8 graph of the fused fp32 graph ``fp32``, written to ``out`` (the module says how)."""
    import onnx

    if scheme in ("dynamic", "dynamic-all"):
        per_tensor(fp32, out, dynamic_nodes(onnx.load(str(fp32)).graph, 0 if scheme == "dynamic-all" else None))
        return
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    settings = DefaultWeightOnlyQuantConfig(block_size=BLOCK, is_symmetric=True, accuracy_level=4, bits=8)
    quantizer = MatMulNBitsQuantizer(onnx.load(str(fp32)), bits=8, block_size=BLOCK, is_symmetric=True,
                                     accuracy_level=4, algo_config=settings)
    quantizer.process()
    quantizer.model.save_model_to_file(str(out), use_external_data_format=False)


def _fuse(plain: Path, config: Any) -> Path | None:
    """The graph with attention, layer norms and GELU fused by ONNX Runtime's transformer optimizer,
    or None where it does not apply (the plain graph is then quantized as it is)."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads = int(getattr(config, "num_attention_heads", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    try:
        optimized = optimize_model(str(plain), model_type="bert", num_heads=heads, hidden_size=hidden)
    except Exception as exc:  # noqa: BLE001 - an unfusable graph is still a valid graph
        log.info("no fusion for %s: %s", plain, exc)
        return None
    path = plain.with_name("fused.onnx")
    optimized.save_model_to_file(str(path))
    return path


@contextlib.contextmanager
def _quiet() -> Any:
    """The exporters' and quantizers' INFO logs held back: torch.onnx, onnx_ir, onnxruntime, and ONNX
    Runtime's transformer optimizer, whose modules log under their bare names (``fusion_attention``)."""
    import sys

    import onnxruntime.transformers.optimizer  # noqa: F401 - so that its modules' loggers exist

    names = {"torch.onnx", "onnx_ir", "onnxruntime"}
    names |= {n for n, m in list(sys.modules.items())
              if "onnxruntime" in str(getattr(m, "__file__", "") or "") and "transformers" in str(m.__file__)}
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in names]
    for logger, _ in saved:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


class OnnxRunner:
    """An exported model run by ONNX Runtime: numpy inputs in, its outputs as float32 numpy arrays out.
    ``backend``: what it is called (int8 for ``model.onnx``, onnx-fp32 for ``model-fp32.onnx``).

    ``threads``: its intra-op pool (default: ``qa.backends.threads.model_threads``). Idle pool threads do not
    spin (``allow_spinning`` 0): spinning wins a little on an idle machine, but beside a busy
    process it burns the cores the work needs, and between requests it burns the cores other
    requests need (docs/backends.md, "Thread hygiene").
    """

    def __init__(self, path: Path, threads: int | None = None, spinning: bool | None = None, backend: str = "int8"):
        import onnxruntime as ort

        from qa.backends.threads import model_threads, spin

        self.backend = backend
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or model_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        allow = spin() if spinning is None else spinning
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow else "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a damaged cache file is reported, with the fix
            raise ModelError(f"cannot load {path}: {exc}; delete {path.parent} and it is exported again") from exc
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.path = path

    def run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, {k: np.ascontiguousarray(feed[k], dtype=np.int64) for k in self.inputs})
