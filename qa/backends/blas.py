"""numpy's BLAS kept from spinning against the models' forward passes (``serial_blas``)."""

from __future__ import annotations

import os
import threading

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
    and ``qa.answer()``'s p50 was 135 ms instead of 36 (docs/speed.md, "Answer latency"). The products qa
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
