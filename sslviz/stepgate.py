"""Pause, resume and single-step a training loop from another thread: the page's Pause, Resume and Step buttons.

Plain threading, no torch: the job runner gives every job one (``Job.gate``), and the Trainer
(``sslviz.train``, ``gate=``) waits at it before each optimiser step. :class:`RemoteGate` is the page's side of a
gate whose loop runs elsewhere (a Ray worker, ``sslviz.jobs_ray``): it queues each command for the driver to forward.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any


class StepGate:
    """Pause, resume and single-step a training loop from another thread (the page's Pause and Step buttons).

    The training loop calls :meth:`wait` before every optimiser step. While paused it blocks there,
    unless :meth:`step` granted it steps; the seconds it waited are returned so the loop can leave
    them out of its budget. Stopping the job (``stop``) always releases it.
    """

    def __init__(self, paused: bool = False) -> None:
        self._cond = threading.Condition()
        self._paused, self._granted, self._holding = paused, 0, False
        self._held_since: float | None = None  # monotonic time the loop began to wait, while it waits

    @property
    def paused(self) -> bool:
        return self._paused

    def holding(self) -> bool:
        """Whether the next :meth:`wait` would block (paused and no step granted)."""
        with self._cond:
            return self._paused and self._granted == 0

    def held_for(self) -> float:
        """Seconds the loop has been waiting at the gate (0 while it trains)."""
        since = self._held_since
        return 0.0 if since is None else time.monotonic() - since

    def snapshot(self) -> tuple[bool, int, bool, float]:
        """(paused, steps granted, holding at the gate, seconds held): what another process needs to mirror this gate."""
        with self._cond:
            return self._paused, self._granted, self._holding, self.held_for()

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused, self._granted = False, 0
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """Let a paused loop take ``n`` more steps."""
        if n < 1:
            raise ValueError(f"Steps to take must be at least 1, got {n}.")
        with self._cond:
            self._granted += n
            self._cond.notify_all()

    def wait(self, stop: threading.Event) -> float:
        """Block while paused with no step granted (or until ``stop`` is set); return the seconds spent waiting."""
        start = time.perf_counter()
        with self._cond:
            while self._paused and self._granted == 0 and not stop.is_set():
                if not self._holding:
                    self._holding, self._held_since = True, time.monotonic()
                    self._cond.notify_all()
                self._cond.wait(timeout=0.1)  # also wakes for a stop, which does not notify
            self._holding, self._held_since = False, None
            if self._paused and self._granted:
                self._granted -= 1
        return time.perf_counter() - start

    def settled(self, timeout: float) -> bool:
        """Wait until the loop is held at the gate again (its granted steps done); False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._holding and self._granted == 0):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.1))
            return True


class RemoteGate(StepGate):
    """The page's Pause / Resume / Step for a run in a worker: the driver forwards each command and mirrors the worker's gate."""

    def __init__(self, paused: bool = False) -> None:
        super().__init__(paused)
        self.commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def pause(self) -> None:
        with self._cond:
            super().pause()
            self.commands.put(("pause", 0))

    def resume(self) -> None:
        with self._cond:
            super().resume()
            self.commands.put(("resume", 0))

    def step(self, n: int = 1) -> None:
        with self._cond:
            super().step(n)
            self.commands.put(("step", n))

    def drain(self) -> list[tuple[str, Any]]:
        """The commands given since the last call, oldest first."""
        out = []
        while not self.commands.empty():
            out.append(self.commands.get())
        return out

    def mirror(self, paused: bool, granted: int, holding: bool, held_for: float) -> None:
        """Take the worker's gate state (unless a newer command is on its way, which the next poll will reflect)."""
        with self._cond:
            if not self.commands.empty():
                return
            self._paused, self._granted, self._holding = paused, granted, holding
            self._held_since = time.monotonic() - held_for if holding else None
            self._cond.notify_all()
