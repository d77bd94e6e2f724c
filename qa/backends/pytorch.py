"""PyTorch backends: ``fp32``, the reference, and ``bf16``, the same weights under CPU autocast.

    with inference("bf16"):
        model(**batch)

``bf16`` runs matrix products in bfloat16 (fast only where the CPU has AVX-512 BF16 or AMX; elsewhere
PyTorch emulates it, about 5x slower than fp32), reductions and softmax in fp32.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np


@contextlib.contextmanager
def inference(backend: str) -> Iterator[None]:
    """Forward passes without autograd, in ``backend``'s precision (``fp32`` or ``bf16``)."""
    import torch

    with torch.inference_mode():
        if backend == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                yield
        else:
            yield


class TorchRunner:
    """A transformers model run by PyTorch: numpy inputs in, the named outputs as float32 numpy arrays out."""

    def __init__(self, model: Any, backend: str, outputs: tuple[str, ...]):
        import os

        import torch

        from qa.backends.threads import model_threads

        if os.environ.get("QA_THREADS"):  # otherwise PyTorch's own default: one thread per physical core
            torch.set_num_threads(model_threads())
        self.model, self.backend, self.outputs = model.eval(), backend, outputs
        self.inputs = set(inspect.signature(model.forward).parameters)

    def run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        import torch

        batch = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.int64)) for k, v in feed.items()
                 if k in self.inputs}
        with inference(self.backend):
            out = self.model(**batch)
            return [getattr(out, name).float().numpy() for name in self.outputs]
