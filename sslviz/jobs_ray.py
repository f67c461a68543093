"""The job runner's Ray backend: each training run in a Ray actor on a cluster, for a whole class at once.

Chosen by ``SSLVIZ_RAY_ADDRESS`` (``auto``, ``ray://host:10001`` or a head node's ``host:port``; see
:func:`sslviz.serving.make_runner`); without it this module is never imported and nothing needs Ray.

The page sees the same :class:`~sslviz.jobs.Job` as with the in-process runner. What differs is who
writes it: a driver thread in the Streamlit process, which

1. waits its turn at the cluster's one queue (:class:`Queue`, a named actor every Streamlit replica
   shares, so the queue position a page shows is the real one and the order is first come, first served);
2. starts a :class:`RunActor` with the resources one run needs (CPUs; a GPU fraction when the run is
   on CUDA, so several small runs share a GPU), which runs the job's target under the same
   :class:`~sslviz.jobs.JobRunner` watchdog as in-process (time, memory, unwatched run), in the worker;
3. polls it every :data:`POLL_SECONDS`: new history rows and the state entries that changed come back,
   Stop / Pause / Step go out, and "the page still shows this run" goes out too (the idle limit).

A worker or node that dies ends only its own runs, with the steps they had and their history so far.
The target travels to the worker with Ray's serialiser (cloudpickle) between the server's own processes;
nothing a user uploads is unpickled: uploads stay bytes until the worker checks them (``sslviz.bundles``).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from typing import Any, Callable

import numpy as np

# Every connection is ray.init's (RayRunner._connect). Ray's auto-connect would let a driver thread's Ray call made just
# after ray.shutdown() connect again, from that thread: to a cluster going down (the process then exits with it) or, with
# none left, to a new local Ray instance (measured: the process exited 60 s later, its GCS gone). Read when ray is imported.
os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
import ray  # noqa: E402

from sslviz import environment
from sslviz.jobs import Job, JobRunner, fail
from sslviz.stepgate import RemoteGate

POLL_SECONDS = 0.2  # a Stop reaches the worker within one poll; the page itself polls every second
QUEUE_POLL_SECONDS = 0.5  # a waiting run asks the queue this often (every waiting run of every replica does)
LOST_AFTER_SECONDS = 60.0  # a worker that answers no poll for this long is taken as lost (Ray itself reports dead ones sooner)
QUEUE_NAME, NAMESPACE = "sslviz-queue", "sslviz"
# A worker imports sslviz.jobs like the server: it must make the in-process runner, not a cluster client of its own
# (a node started from a shell that exports SSLVIZ_RAY_ADDRESS would pass it on to its workers).
WORKER_ENV = {"env_vars": {"SSLVIZ_RAY_ADDRESS": ""}}
TICKET_TTL_SECONDS = 30.0  # a queued or running ticket whose Streamlit replica stopped polling it is dropped


class TicketQueue:
    """The cluster's run queue, one per cluster (a named, detached actor): first come, first served.

    Capacity is the cluster's CPUs divided by the CPUs one run asks for, read again at most once a second,
    so a node that joins or leaves changes it within a second. Tickets carry a heartbeat: a Streamlit replica
    that died stops polling, and its tickets expire instead of holding places forever.
    """

    def __init__(self) -> None:
        self.waiting: dict[str, float] = {}  # ticket -> last heartbeat, in arrival order
        self.running: dict[str, float] = {}
        self.cpus, self.cpus_read = 0.0, -float("inf")

    def capacity(self, cpus_per_run: float) -> int:
        """Runs the cluster trains at once; its CPUs are read at most once a second (every waiting run polls several times a second)."""
        if time.monotonic() - self.cpus_read > 1.0:
            self.cpus, self.cpus_read = ray.cluster_resources().get("CPU", 0.0), time.monotonic()
        return int(self.cpus // cpus_per_run)

    def _expire(self) -> None:
        now = time.monotonic()
        for table in (self.waiting, self.running):
            for ticket in [t for t, beat in table.items() if now - beat > TICKET_TTL_SECONDS]:
                del table[ticket]

    def poll(self, ticket: str, cpus_per_run: float) -> tuple[bool, int | None, int]:
        """(may start now, position in the queue (1 = next), capacity); the first poll of a ticket joins the queue."""
        self._expire()
        now = time.monotonic()
        if ticket in self.running:
            self.running[ticket] = now
            return True, None, self.capacity(cpus_per_run)
        self.waiting[ticket] = now
        capacity = self.capacity(cpus_per_run)
        order = list(self.waiting)
        if order[0] == ticket and len(self.running) < capacity:
            del self.waiting[ticket]
            self.running[ticket] = now
            return True, None, capacity
        return False, order.index(ticket) + 1, capacity

    def release(self, ticket: str) -> None:
        self.waiting.pop(ticket, None)
        self.running.pop(ticket, None)

    def counts(self) -> tuple[int, int]:
        """(waiting, running): for tests and the stress benchmark."""
        self._expire()
        return len(self.waiting), len(self.running)


Queue = ray.remote(num_cpus=0)(TicketQueue)  # the named actor; TicketQueue itself is plain Python (tested as such)


class RunActor:
    """One run in a worker process: the job's target under a one-slot :class:`JobRunner` (the same watchdog as in-process)."""

    def __init__(self, limits: dict[str, float], threads: int) -> None:
        os.environ["SSLVIZ_TORCH_THREADS"] = str(threads)  # the CPUs Ray gave this run, not the node's core count
        self.runner = JobRunner(1, **limits)
        self.job: Job | None = None
        self.sent: dict[str, Any] = {}

    def start(self, target: Callable[[Job], str | None], name: str, paused: bool) -> str:
        """Start the run; return the id of the node it runs on."""
        self.job = self.runner.submit(target, name=name, paused=paused)
        return ray.get_runtime_context().get_node_id()

    def poll(self, rows_seen: int, commands: list[tuple[str, Any]], unseen_for: float) -> dict[str, Any]:
        """:func:`changes` of this worker's run (the driver's poll)."""
        assert self.job is not None, "start() first"
        return changes(self.job, self.sent, rows_seen, commands, unseen_for)


