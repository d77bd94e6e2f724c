"""How the models run: the numeric precision of their forward passes on this machine.

    with inference("bf16"):
        model(**batch)

``bf16`` (the default) runs the same weights under PyTorch's CPU autocast to bfloat16: matrix
products in bf16 (fast on CPUs with AVX-512 BF16 or AMX), reductions and softmax in fp32. ``fp32``
is PyTorch at full precision, the reference. Measured on this project's 2-core AVX-512 BF16 CPU:
the reader reads about 1.5x faster at unchanged SQuAD F1, the embedder embeds about 1.7x faster
with vectors at cosine ~1.0 to fp32. ONNX Runtime (fp32, dynamic int8) and OpenVINO were measured
too (README, "Speed"): none is wired in, though OpenVINO bf16 embeds about 17% faster with the
same vectors and ONNX Runtime's int8 reader is 15% faster at 0.48 F1 less. A backend that changes
vectors is part of the embedder's identity in the index manifest, so switching it rebuilds the index.

``serial_blas`` keeps numpy's BLAS threads from spinning against these forward passes.
"""

from __future__ import annotations

import contextlib
import os
import threading
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


# A BLAS-specific setting is the user's choice; OMP_NUM_THREADS is not one (it is how PyTorch's threads are set)
BLAS_THREADS_ENV = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_serial_blas_lock = threading.Lock()
_serial_blas_done = False


def serial_blas() -> bool:
    """Put numpy's BLAS on one thread, once per process; False (and nothing changed) when the user set
    its threads through one of ``BLAS_THREADS_ENV``.

    Why: the index's exact search multiplies the memory-mapped vectors by the question's (numpy,
    OpenBLAS). After a multi-threaded call, OpenBLAS's idle threads spin for about 0.1 s by default,
    on the very cores the reader's PyTorch forward passes then need: measured on the 48 SQuAD-dev
    articles, reading a question's top passage right after its retrieval took 46-54 ms instead of 18,
    and ``qa.answer()``'s p50 was 135 ms instead of 36 (README, "Answer latency"). The products qa
    asks of numpy are matrix-vector ones, memory-bound, which a second thread hardly speeds up.
    BLAS libraries threaded by OpenMP (FAISS's own OpenBLAS) are left alone: their idle threads
    stop spinning within a millisecond, and limiting them made no difference.
    """
    global _serial_blas_done
    if any(os.environ.get(name) for name in BLAS_THREADS_ENV):
        return False
    with _serial_blas_lock:
        if not _serial_blas_done:
            from threadpoolctl import ThreadpoolController

            blas = ThreadpoolController().select(user_api="blas")
            spinning = [lib["filepath"] for lib in blas.info() if lib.get("threading_layer") != "openmp"]
            if spinning:
                blas.select(filepath=spinning).limit(limits=1)
            _serial_blas_done = True
    return True
