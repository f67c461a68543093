"""The server's job runner, chosen from the environment: in-process threads by default, a Ray cluster with SSLVIZ_RAY_ADDRESS.

``sslviz.jobs`` makes its ``RUNNER`` with :func:`make_runner`; the limits it reads are the SSLVIZ_* variables
the README lists (a bad value is reported, see :mod:`sslviz.environment`).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from sslviz import environment, jobs
from sslviz.jobs import IDLE_SECONDS, MAX_JOB_MB, MAX_JOB_SECONDS, MAX_RSS_MB, JobRunner

RAY_DATA_CACHE_MB = 64  # this process's data cache (sslviz.data.cache) when runs go to a cluster: one shapes seed's train and test


def default_max_concurrent() -> int:
    """SSLVIZ_MAX_JOBS if set (a bad value is reported, see sslviz.environment), else one training job per two cores (at least one)."""
    return int(environment.number("SSLVIZ_MAX_JOBS", max(1, (os.cpu_count() or 1) // 2), integer=True, high=256))


def make_runner() -> Any:
    """The server's runner, from the environment: in-process threads by default; a Ray cluster with SSLVIZ_RAY_ADDRESS.

    Without SSLVIZ_RAY_ADDRESS, Ray is not imported (a laptop needs none of it). With it, runs go to the cluster
    (:mod:`sslviz.jobs_ray`); SSLVIZ_RAY_FALLBACK=local trains on this server when the cluster cannot be reached,
    and SSLVIZ_RAY_CPUS_PER_RUN / SSLVIZ_RAY_GPUS_PER_RUN say what one run asks the cluster for (1 CPU; a quarter GPU).
    """
    limits = {"max_seconds": environment.number("SSLVIZ_MAX_JOB_SECONDS", MAX_JOB_SECONDS),
              "idle_seconds": environment.number("SSLVIZ_IDLE_SECONDS", IDLE_SECONDS),
              "max_job_mb": environment.number("SSLVIZ_MAX_JOB_MB", MAX_JOB_MB), "max_rss_mb": environment.number("SSLVIZ_MAX_RSS_MB", MAX_RSS_MB)}
    address = os.environ.get("SSLVIZ_RAY_ADDRESS", "").strip()
    if not address:
        return JobRunner(default_max_concurrent(), **limits)
    fallback = os.environ.get("SSLVIZ_RAY_FALLBACK", "").strip().lower()
    if fallback not in ("", "local", "none"):
        environment.report(f"SSLVIZ_RAY_FALLBACK={fallback[:40]!r} is neither 'local' nor 'none'; using 'none' (runs fail while the cluster is unreachable).")
    from sslviz.data import cache  # only here: sslviz.jobs imports this module and must not import torch
    from sslviz.jobs_ray import RayRunner  # only here: the default install has no Ray

    if not os.environ.get("SSLVIZ_DATA_CACHE_MB"):  # the runs load their data on the cluster: this process only draws pages
        cache.BUDGET_MB = RAY_DATA_CACHE_MB

    return RayRunner(address, cpus_per_run=environment.number("SSLVIZ_RAY_CPUS_PER_RUN", 1.0, high=1024),
                     gpu_per_run=environment.number("SSLVIZ_RAY_GPUS_PER_RUN", 0.25, high=1.0),
                     fallback=JobRunner(default_max_concurrent(), **limits) if fallback == "local" else None, **limits)


def runs_at_once() -> int:
    """How many runs this process trains at once (the in-process runner's limit; 1 where runs go to a cluster),
    so that each run's torch threads times the runs never exceed the cores (``sslviz.train.app_threads``)."""
    return jobs.RUNNER.max_concurrent if isinstance(jobs.RUNNER, JobRunner) else 1


def threads_per_run() -> int:
    """Torch threads for each run this process trains: :func:`sslviz.train.app_threads` shared among :func:`runs_at_once`."""
    # imported here, not at the top: sslviz.jobs imports this module and must not import torch
    from sslviz.train import app_threads

    return app_threads(runs_at_once())


BACKGROUND_NICE = 10  # added to a background thread's nice value: it gets the cores only when no run wants them


def lower_thread_priority(by: int = BACKGROUND_NICE) -> bool:
    """Lower the calling thread's CPU priority (and that of the threads it starts, e.g. torch's OpenMP team).

    For work done ahead that a user's run must not wait behind (the server's warm-up): under contention
    the kernel gives the cores to the run. Linux only (there a thread's nice value is its own); elsewhere
    a no-op that returns False.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
    except OSError:
        return False
    return True
