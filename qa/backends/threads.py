"""How many threads the models' forward passes use, and whether idle ones spin.

``QA_THREADS`` sets the intra-op threads of every model (default: the physical cores this process may use).
Idle threads do not spin by default: beside a busy process, spinning threads take turns on a
core with it and the whole forward pass waits for the slowest (docs/backends.md, "Thread hygiene").
"""

from __future__ import annotations

import os

from qa.backends.cpu import usable_cores


def model_threads() -> int:
    """Intra-op threads for a model: ``QA_THREADS``, else the physical cores this process may use."""
    raw = os.environ.get("QA_THREADS", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            from qa.errors import ModelError

            raise ModelError(f"QA_THREADS must be a whole number of threads, not {raw!r}") from None
    return usable_cores()


def spin() -> bool:
    """Whether idle intra-op threads spin waiting for work (``QA_SPIN=1``); off by default."""
    return os.environ.get("QA_SPIN", "").strip().lower() in ("1", "true", "yes")
