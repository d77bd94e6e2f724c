"""How the models run: the numeric precision of their forward passes on this machine.

    with inference("bf16"):
        model(**batch)

``bf16`` (the default) runs the same weights under PyTorch's CPU autocast to bfloat16: matrix
products in bf16 (fast on CPUs with AVX-512 BF16 or AMX), reductions and softmax in fp32. ``fp32``
is PyTorch at full precision, the reference. Measured on this project's 2-core AVX-512 BF16 CPU:
the reader reads about 1.5x faster at unchanged SQuAD F1, the embedder embeds about 1.7x faster
with vectors at cosine ~1.0 to fp32. ONNX Runtime (fp32, dynamic int8) and OpenVINO were measured
too (README, "Speed"): none is wired in yet, though OpenVINO bf16 embeds about 17% faster with the
same vectors and ONNX Runtime's int8 reader is 15% faster at 0.48 F1 less. A backend that changes
vectors is part of the embedder's identity in the index manifest, so switching it rebuilds the index.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from qa.errors import ModelError

BACKENDS = ("fp32", "bf16")
DEFAULT_BACKEND = "bf16"  # the fastest that keeps quality here (README, "Speed")


def check_backend(backend: str) -> str:
    """``backend``, lower-cased; ``ModelError`` naming the choices if it is not one of ``BACKENDS``."""
    name = str(backend).strip().lower()
    if name not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)} (QA_BACKEND, --backend)")
    return name


@contextlib.contextmanager
def inference(backend: str) -> Iterator[None]:
    """Forward passes without autograd, in ``backend``'s precision."""
    import torch

    with torch.inference_mode():
        if check_backend(backend) == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                yield
        else:
            yield
