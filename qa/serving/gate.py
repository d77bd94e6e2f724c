"""Overload control: at most ``limit`` model calls at once, at most ``waiting`` more in line; past
that a request is turned away at once (HTTP 429 with Retry-After) instead of queueing without end.

    gate = Gate.for_machine()
    answer = await gate.run(qa.answer, question)       # the API (asyncio); Busy / TimedOut past the bounds
    with gate.slot(timeout=5):                         # the page (a worker thread)
        answer = qa.answer(question)

Waiters are served first come, first served, whether they wait in the event loop or in a thread.
A call that outlives ``seconds`` is answered 503 (TimedOut) while it finishes in its thread; its
slot is free only when it has (the model is still busy until then).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
WAITING_PER_SLOT = 8


class Busy(Exception):
    """Every slot is taken and the line is full (or the wait ran out): come back in ``retry_after`` s."""

    def __init__(self, retry_after: int, message: str = "the server is busy answering other questions"):
        super().__init__(message)
        self.retry_after = retry_after


class TimedOut(Busy):
    """The request waited and ran past its time limit."""


class _Waiter:
    """One request in line: woken (given a slot) by whoever frees one."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None):
        self.loop = loop
        self.future: asyncio.Future[None] | None = loop.create_future() if loop else None
        self.event = None if loop else threading.Event()
        self.granted = False

    def wake(self) -> None:
        self.granted = True
        if self.future is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(_resolve, self.future)
        elif self.event is not None:
            self.event.set()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def machine_slots() -> int:
    """Model calls at once for this machine: one per two cores, at least two. Each call spreads over
    the cores (intra-op threads), but spends part of its time in Python (tokenizing, retrieval,
    composing), when a second call keeps the cores busy: on 2 cores, 200 clients, two calls at once
    answered 13.4 questions/s (p95 2.0 s) against 10.6 (p95 4.5 s) for one (docs/serving.md)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(2, cores // 2)


class Gate:
    """A bounded number of model calls at once, and a bounded line for them."""

    def __init__(self, limit: int, waiting: int, seconds: float = 30.0):
        if limit < 1 or waiting < 0:
            raise ValueError("a gate needs at least one slot and a line of zero or more")
        self.limit, self.waiting, self.seconds = limit, waiting, seconds
        self._lock = threading.Lock()
        self._running = 0
        self._line: deque[_Waiter] = deque()
        self.turned_away = 0  # requests answered Busy, since the start
        self.timed_out = 0
        self._recent = deque(maxlen=32)  # seconds of recent calls: what Retry-After says

    @classmethod
    def for_machine(cls, limit: int = 0, waiting: int = 0, seconds: float = 30.0) -> Gate:
        """A gate sized to this machine where ``limit``/``waiting`` are 0 (``Settings.max_concurrent`` ...)."""
        limit = limit or machine_slots()
        return cls(limit, waiting or WAITING_PER_SLOT * limit, seconds)

    @property
    def running(self) -> int:
        return self._running

    @property
    def queued(self) -> int:
        return len(self._line)

    def retry_after(self) -> int:
        """Seconds until a slot is likely free for a newcomer: the line ahead at the recent pace."""
        pace = sorted(self._recent)[len(self._recent) // 2] if self._recent else 1.0
        return max(1, min(60, round(pace * (1 + len(self._line)) / self.limit + 0.5)))

    def _enter(self, loop: asyncio.AbstractEventLoop | None) -> _Waiter | None:
        """A slot now (None), a place in line (the waiter), or Busy."""
        with self._lock:
            if self._running < self.limit and not self._line:
                self._running += 1
                return None
            if len(self._line) >= self.waiting:
                self.turned_away += 1
                raise Busy(self.retry_after())
            waiter = _Waiter(loop)
            self._line.append(waiter)
            return waiter

    def _leave_line(self, waiter: _Waiter) -> bool:
        """Give up a place in line; False if a slot was granted meanwhile (then it must be released)."""
        with self._lock:
            if waiter.granted:
                return False
            self._line.remove(waiter)
            return True

    def release(self, seconds: float | None = None) -> None:
        """Free a slot (handing it to the first in line)."""
        with self._lock:
            if seconds is not None:
                self._recent.append(seconds)
            if self._line:
                self._line.popleft().wake()  # the slot passes on: _running stays
            else:
                self._running -= 1

    @contextmanager
    def slot(self, timeout: float | None = None) -> Iterator[None]:
        """Hold a slot in this thread; Busy when the line is full or none came within ``timeout`` s."""
        waiter = self._enter(None)
        if waiter is not None:
            assert waiter.event is not None
            if not waiter.event.wait(self.seconds if timeout is None else timeout) and self._leave_line(waiter):
                with self._lock:
                    self.turned_away += 1
                raise Busy(self.retry_after())
        began = time.monotonic()
        try:
            yield
        finally:
            self.release(time.monotonic() - began)

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func(*args, **kwargs)`` in a worker thread once a slot is free; Busy when the line is full,
        TimedOut when waiting and running take over ``seconds`` (the call then finishes on its own)."""
        from starlette.concurrency import run_in_threadpool

        deadline = time.monotonic() + self.seconds
        waiter = self._enter(asyncio.get_running_loop())
        if waiter is not None:
            assert waiter.future is not None
            try:
                await asyncio.wait_for(asyncio.shield(waiter.future), self.seconds)
            except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
                if not self._leave_line(waiter):
                    self.release()  # granted at the last moment: the slot is ours to give back
                if isinstance(exc, asyncio.CancelledError):
                    raise
                self.timed_out += 1
                raise TimedOut(self.retry_after(), "the question waited too long for a free model") from None
        began = time.monotonic()
        task = asyncio.ensure_future(run_in_threadpool(func, *args, **kwargs))

        def done(finished: asyncio.Future[Any]) -> None:
            self.release(time.monotonic() - began)
            if not finished.cancelled():
                finished.exception()  # retrieved: a call that timed out and then failed logs nothing twice

        task.add_done_callback(done)
        try:
            return await asyncio.wait_for(asyncio.shield(task), max(0.0, deadline - time.monotonic()) or 0.001)
        except asyncio.TimeoutError:
            self.timed_out += 1
            raise TimedOut(self.retry_after(), f"no answer within {self.seconds:.0f} s") from None
