"""How soon does Stop end a run on a Ray cluster? Seconds from ``job.stop()`` on the page's side to the run's "stopped".

    python benchmarks/ray_stop.py [--runs 5]

Starts a one-node local Ray cluster on 127.0.0.1 (``ray.cluster_utils.Cluster``, 2 CPUs; stopped at the end). Each
repetition submits a long steps-budgeted SimCLR run on digits through ``RayRunner`` (as a page does), waits for its
third step, presses Stop and times until the page's job says "stopped" — training ends at the worker's next step; the
evaluation of what it learned comes after and is not counted — and until its results (summary) are back.
Writes the ``ray-stop`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _results import write_section


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.runs <= 20:
        raise SystemExit("--runs must be 1-20")
    os.environ.update({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"})  # loopback only, no usage report
    import ray
    from ray.cluster_utils import Cluster

    from sslviz import jobs, recipes
    from sslviz.jobs_ray import RayRunner

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    runner = None
    try:
        ray.init(address=cluster.address, namespace="sslviz", logging_level="ERROR", log_to_driver=False)
        runner = RayRunner(cluster.address, jobs.MAX_JOB_SECONDS, jobs.IDLE_SECONDS, jobs.MAX_JOB_MB, jobs.MAX_RSS_MB)
        if not runner.wait_connected(60):
            raise SystemExit(runner.problem)
        to_stopped, to_results = [], []
        for i in range(args.runs):
            job = runner.submit(recipes.experiment_job("simclr", "digits", 0, seed=i, device="cpu", few_labels=(),
                                                       train_overrides={"max_steps": 100_000, "max_seconds": None}), name=f"stop{i}")
            while len(job.view().history) < 3:
                time.sleep(0.01)
            t0 = time.perf_counter()
            job.stop()
            while job.view().status == "running" and "summary" not in job.view().state and job.view().message.startswith("Training"):
                time.sleep(0.01)
            to_stopped.append(time.perf_counter() - t0)  # training has ended (the run moved on to evaluating, or ended)
            while job.view().active:
                time.sleep(0.01)
            to_results.append(time.perf_counter() - t0)
            assert job.view().status == "stopped", job.view().message
    finally:
        if runner is not None:
            runner.close()  # its driver threads leave Ray before Ray shuts down
        ray.shutdown()
        cluster.shutdown()
    body = "\n".join([
        "## Stop on a Ray cluster (ray-stop)",
        "",
        f"`benchmarks/ray_stop.py --runs {args.runs}`: a one-node local cluster (2 CPUs, 127.0.0.1), SimCLR on digits through "
        "`RayRunner`, Stop pressed after the third step.",
        "",
        f"- Stop to training ended (the page's message leaves 'Training'): median **{statistics.median(to_stopped):.2f} s**, "
        f"max {max(to_stopped):.2f} s (bar: within 1 s).",
        f"- Stop to the run's results on the page (evaluation of what it learned included): median {statistics.median(to_results):.1f} s, "
        f"max {max(to_results):.1f} s.",
    ])
    print(body)
    if not args.no_write:
        write_section("ray-stop", body)


if __name__ == "__main__":
    main()
