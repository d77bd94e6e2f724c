"""The backend chosen for this machine: by what the CPU can do, then by timing, once per kind of host.

    choice, built = choose("reader", "qa-reader-minilm", candidates, probe, detect(), Path("~/.cache/qa"))
    choice.backend, choice.reason     # ("int8", "timed one forward pass of 1 x 192 tokens: int8 9.1 ms, ...")

Capability decides first: bf16 is a candidate only where the CPU computes it natively (elsewhere
PyTorch emulates it, several times slower than fp32); int8 and onnx-fp32 only where ONNX Runtime is
installed and the model exports. Among what is left, a small forward pass is timed, the candidates
taking turns, and the fastest wins; the faster ONNX Runtime backend also wins a near tie with PyTorch
(within ``TIE``): it starts without importing PyTorch and slows less beside other work. The choice
is kept per host (``CPU.key``) in ``<cache>/backends.json``, not in the index: an index serves any
backend (``qa.index``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from qa.backends import ONNX_BACKENDS
from qa.backends.cpu import CPU
from qa.errors import ModelError
from qa.files import write_atomic

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

CHOICES_FILE = "backends.json"
# bump when a backend's recipe changes what it runs (2: the reader's int8 became per-tensor dynamic):
# choices timed on the old recipes are made again
CHOICES_FORMAT = 2
# an ONNX Runtime backend within 25% of the fastest counts as fastest: beside a busy process it slows far less
# (ONNX Runtime hands out work in small blocks, PyTorch in one share per thread: 1.27x against 2.18x on the
# reader, docs/backends.md "Thread hygiene"), and it starts without importing PyTorch
TIE = 0.25
# for bulk embedding, 50%: it runs beside answering (qa serve's background indexer, a cron `qa index`), where
# a PyTorch embedder's threads cost the answers 22.6x against ONNX Runtime int8's 1.96x (docs/speed.md)
BULK_TIE = 0.50
ROUNDS = 7
PAUSE = 0.03  # seconds between timed passes: the previous runner's idle threads stop spinning first
_lock = threading.Lock()


class Runner(Protocol):
    backend: str

    def run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class Choice:
    """Which backend a model runs on here, and why."""

    backend: str
    reason: str
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per probe forward pass
    cpu: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_feed(batch: int, tokens: int, vocab: int = 1000) -> dict[str, np.ndarray]:
    """A fixed batch of token ids, the size of a typical forward pass."""
    import numpy as np

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 1000 + vocab, size=(batch, tokens), dtype=np.int64)
    types = np.zeros_like(ids)
    types[:, tokens // 4:] = 1
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": types}


def time_runners(runners: dict[str, Runner], feed: dict[str, np.ndarray], rounds: int = ROUNDS) -> dict[str, float]:
    """Milliseconds of one forward pass of ``feed`` per runner, the fastest of ``rounds``, the runners
    taking turns (so that a machine whose speed drifts treats them alike). The fastest pass, not the
    median: another process's burst only ever slows a pass, so the minimum is the runner's own speed."""
    for runner in runners.values():
        runner.run(feed)
        runner.run(feed)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            time.sleep(PAUSE)
            began = time.perf_counter()
            runner.run(feed)
            times[name].append(1000 * (time.perf_counter() - began))
    return {name: round(min(t), 2) for name, t in times.items()}


def candidates_for(cpu: CPU, offered: list[str]) -> tuple[list[str], list[str]]:
    """The backends worth timing on ``cpu`` among ``offered``, and why the others are not."""
    keep, notes = [], []
    for name in offered:
        if name == "bf16" and not cpu.native_bf16:
            notes.append(f"bf16 is emulated on this CPU ({cpu.isa})")
        else:
            keep.append(name)
    return keep, notes


def choose(kind: str, model: str, offered: dict[str, Callable[[], Runner]], feed: dict[str, np.ndarray],
           cpu: CPU, cache: Path | None, tie: float = TIE) -> tuple[Choice, dict[str, Runner]]:
    """The backend for ``model`` (a ``kind``: reader or embedder) on this host, from the cache or by
    timing ``feed`` on each candidate ``offered`` (name -> runner factory); with the runners the
    timing built (none when the choice came from the cache)."""
    key = f"{kind}:{model}"
    saved = _saved(cache, cpu, key)
    if saved is not None and saved.backend in offered:
        return saved, {}
    names, notes = candidates_for(cpu, list(offered))
    runners: dict[str, Runner] = {}
    for name in names:
        try:
            runners[name] = offered[name]()
        except ModelError as exc:
            notes.append(f"{name} unavailable: {exc}")
    if not runners:
        raise ModelError(f"no backend can run {model}: " + "; ".join(notes))
    if len(runners) == 1:
        (name, _), = runners.items()
        choice = Choice(name, "; ".join([*notes, f"{name} is the only candidate"]), {}, cpu.describe())
    else:
        timings = time_runners(runners, feed)
        fastest = min(timings, key=timings.__getitem__)
        name = fastest
        onnx = [n for n in sorted(timings, key=timings.__getitem__) if n in ONNX_BACKENDS]
        if onnx and timings[onnx[0]] <= timings[fastest] * (1 + tie):
            name = onnx[0]
        shape = "x".join(str(n) for n in feed["input_ids"].shape)
        measured = ", ".join(f"{n} {ms:.1f} ms" for n, ms in sorted(timings.items(), key=lambda x: x[1]))
        why = "fastest" if name == fastest else \
            f"within {tie:.0%} of the fastest (ONNX Runtime holds up better beside other work and starts " \
            "without PyTorch)"
        reason = "; ".join([*notes, f"one forward pass of {shape} tokens timed: {measured}; {name} is {why}"])
        choice = Choice(name, reason, timings, cpu.describe())
    _save(cache, cpu, key, choice)
    log.info("%s backend for %s: %s (%s)", kind, model, choice.backend, choice.reason)
    return choice, runners


def saved_choices(cache: Path | None, cpu: CPU) -> dict[str, Choice]:
    """Every choice made on this kind of host: ``"reader:<model>"`` -> ``Choice``."""
    host = _read(cache).get(cpu.key, {})
    return {k: Choice(**v) for k, v in host.get("choices", {}).items() if isinstance(v, dict)}


def forget(cache: Path | None, cpu: CPU) -> bool:
    """Drop this host's saved choices (they are made again on next use); False if there were none."""
    if cache is None:
        return False
    with _lock:
        found = _read(cache)
        if cpu.key not in found:
            return False
        del found[cpu.key]
        _write(cache, found)
        return True


def _saved(cache: Path | None, cpu: CPU, key: str) -> Choice | None:
    return saved_choices(cache, cpu).get(key)


def _save(cache: Path | None, cpu: CPU, key: str, choice: Choice) -> None:
    if cache is None:
        return
    with _lock:
        found = _read(cache)
        host = found.setdefault(cpu.key, {"cpu": cpu.describe(), "choices": {}})
        host.setdefault("choices", {})[key] = choice.to_dict()
        try:
            _write(cache, found)
        except OSError as exc:  # a read-only home: choose again next time, but answer now
            log.warning("cannot keep the backend choice in %s: %s", cache, exc)


def _read(cache: Path | None) -> dict[str, Any]:
    if cache is None:
        return {}
    try:
        found = json.loads((Path(cache) / CHOICES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) and found.get("format") == CHOICES_FORMAT else {}


def _write(cache: Path, found: dict[str, Any]) -> None:
    Path(cache).mkdir(parents=True, exist_ok=True)
    found["format"] = CHOICES_FORMAT
    write_atomic(Path(cache) / CHOICES_FILE, json.dumps(found, indent=1, sort_keys=True) + "\n")
