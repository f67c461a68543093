"""Shared fixtures: small deterministic inputs; tests never download anything."""

import os

import pytest
import torch

# As sslviz.jobs_ray sets it before importing ray (the Ray tests import ray first): no Ray call connects on its own, so
# a runner's driver thread still in a Ray call after a test's ray.shutdown() fails there instead of starting a new Ray.
os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")

# No server warm-up (sslviz.ui.live.warm_up) in the pages and servers the tests start, the browser tests' included: each would
# spend seconds of CPU evaluating baselines in the background. tests/test_evaluate.py tests the warm-up itself.
os.environ["SSLVIZ_WARM_UP"] = "0"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest.ini runs the suite in one process per core (pytest-xdist): each trains on one thread, so
    # two workers on two cores do not fight over them (torch's spinning threads slow everyone down).
    os.environ["SSLVIZ_TORCH_THREADS"] = "1"
    torch.set_num_threads(1)


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto`` (pytest.ini): one worker per core, plus one.

    A quarter of the suite's wall time is waiting, not computing (browser tests wait for pages and for runs with
    a seconds budget; the Ray tests for their cluster), so one extra worker keeps both cores busy. Beside a 2-thread
    neighbour (a loaded CI run) a fourth worker was no faster (1,273 s vs 1,238 s for pytest): every test ran slower
    and the longest one (Barlow Twins' 300-step collapse, 414 s vs 213 s) became the tail.
    """
    return (os.cpu_count() or 1) + 1


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield


@pytest.fixture
def loopback(monkeypatch):
    """Ray on the loopback address only: no node of these tests listens on, or talks to, another address."""
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray's own switch: 127.0.0.1 for every node and driver
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")  # and no usage report sent anywhere
    # Ray starts workers at nice 15, below everything else: right on a node of their own, but these workers share the
    # machine with the other tests (and, in a loaded CI run, a CPU-heavy neighbour that left them about 3% of a core).
    monkeypatch.setenv("RAY_worker_niceness", "0")
