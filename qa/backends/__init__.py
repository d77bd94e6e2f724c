"""How the models run on this machine: the backend of their forward passes, chosen per host.

    backend = check_backend("auto")          # auto (default), fp32, bf16 or int8
    choice, runner = select("reader", "qa-reader-minilm", "auto", offered, probe)  # or decide(): choice only
    runner.run({"input_ids": ..., "attention_mask": ..., "token_type_ids": ...})

- ``fp32``: PyTorch at full precision, the reference (``qa.backends.pytorch``).
- ``bf16``: the same weights under PyTorch's CPU autocast; fast only with AVX-512 BF16 or AMX.
- ``int8``: ONNX Runtime with 8-bit weights and blockwise 8-bit arithmetic (``qa.backends.onnx``),
  exported from the shipped weights on first use.
- ``auto``: the fastest of those this CPU runs natively, timed once per host (``qa.backends.choice``).

All four give the same answers within the budgets of README "Speed" (reader F1 within 0.5 of fp32,
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

BACKENDS = ("auto", "fp32", "bf16", "int8")
DEFAULT_BACKEND = "auto"
ASKED = "asked for (QA_BACKEND or --backend)"  # the reason of a choice the user made


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
        return Choice(requested, ASKED, {}, cpu.describe()), {}
    from qa.backends.choice import TIE, choose

    return choose(kind, model, offered, feed, cpu, cache, TIE if tie is None else tie)


def select(kind: str, model: str, requested: str, offered: dict[str, Callable[[], Runner]],
           feed: dict[str, np.ndarray], cache: Path | None = None) -> tuple[Choice, Runner]:
    """``decide``, and a ready runner of the backend decided."""
    choice, built = decide(kind, model, requested, offered, feed, cache)
    runner = built.get(choice.backend) or offered[choice.backend]()
    return choice, runner


def __getattr__(name: str) -> Any:  # keeps ``import qa.backends`` free of numpy and torch
    if name == "inference":
        from qa.backends.pytorch import inference

        return inference
    if name in ("Choice", "Runner"):
        from qa.backends import choice

        return getattr(choice, name)
    raise AttributeError(f"module 'qa.backends' has no attribute {name!r}")


__all__ = ["ASKED", "BACKENDS", "BLAS_THREADS_ENV", "DEFAULT_BACKEND", "Choice", "Runner", "check_backend", "decide",
           "inference", "select", "serial_blas"]
