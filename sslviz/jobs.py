"""The job runner: background training jobs, one per browser session, capped across the whole server.

It knows no method and no page: a job is any ``target(job)`` callable (:mod:`sslviz.recipes` builds them).

Streamlit must not train in the script thread (reruns would interrupt it) and must not call
``st.*`` from other threads. So a job's worker thread only writes to a plain :class:`Job`
object under a lock; the page reads a consistent copy with ``job.view()`` from a polling
fragment. Stopping sets an Event the training loop checks every step.

A process-wide :data:`RUNNER` lets at most ``max_concurrent`` jobs train at once (the
machine has few cores); the rest wait in a queue whose position the page shows. Its watchdog
bounds every job: a wall-clock limit, a server memory limit, and a run nobody looks at any more
(the tab was closed) is stopped. Finished jobs are referenced only by their session's state, so
when Streamlit drops a closed session (``server.disconnectedSessionTTL``) its tensors go too.
"""

from __future__ import annotations

import collections
import threading
import time
import traceback
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

from sslviz import pacing
from sslviz.memory import release_memory, rss_mb
from sslviz.stepgate import StepGate

STATUSES = ("queued", "running", "done", "stopped", "failed")


@dataclass(frozen=True)
class JobView:
    """A consistent copy of a job's state at one instant, safe to render."""

    id: str
    status: str
    message: str
    history: list[dict[str, float]]
    state: dict[str, Any]
    queue_position: int | None
    started: float | None
    finished: float | None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


class StopEvent(threading.Event):
    """A stop flag that also says who stopped the job (the Trainer puts it in its message)."""

    reason = "by the user"


