"""The Ray backend of the job runner (issue 21): runs on a real local Ray cluster, started and stopped here on 127.0.0.1.

Every budget is in steps; the only waits are hang guards at the watchdog's own limit.
"""

import os
import subprocess
import sys
import threading

import pytest

ray = pytest.importorskip("ray", reason="the Ray backend's tests need ray (requirements-dev.txt)")
from ray.cluster_utils import Cluster  # noqa: E402
from test_pages import HANG_SECONDS, evaluate_the_reused_encoder, open_page, until, wait_for_job  # noqa: E402

from sslviz import bundles, jobs, recipes  # noqa: E402
from sslviz.jobs import JobRunner  # noqa: E402
from sslviz.jobs_ray import RayRunner  # noqa: E402

LIMITS = {"max_seconds": jobs.MAX_JOB_SECONDS, "idle_seconds": jobs.IDLE_SECONDS, "max_job_mb": jobs.MAX_JOB_MB, "max_rss_mb": jobs.MAX_RSS_MB}


RUNNERS: list[RayRunner] = []  # the runners connect() made, closed by shut_down()


def connect(cluster: Cluster, **kwargs) -> RayRunner:
    """This test process as the cluster's driver (as a Streamlit server is), and a runner on it."""
    ray.init(address=cluster.address, namespace="sslviz", logging_level="ERROR", log_to_driver=False)
    runner = RayRunner(cluster.address, **{**LIMITS, **kwargs})
    RUNNERS.append(runner)
    assert runner.wait_connected(HANG_SECONDS), runner.problem
    return runner


def shut_down(cluster: Cluster) -> None:
    """Close the runners first (their driver threads leave Ray: one still making Ray calls during or after ray.shutdown()
    can take this pytest worker down — the likely cause of a worker crash in CI), then Ray and the cluster."""
    try:
        while RUNNERS:
            assert RUNNERS.pop().close(HANG_SECONDS), "a driver thread did not leave Ray"
    finally:
        ray.shutdown()
        cluster.shutdown()


def trains(job, steps: int = 2) -> bool:
    """Whether ``job`` has trained ``steps`` steps on a node; a failed run fails the test at once, with its message."""
    view = job.view()
    assert view.status != "failed", view.message
    return "node" in view.state and len(view.history) >= steps


def steps_run(method: str = "simclr", steps: int = 12, **opts):
    """The Contrastive page's live run, budgeted in steps (the same run on any backend)."""
    return recipes.experiment_job(method, "digits", 0, seed=0, device="cpu", few_labels=(), embed_every=0.0,
                                  train_overrides={"max_steps": steps, "max_seconds": None}, **opts)