_RunActor = ray.remote(max_concurrency=4, max_restarts=0)(RunActor)  # polls are answered while the run trains
_UNSENT = object()


def changes(job: Job, sent: dict[str, Any], rows_seen: int, commands: list[tuple[str, Any]], unseen_for: float) -> dict[str, Any]:
    """Apply the page's ``commands`` to ``job``, then say what is new: history rows after ``rows_seen``, the state entries not
    in ``sent`` yet (which it records), status, message and the gate's :meth:`~sslviz.stepgate.StepGate.snapshot`.

    ``unseen_for``: seconds since a page last showed the run (the watchdog's idle limit runs where the job runs).
    """
    _apply(job, commands)
    job.last_seen = time.monotonic() - unseen_for
    view = job.view(watched=False)
    changed = {k: v for k, v in view.state.items() if sent.get(k, _UNSENT) is not v}  # entries are replaced, never mutated
    sent.update(changed)
    return {"rows": view.history[rows_seen:], "state": changed, "status": view.status, "message": view.message, "gate": job.gate.snapshot()}


def _apply(job: Job, commands: list[tuple[str, Any]]) -> None:
    """Carry out the page's commands on ``job``: ("stop", reason), ("pause", 0), ("resume", 0), ("step", n)."""
    for command, arg in commands:
        if command == "stop":
            job.stop(str(arg))
        elif command == "step":
            job.gate.step(int(arg))
        elif command in ("pause", "resume"):
            getattr(job.gate, command)()