@dataclass(eq=False)  # compared and hashed by identity: the runner keeps weak references to jobs
class Job:
    """State shared between a worker thread (writer) and the page (reader)."""

    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    status: str = "queued"
    message: str = "Waiting for a free trainer..."
    history: list[dict[str, float]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None
    stop_event: StopEvent = field(default_factory=StopEvent)
    gate: StepGate = field(default_factory=StepGate)  # Pause / Resume / Step (a loop that does not use it ignores it)
    last_seen: float = field(default_factory=time.monotonic)  # when a page last rendered it
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _runner: "JobRunner | None" = field(default=None, repr=False)

    def log(self, row: dict[str, float]) -> None:
        """Append one row (e.g. one training step's metrics) to the history."""
        with self._lock:
            self.history.append(dict(row))

    def update(self, message: str | None = None, **state: Any) -> None:
        """Set state entries (and optionally the status message)."""
        with self._lock:
            self.state.update(state)
            if message is not None:
                self.message = message

    def sharing(self) -> int:
        """How many runs train right now in the process that runs this job, this one included (1 outside a runner)."""
        return self._runner.running() if isinstance(self._runner, JobRunner) else 1

    def stop(self, reason: str = "by the user") -> None:
        """Ask the job to stop: a queued job never starts, a running one ends after its current step."""
        if not self.stop_event.is_set():
            self.stop_event.reason = reason
        self.stop_event.set()

    def view(self, watched: bool = True) -> JobView:
        """A consistent copy of the state; calling it also marks the job as watched (a page shows it), unless ``watched=False``."""
        with self._lock:
            if watched:
                self.last_seen = time.monotonic()
            return JobView(
                self.id, self.status, self.message, list(self.history), dict(self.state),
                self._runner.queue_position(self) if self._runner and self.status == "queued" else None,
                self.started, self.finished,
            )

    def _set_status(self, status: str, message: str) -> None:
        with self._lock:
            self.status, self.message = status, message
            if status == "running":
                self.started = time.time()
            elif status in ("done", "stopped", "failed"):
                self.finished = time.time()


MAX_JOB_SECONDS = 900.0  # the longest page job (a 4-way comparison at the 120-s budget) takes ~10 min
MAX_PAUSED_SECONDS = 120.0  # a paused run holds a trainer: it gives it up after this long when others wait
IDLE_SECONDS = 180.0  # an open tab polls every second; Chrome throttles hidden tabs to once a minute
MAX_JOB_MB = 2048.0  # growth of the server's memory while a job runs; the largest page settings peak at ~1.6 GB
MAX_RSS_MB = 6144.0  # the whole server: a guard for the machine


class JobRunner:
    """Runs jobs in daemon threads, at most ``max_concurrent`` at a time, first come first served.

    A watchdog thread checks every ``watch_every`` seconds (see :meth:`check`) that no running
    job exceeds ``max_seconds``, that someone still looks at it (``idle_seconds``), that the
    process has not grown by more than ``max_job_mb`` since the job started (its memory), and
    that the whole process stays under ``max_rss_mb``.
    """

    def __init__(self, max_concurrent: int = 1, max_seconds: float = MAX_JOB_SECONDS, idle_seconds: float = IDLE_SECONDS,
                 max_job_mb: float = MAX_JOB_MB, max_rss_mb: float = MAX_RSS_MB, watch_every: float = 1.0,
                 max_paused_seconds: float = MAX_PAUSED_SECONDS) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {max_concurrent}.")
        if min(max_seconds, idle_seconds, max_job_mb, max_rss_mb, watch_every, max_paused_seconds) <= 0:
            raise ValueError("max_seconds, idle_seconds, max_job_mb, max_rss_mb, watch_every and max_paused_seconds must be positive.")
        self.max_paused_seconds = max_paused_seconds
        self.max_concurrent = max_concurrent
        self.where = "the server"  # who trains the runs, for the page (the Ray backend says "the cluster")
        self.max_seconds, self.idle_seconds, self.max_job_mb, self.max_rss_mb = max_seconds, idle_seconds, max_job_mb, max_rss_mb
        self._slots = threading.Semaphore(max_concurrent)
        self._waiting: list[str] = []
        self._lock = threading.Lock()
        # weak: a job the runner watches is still freed with its session. Job -> (start time, RSS at start).
        self._running_since: weakref.WeakKeyDictionary[Job, tuple[float, float]] = weakref.WeakKeyDictionary()
        self._durations: collections.deque[float] = collections.deque(maxlen=8)  # wall seconds of the last runs that finished
        watchdog = threading.Thread(target=self._watch, args=(weakref.ref(self), watch_every), name="sslviz-watchdog", daemon=True)
        watchdog.start()

    @staticmethod
    def _watch(runner_ref: "weakref.ref[JobRunner]", every: float) -> None:
        while (runner := runner_ref()) is not None:
            runner.check()
            del runner  # hold no reference while sleeping, so an unused runner can be freed
            time.sleep(every)

    def check(self) -> list[Job]:
        """One watchdog pass: stop jobs over their time limit, unwatched, or over the memory limit; return them."""
        now = time.monotonic()
        with self._lock:
            running = sorted(self._running_since.items(), key=lambda item: item[1])
        stopped = []
        for job, (since, _) in running:
            if job.stop_event.is_set():
                continue
            if now - since > self.max_seconds:
                job.stop(f"by the server at its limit of {self.max_seconds:.0f} s per run")
            elif job.gate.held_for() > self.max_paused_seconds and self._waiting:
                job.stop(f"by the server: it was paused for over {self.max_paused_seconds:.0f} s while other runs waited for a trainer")
            elif now - job.last_seen > self.idle_seconds:
                job.stop(f"by the server: no page had shown this run for {self.idle_seconds:.0f} s (tab closed?)")
            else:
                continue
            stopped.append(job)
        rss = rss_mb()
        live = [(job, start_rss) for job, (_, start_rss) in running if not job.stop_event.is_set()]
        if rss is None or not live:
            return stopped
        newest, start_rss = live[-1]  # the run that started last has had the least time to produce results
        if rss - start_rss > self.max_job_mb:
            newest.stop(f"by the server: the server's memory grew by {rss - start_rss:,.0f} MB during this run "
                        f"(limit {self.max_job_mb:,.0f} MB per run) — try a smaller batch or model")
        elif rss > self.max_rss_mb:
            newest.stop(f"by the server: it was using {rss:,.0f} MB of memory (limit {self.max_rss_mb:,.0f} MB) — try a smaller batch or model")
        else:
            return stopped
        return stopped + [newest]

    def running(self) -> int:
        """How many jobs train right now (not counting those waiting in the queue)."""
        with self._lock:
            return len(self._running_since)

    def expected_start(self, job: Job) -> float | None:
        """About how many seconds until the queued ``job`` starts (:func:`sslviz.pacing.expected_start`); None when unknown."""
        position = self.queue_position(job)
        with self._lock:
            recent, elapsed = list(self._durations), [time.monotonic() - since for since, _ in self._running_since.values()]
        return None if position is None else pacing.expected_start(position, self.max_concurrent, recent, elapsed)

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to start, None if the job is not waiting."""
        with self._lock:
            return self._waiting.index(job.id) + 1 if job.id in self._waiting else None

    def submit(self, target: Callable[[Job], str | None], name: str = "job", paused: bool = False) -> Job:
        """Start ``target(job)`` in a background thread once a slot is free; return the job.

        The job ends "done", or "stopped" if it was asked to stop; a target may decide by
        returning "done" or "stopped" (e.g. a stop that came after training had finished).
        ``paused``: its training loop waits at ``job.gate`` before the first step (Step mode).
        """
        job = Job(name=name, gate=StepGate(paused), _runner=self)
        with self._lock:
            self._waiting.append(job.id)
        # Daemon: a job must never keep the server alive; every job has a bounded budget.
        threading.Thread(target=self._run, args=(job, target), name=f"sslviz-{name}-{job.id}", daemon=True).start()
        return job

    def _acquire(self, job: Job) -> bool:
        """Wait for a slot in FIFO order; False if the job was stopped while waiting."""
        while not job.stop_event.is_set():
            with self._lock:
                first = self._waiting[0] == job.id
            if first and self._slots.acquire(timeout=0.1):
                return True
            time.sleep(0.05)
        return False

    def _run(self, job: Job, target: Callable[[Job], str | None]) -> None:
        got_slot = self._acquire(job)
        with self._lock:
            self._waiting.remove(job.id)
        if not got_slot:
            job._set_status("stopped", "Cancelled before it started.")
            return
        try:
            job._set_status("running", "Running...")
            with self._lock:
                self._running_since[job] = (time.monotonic(), rss_mb() or 0.0)
            outcome = target(job)
            if job.status == "running":
                stopped = job.stop_event.is_set() if outcome is None else outcome == "stopped"
                job._set_status("stopped" if stopped else "done", job.message)
        except Exception as err:  # the page shows the message; the server keeps running
            job.update(traceback=traceback.format_exc(), error_type=type(err).__name__)
            # A ValueError carries a message written for the user (a setting out of range, a file that cannot be used);
            # anything else is a bug, said as such.
            job._set_status("failed", str(err) if isinstance(err, ValueError) else
                            f"The run failed unexpectedly ({type(err).__name__}: {err}). Other runs and the app are unaffected.")
        finally:
            with self._lock:
                since = self._running_since.pop(job, None)
                if since is not None and job.status == "done":
                    self._durations.append(time.monotonic() - since[0])
            release_memory()
            self._slots.release()


def run_now(target: Callable[[Job], str | None], name: str) -> Job:
    """Run a job target in this thread (no queue) and return the finished job — for quick work such as loading a checkpoint."""
    job = Job(name)
    job._set_status("running", "Running...")
    try:
        status = target(job)
    except ValueError as err:  # a clear message for the page (e.g. a checkpoint that cannot be used)
        fail(job, str(err))
        return job
    if status is not None:
        job._set_status(status, job.message)
    return job


def copy_finished(job: Job) -> Job:
    """A new finished job with ``job``'s history, state and message (one per browser session; the model object is shared, read-only)."""
    view = job.view()
    twin = Job(job.name, status=view.status, message=view.message, history=list(view.history), state=dict(view.state))
    twin.started, twin.finished = view.started, view.finished
    return twin


def fail(job: Job, message: str) -> None:
    """End ``job`` as failed with a user-facing ``message`` (e.g. a diverged loss)."""
    job._set_status("failed", message)


# Last: the runner is chosen from the environment (sslviz.serving), whose Ray backend imports this module's Job, JobRunner and fail.
from sslviz.serving import make_runner  # noqa: E402

RUNNER = make_runner()  # in-process threads, or a Ray cluster with SSLVIZ_RAY_ADDRESS