def test_without_the_setting_ray_is_not_imported_and_the_runner_is_in_process():
    code = ("import sys, os; os.environ.pop('SSLVIZ_RAY_ADDRESS', None); from sslviz import jobs; "
            "print(type(jobs.RUNNER).__name__, 'ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "SSLVIZ_RAY_ADDRESS": ""})
    assert out.stdout.split() == ["JobRunner", "False"]


def test_an_unreachable_cluster_is_said_on_the_page_and_runs_fail_with_it_or_train_locally(loopback, monkeypatch):
    from sslviz import environment

    # the problems these runners report go to a list of this test's own: left in the process-wide one, every later
    # page test in this pytest worker would show them in its sidebar
    monkeypatch.setattr(environment, "PROBLEMS", [])
    runner = RayRunner("127.0.0.1:1", **LIMITS)  # nothing listens on port 1
    assert not runner.wait_connected(HANG_SECONDS)
    assert "could not be reached" in runner.problem and "SSLVIZ_RAY_ADDRESS='127.0.0.1:1'" in runner.problem
    job = runner.submit(lambda job: None, name="x")
    until(lambda: not job.view().active, "the run ends")
    assert job.view().status == "failed" and job.view().message == runner.problem
    local = RayRunner("127.0.0.1:1", **LIMITS, fallback=JobRunner(1))
    job = local.submit(lambda job: job.log({"step": 1.0}), name="y")
    until(lambda: not job.view().active, "the local run ends")
    assert job.view().status == "done" and job.view().history == [{"step": 1.0}] and "train on this server instead" in local.problem
    assert environment.PROBLEMS == [runner.problem, local.problem]  # said on the page: the sidebar's "Server limits" lists these
    # the server's own runner, as the app makes it from the environment
    code = ("from sslviz import environment, jobs; from sslviz.data import cache; r = jobs.RUNNER; r.wait_connected(60); "
            "print(type(r).__name__, r.problem in environment.PROBLEMS, type(r.fallback).__name__, cache.BUDGET_MB)")
    env = {**os.environ, "SSLVIZ_RAY_ADDRESS": "127.0.0.1:1", "SSLVIZ_RAY_FALLBACK": "local"}
    env.pop("SSLVIZ_DATA_CACHE_MB", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    # the page process keeps a smaller data cache when the runs (and their data) are on the cluster
    assert out.stdout.split() == ["RayRunner", "True", "JobRunner", "64"], out.stderr[-2000:]


@pytest.fixture
def one_node(loopback):
    """A one-node cluster with 2 CPUs (as `ray start --head --num-cpus=2` makes), and a runner connected to it."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    try:
        yield cluster, connect(cluster)
    finally:
        shut_down(cluster)


def test_a_run_on_the_cluster_gives_the_same_results_as_in_process_and_a_stop_reaches_it(one_node):
    _, runner = one_node
    assert runner.max_concurrent == 2  # 2 CPUs, one per run
    remote = runner.submit(steps_run(), name="contrastive")
    local = JobRunner(1).submit(steps_run(), name="contrastive")
    until(lambda: not remote.view().active and not local.view().active, "both runs finish")
    r, l_ = remote.view(), local.view()
    assert r.status == l_.status == "done", (r.message, l_.message)
    assert [row["loss"] for row in r.history] == [row["loss"] for row in l_.history] and len(r.history) == 12
    for key in ("probe_acc", "knn_acc", "random_init_probe_acc", "raw_pixel_knn_acc"):
        assert r.state["summary"][key] == l_.state["summary"][key], key
    assert r.state["node"] and type(r.state["model"]).__name__ == type(l_.state["model"]).__name__  # the model came back
    # Stop: a long run ends "stopped", a step or two after the Stop reached the worker
    long = runner.submit(steps_run(steps=100_000), name="contrastive")
    until(lambda: len(long.view().history) >= 3, "the long run trains")
    long.stop()
    until(lambda: not long.view().active, "the stopped run ends")
    assert long.view().status == "stopped" and len(long.view().history) < 100_000
    # close() (called before ray.shutdown()): a run still training is stopped and its driver thread has left Ray
    last = runner.submit(steps_run(steps=100_000), name="contrastive")
    until(lambda: trains(last, 3), "the last run trains")
    drivers = [t for t in threading.enumerate() if t.name.startswith("sslviz-ray-contrastive-")]
    assert runner.close(HANG_SECONDS) and not any(t.is_alive() for t in drivers) and drivers
    assert last.view().status == "stopped" and "shutting down" in last.view().message, last.view().message


def test_the_contrastive_page_trains_through_the_cluster_with_live_charts_and_step_and_stop(one_node, monkeypatch):
    _, runner = one_node
    monkeypatch.setattr(jobs, "RUNNER", runner)
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "digits", "global.seconds": 120})
    at.button(key="contrastive.step_start").click().run()  # paused on the cluster; Step advances it one step at a time
    job = at.session_state["contrastive.job"]
    assert isinstance(job._runner, RayRunner)
    until(lambda: job.gate.settled(0.1) and len(job.view().history) == 1, "the first step on the cluster")
    at.run()
    at.button(key="contrastive.step").click().run()
    until(lambda: job.gate.settled(0.1) and len(job.view().history) == 2, "the second step")
    at.button(key="contrastive.pause").click().run()  # Resume: live charts follow it
    until(lambda: len(job.view().history) >= 6 and "embedding" in job.view().state, "the run trains on, with its embedding")
    seen = len(job.view().history)
    until(lambda: len(job.view().history) > seen + 2, "more steps arrive while it runs")
    at.run()
    assert not at.exception
    at.button(key="contrastive.stop").click().run()
    wait_for_job(at)
    view = job.view()
    assert view.status == "stopped" and "summary" in view.state and [int(r["step"]) for r in view.history] == list(range(1, len(view.history) + 1))
    # what came back serves every view: the page offers the export, and the bundle it builds imports again
    assert any(b.proto.id.endswith("contrastive.export") or "contrastive.export" in str(b.proto) for b in at.get("download_button"))
    blob = bundles.export(bundles.from_record(view.state["summary"], view.state["model"], view.history, view.state["summary"]["message"]))
    back = bundles.restore(blob, "run-from-the-cluster.zip", "simclr")
    assert back.method_name == "simclr" and len(back.result.history) == len(view.history)
    # ... and the Downstream page reuses the encoder that came back, evaluating it on the cluster too
    evaluate_the_reused_encoder(at)
    assert isinstance(at.session_state["down.job"]._runner, RayRunner)


def test_the_cluster_queue_is_first_come_first_served_follows_capacity_and_drops_tickets_nobody_polls(monkeypatch):
    from sslviz import jobs_ray

    clock = [0.0]
    monkeypatch.setattr(jobs_ray.time, "monotonic", lambda: clock[0])
    cpus = [2.0]
    monkeypatch.setattr(jobs_ray.ray, "cluster_resources", lambda: {"CPU": cpus[0]})
    q = jobs_ray.TicketQueue()
    assert [q.poll(t, 1.0)[:2] for t in "abcd"] == [(True, None), (True, None), (False, 1), (False, 2)]
    assert q.poll("d", 1.0)[:2] == (False, 2)  # d may not overtake c
    q.release("a")
    assert q.poll("d", 1.0)[:2] == (False, 2) and q.poll("c", 1.0)[:2] == (True, None) and q.poll("d", 1.0)[:2] == (False, 1)
    cpus[0], clock[0] = 3.0, 2.0  # a node joined: capacity is read again (at most once a second)
    assert q.poll("d", 1.0) == (True, None, 3)
    assert q.poll("e", 2.0)[:2] == (False, 1)  # a run of 2 CPUs: 3 CPUs hold one such run, and three runs train already
    clock[0] += jobs_ray.TICKET_TTL_SECONDS + 1  # every replica stopped polling: their tickets expire and free the places
    assert q.counts() == (0, 0)


def test_a_run_asks_for_a_gpu_fraction_only_on_a_cluster_with_gpus_and_when_it_may_use_cuda(monkeypatch):
    from sslviz import jobs_ray

    runner = object.__new__(RayRunner)  # only the resource request is under test: no cluster needed
    runner.cpus_per_run, runner.gpu_per_run = 1.0, 0.25
    on = lambda device: type("Target", (), {"device": device, "__call__": lambda self, job: None})()  # noqa: E731
    gpus = [1.0]
    monkeypatch.setattr(jobs_ray.ray, "cluster_resources", lambda: {"CPU": 8.0, "GPU": gpus[0]})
    assert runner._resources(on("cuda")) == runner._resources(on("auto")) == {"num_cpus": 1.0, "num_gpus": 0.25}  # 4 runs share a GPU
    assert runner._resources(on("cpu")) == {"num_cpus": 1.0}  # a run the page pins to the CPU asks for none
    gpus[0] = 0.0
    assert runner._resources(on("cuda")) == runner._resources(on("auto")) == {"num_cpus": 1.0}  # no GPU in the cluster