def writable(value: Any) -> Any:
    """``value`` with every NumPy array in it (through dicts, lists and tuples) writable: Ray hands large arrays back
    read-only (zero-copy from its object store), and the pages may index or scale them as they do a local run's."""
    if isinstance(value, np.ndarray):
        return value if value.flags.writeable else value.copy()
    if isinstance(value, dict):
        return {k: writable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(writable(v) for v in value) if not hasattr(value, "_fields") else type(value)(*(writable(v) for v in value))
    return value


CONNECT_SECONDS = 5.0


def reachable(address: str, timeout: float = CONNECT_SECONDS) -> None:
    """Raise ConnectionError, in words, unless something listens at ``address`` (``ray.init`` itself retries for minutes).

    ``auto`` is the cluster that ``ray start`` recorded on this machine (or RAY_ADDRESS).
    """
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS", "")
        if not address:
            try:
                with open(os.path.join(tempfile.gettempdir(), "ray", "ray_current_cluster")) as f:
                    address = f.read().strip()
            except OSError:
                raise ConnectionError("no Ray cluster was started on this machine (ray start --head)") from None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConnectionError(f"{address!r} is not host:port, ray://host:port or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise ConnectionError(f"nothing answers at {host}:{port} ({err.strerror or err})") from None


class RayRunner:
    """The runner API of :class:`~sslviz.jobs.JobRunner` (``submit``, ``queue_position``, the limits), with runs on a Ray cluster.

    ``address``: what ``ray.init`` takes. Connecting happens in the background (the first page is not held up);
    a cluster that cannot be reached sets :attr:`problem`, a sentence the page shows, and runs then fail with it —
    or, with ``fallback`` (a local :class:`JobRunner`; ``SSLVIZ_RAY_FALLBACK=local``), train in this process instead.
    ``cpus_per_run``: what each run asks Ray for (its torch threads); ``gpu_per_run``: the GPU fraction a CUDA run asks for.
    """

    def __init__(self, address: str, max_seconds: float, idle_seconds: float, max_job_mb: float, max_rss_mb: float,
                 cpus_per_run: float = 1.0, gpu_per_run: float = 0.25, fallback: JobRunner | None = None,
                 max_paused_seconds: float = 120.0) -> None:
        if cpus_per_run <= 0 or not 0 < gpu_per_run <= 1:
            raise ValueError(f"cpus_per_run must be positive and gpu_per_run in (0, 1], got {cpus_per_run} and {gpu_per_run}.")
        self.address, self.cpus_per_run, self.gpu_per_run, self.fallback = address, cpus_per_run, gpu_per_run, fallback
        self.max_seconds, self.idle_seconds, self.max_job_mb, self.max_rss_mb = max_seconds, idle_seconds, max_job_mb, max_rss_mb
        self.limits = {"max_seconds": max_seconds, "idle_seconds": idle_seconds, "max_job_mb": max_job_mb, "max_rss_mb": max_rss_mb,
                       "max_paused_seconds": max_paused_seconds}
        self.problem: str | None = None
        self.where = "the cluster"
        self._capacity = 0
        self._positions: dict[str, int] = {}
        self._queue: Any = None
        self._drivers: list[tuple[threading.Thread, Job]] = []
        self._connected = threading.Event()
        threading.Thread(target=self._connect, name="sslviz-ray-connect", daemon=True).start()

    # -- connection --------------------------------------------------------------------------------------------
    def _connect(self) -> None:
        try:
            if not ray.is_initialized():
                reachable(self.address)
                ray.init(address=self.address, namespace=NAMESPACE, logging_level="ERROR", log_to_driver=False)
            self._queue = Queue.options(name=QUEUE_NAME, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
                                        runtime_env=WORKER_ENV).remote()
            self._capacity = ray.get(self._queue.capacity.remote(self.cpus_per_run), timeout=60)
        except Exception as err:  # any failure to reach the cluster is said on the page, in words
            self.problem = (f"The Ray cluster at SSLVIZ_RAY_ADDRESS={self.address!r} could not be reached ({type(err).__name__}: "
                            f"{str(err).splitlines()[0][:200] if str(err) else 'no detail'}). "
                            + ("Runs train on this server instead (SSLVIZ_RAY_FALLBACK=local)." if self.fallback else
                               "Training is unavailable until it is; the README's 'A whole class at once' says how to start it."))
            environment.report(self.problem)
        finally:
            self._connected.set()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait until connecting has ended (either way); True when connected."""
        self._connected.wait(timeout)
        return self._connected.is_set() and self.problem is None

    @property
    def max_concurrent(self) -> int:
        """How many runs the cluster trains at once (its CPUs over the CPUs a run asks for); 0 until connected."""
        return self._capacity

    def queue_position(self, job: Job) -> int | None:
        """The job's place in the cluster's queue (1 = next); None when it is not waiting."""
        return self._positions.get(job.id)

    def expected_start(self, job: Job) -> float | None:
        """Not estimated on a cluster (the runs ahead may be other replicas'): None, and the page shows the position only."""
        return None

    # -- runs ----------------------------------------------------------------------------------------------------
    def submit(self, target: Callable[[Job], str | None], name: str = "job", paused: bool = False) -> Job:
        """Queue ``target(job)`` on the cluster and return the page's job at once; a driver thread keeps it up to date."""
        job = Job(name=name, gate=RemoteGate(paused), _runner=self)
        self._positions[job.id] = 1
        if self._connected.is_set() and self.problem is None:
            # Join the queue now, from this thread: Ray runs one caller's calls to an actor in the order they were made,
            # so runs submitted one after another queue in that order (the driver thread's first poll may come later).
            self._queue.poll.remote(job.id, self.cpus_per_run)
        driver = threading.Thread(target=self._drive, args=(job, target, paused), name=f"sslviz-ray-{name}-{job.id}", daemon=True)
        self._drivers = [(t, j) for t, j in self._drivers if t.is_alive()] + [(driver, job)]
        driver.start()
        return job

    def close(self, timeout: float = 60.0) -> bool:
        """Stop every run still going and wait up to ``timeout`` s for their driver threads to leave Ray; True if all left.

        Call it before ``ray.shutdown()``: a driver thread still making a Ray call (killing its run's actor, releasing its
        queue ticket — both just after the page sees the run end) while or after Ray shuts down can take the process down.
        """
        drivers = list(self._drivers)
        for _, job in drivers:
            job.stop("the server is shutting down")  # a run that already ended ignores it
        end = time.monotonic() + timeout
        for thread, _ in drivers:
            thread.join(max(0.0, end - time.monotonic()))
        return not any(thread.is_alive() for thread, _ in drivers)

    def _drive(self, job: Job, target: Callable[[Job], str | None], paused: bool) -> None:
        try:
            self._connected.wait()
            if self.problem is not None:
                self._positions.pop(job.id, None)
                if self.fallback is not None:
                    self._run_locally(job, target, paused)
                else:
                    fail(job, self.problem)
                return
            if self._wait_turn(job):
                self._run_remotely(job, target, paused)
        except Exception as err:  # the driver must never take the server down; the page gets the message
            fail(job, f"The run could not be sent to the cluster ({type(err).__name__}: {err}). Other runs and the app are unaffected.")
        finally:
            self._positions.pop(job.id, None)
            try:
                if ray.is_initialized():  # not after ray.shutdown() (see RAY_ENABLE_AUTO_CONNECT above)
                    self._queue.release.remote(job.id)
            except Exception:  # the cluster is gone: its queue went with it
                pass

    def _wait_turn(self, job: Job) -> bool:
        """Poll the cluster's queue until this job may start; False (and the job "stopped") if it was stopped first."""
        while not job.stop_event.is_set():
            go, position, self._capacity = ray.get(self._queue.poll.remote(job.id, self.cpus_per_run), timeout=LOST_AFTER_SECONDS)
            if go:
                self._positions.pop(job.id, None)
                return True
            self._positions[job.id] = position
            time.sleep(QUEUE_POLL_SECONDS)
        job._set_status("stopped", "Cancelled before it started.")
        return False

    def _resources(self, target: Callable[[Job], str | None]) -> dict[str, float]:
        # A target may say its device (recipes do); "auto" trains on a GPU when the worker has one, so it asks for a share.
        cuda = getattr(target, "device", "auto") in ("cuda", "auto") and ray.cluster_resources().get("GPU", 0) > 0
        return {"num_cpus": self.cpus_per_run, **({"num_gpus": self.gpu_per_run} if cuda else {})}

    def _run_remotely(self, job: Job, target: Callable[[Job], str | None], paused: bool) -> None:
        actor = _RunActor.options(**self._resources(target), runtime_env=WORKER_ENV).remote(self.limits, max(1, int(self.cpus_per_run)))
        job._set_status("running", "Starting on the cluster...")
        node = "unknown"
        try:
            started = actor.start.remote(target, job.name, paused)
            # A busy node takes a while to start a worker process (and import torch): wait as long as it takes, but
            # hear a Stop meanwhile. A worker or node that dies raises RayActorError here, as in the polls below.
            while not ray.wait([started], timeout=POLL_SECONDS)[0]:
                if job.stop_event.is_set():
                    job._set_status("stopped", "Stopped before it started on the cluster.")
                    return
            node = ray.get(started)
            job.update(node=node)
            # a slow answer is a lost one
            self._follow(job, lambda *args: ray.get(actor.poll.remote(*args), timeout=LOST_AFTER_SECONDS))
        except ray.exceptions.RayError as err:  # the actor died, its node was lost, or it stopped answering
            steps = int(job.history[-1]["step"]) if job.history and "step" in job.history[-1] else len(job.history)
            fail(job, f"The machine training this run was lost after {steps} steps (node {str(node)[:8]}: "
                      f"{type(err).__name__}). The history so far is kept above; other runs are unaffected — train again to rerun it.")
        finally:
            if ray.is_initialized():  # (see _drive's release)
                ray.kill(actor, no_restart=True)

    def _run_locally(self, job: Job, target: Callable[[Job], str | None], paused: bool) -> None:
        """The fallback: the same target in this process's runner, followed as a worker's run is."""
        assert self.fallback is not None
        local, sent = self.fallback.submit(target, name=job.name, paused=paused), {}
        self._follow(job, lambda *args: changes(local, sent, *args))

    @staticmethod
    def _follow(job: Job, ask: Callable[[int, list[tuple[str, Any]], float], dict[str, Any]]) -> None:
        """Keep the page's ``job`` up to date with the run it stands for until that run ends.

        ``ask(rows_seen, commands, unseen_for)`` returns the run's :func:`changes`; every :data:`POLL_SECONDS` the
        page's Stop / Pause / Resume / Step and "last seen" go out with it, and rows, state and the gate come back.
        """
        while True:
            commands = job.gate.drain() if isinstance(job.gate, RemoteGate) else []
            if job.stop_event.is_set():
                commands.append(("stop", job.stop_event.reason))
            with job._lock:
                rows_seen, unseen_for = len(job.history), time.monotonic() - job.last_seen
            update = ask(rows_seen, commands, unseen_for)
            for row in update["rows"]:
                job.log(row)
            job.update(update["message"], **{k: writable(v) for k, v in update["state"].items()})
            if isinstance(job.gate, RemoteGate):
                job.gate.mirror(*update["gate"])
            if update["status"] not in ("queued", "running"):
                job._set_status(update["status"], update["message"])
                return
            if update["status"] == "running" and job.status == "queued":  # the fallback's run left its local queue
                job._set_status("running", update["message"])
            time.sleep(POLL_SECONDS)

    def cluster_counts(self) -> tuple[int, int]:
        """(runs waiting, runs training) in the cluster's queue, all Streamlit replicas together."""
        return ray.get(self._queue.counts.remote(), timeout=LOST_AFTER_SECONDS)
