"""How the models run on this machine: the backend of their forward passes, chosen per host.

    backend = check_backend("auto")          # auto (default), fp32, bf16, int8 or onnx-fp32
    choice, runner = select("reader", "qa-reader-minilm", "auto", offered, probe)  # or decide(): choice only
    runner.run({"input_ids": ..., "attention_mask": ..., "token_type_ids": ...})

- ``fp32``: PyTorch at full precision, the reference (``qa.backends.pytorch``).
- ``bf16``: the same weights under PyTorch's CPU autocast; fast only with AVX-512 BF16 or AMX.
- ``int8``: ONNX Runtime with 8-bit weights and 8-bit arithmetic (``qa.backends.onnx``; blockwise, but
  the reader per tensor on CPUs without VNNI), exported from the shipped weights on first use.
- ``onnx-fp32``: ONNX Runtime at full precision on the same exported (fused) graph: PyTorch fp32's
  numbers, faster than int8 where the CPU has no int8 dot products (AVX2 only).
- ``auto``: the fastest of those this CPU runs natively, timed once per host (``qa.backends.choice``).

All of them give the same answers within the budgets of docs/speed.md (reader F1 within 0.5 of fp32,
embedder vectors at cosine > 0.999), so an index built on one serves them all.
``serial_blas`` keeps numpy's BLAS threads from spinning against the forward passes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.backends.blas import BLAS_THREADS_ENV, serial_blas
from qa.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

    from qa.backends.choice import Choice, Runner

BACKENDS = ("auto", "fp32", "bf16", "int8", "onnx-fp32")
ONNX_BACKENDS = ("int8", "onnx-fp32")  # run by ONNX Runtime: start without PyTorch, share cores politely
DEFAULT_BACKEND = "auto"


def check_backend(backend: str) -> str:
    """``backend``, lower-cased; ``ModelError`` naming the choices if it is not one of ``BACKENDS``."""
    name = str(backend).strip().lower()
    if name not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)} (QA_BACKEND, --backend)")
    return name


def decide(kind: str, model: str, requested: str, offered: dict[str, Callable[[], Runner]],
           feed: dict[str, np.ndarray], cache: Path | None = None, tie: float | None = None,
           ) -> tuple[Choice, dict[str, Runner]]:
    """The backend for ``model``: ``requested`` itself, or for ``auto`` the one chosen for this host
    (``qa.backends.choice``); with any runners already built on the way (by a timing).
    ``offered``: backend name -> runner factory; ``tie``: how much slower int8 may time and still
    be chosen (default ``choice.TIE``)."""
    from qa.backends.choice import Choice
    from qa.backends.cpu import detect

    requested = check_backend(requested)
    cpu = detect()
    if requested != "auto":
        if requested not in offered:
            raise ModelError(f"{model} cannot run on the {requested} backend here: use one of "
                             f"{', '.join(['auto', *offered])}")
        return Choice(requested, "asked for (QA_BACKEND or --backend)", {}, cpu.describe()), {}
    from qa.backends.choice import TIE, choose

    return choose(kind, model, offered, feed, cpu, cache, TIE if tie is None else tie)


def select(kind: str, model: str, requested: str, offered: dict[str, Callable[[], Runner]],
           feed: dict[str, np.ndarray], cache: Path | None = None) -> tuple[Choice, Runner]:
    """``decide``, and a ready runner of the backend decided."""
    choice, built = decide(kind, model, requested, offered, feed, cache)
    runner = built.get(choice.backend) or offered[choice.backend]()
    return choice, runner


class Offer:
    """The runners a transformers model can be given: fp32 and bf16 sharing one PyTorch copy of it,
    loaded on first need, and int8 and onnx-fp32 where an export can be made (``sources``: the model
    folder's files, ``qa.backends.onnx.weight_files``; on the CPU only; ``scheme``: how int8 is
    quantized, ``qa.backends.onnx.SCHEMES``).

        offer = Offer(load_model, ("start_logits", "end_logits"), cache, "reader-x", weight_files(folder))
        choice, runner = select("reader", "x", "auto", offer.factories(), feed, cache)
        offer.keep(choice.backend)    # int8 chosen: the timing's PyTorch copy is let go
    """

    def __init__(self, load: Callable[[], Any], outputs: tuple[str, ...], cache: Path, name: str,
                 sources: list[Path] | None = None, device: str = "cpu", scheme: str = "blockwise"):
        self.load, self.outputs, self.cache, self.name = load, outputs, cache, name
        self.sources, self.device, self.scheme = sources, device, scheme
        self.torch_model: Any = None

    def factories(self) -> dict[str, Callable[[], Runner]]:
        """Backend name -> runner factory, for ``select`` or ``decide``."""
        found: dict[str, Callable[[], Runner]] = {"fp32": lambda: self._torch("fp32"),
                                                   "bf16": lambda: self._torch("bf16")}
        if self.sources is not None and self.device == "cpu":
            found["int8"] = lambda: self._onnx("int8")
            found["onnx-fp32"] = lambda: self._onnx("fp32")
        return found

    def keep(self, backend: str) -> None:
        """Let the PyTorch copy go unless ``backend`` runs on it."""
        if backend not in ("fp32", "bf16"):
            self.torch_model = None

    def _torch(self, backend: str) -> Runner:
        from qa.backends.pytorch import TorchRunner

        if self.torch_model is None:
            self.torch_model = self.load().to(self.device).eval()
        return TorchRunner(self.torch_model, backend, self.outputs)

    def _onnx(self, precision: str) -> Runner:
        from qa.backends.onnx import OnnxRunner, exported

        assert self.sources is not None
        path = exported(self.sources, self.cache, self.name, self.load, self.outputs, precision, self.scheme)
        return OnnxRunner(path, backend="int8" if precision == "int8" else "onnx-fp32")


def __getattr__(name: str) -> Any:  # keeps ``import qa.backends`` free of numpy and torch
    if name == "inference":
        from qa.backends.pytorch import inference

        return inference
    if name in ("Choice", "Runner"):
        from qa.backends import choice

        return getattr(choice, name)
    raise AttributeError(f"module 'qa.backends' has no attribute {name!r}")


__all__ = ["BACKENDS", "BLAS_THREADS_ENV", "DEFAULT_BACKEND", "ONNX_BACKENDS", "Choice", "Offer", "Runner",
           "check_backend", "decide", "inference", "select", "serial_blas"]
