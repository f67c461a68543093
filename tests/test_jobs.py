import threading
import time

import pytest

from sslviz.jobs import JobRunner, experiment_job


def wait(job, timeout=30.0):
    end = time.time() + timeout
    while job.view().active and time.time() < end:
        time.sleep(0.02)
    assert not job.view().active, "job did not finish in time"
    return job.view()


def test_job_runs_logs_and_finishes():
    def target(job):
        for i in range(3):
            job.log({"step": i + 1})
        job.update(message="all good", answer=42)

    v = wait(JobRunner(1).submit(target))
    assert v.status == "done" and v.state["answer"] == 42 and [r["step"] for r in v.history] == [1, 2, 3] and v.message == "all good"


def test_failure_is_reported_not_raised():
    def target(job):
        raise RuntimeError("boom")

    v = wait(JobRunner(1).submit(target))
    assert v.status == "failed" and "RuntimeError: boom" in v.message


def test_cap_queues_and_cancel_before_start():
    runner = JobRunner(1)
    release = threading.Event()
    first = runner.submit(lambda job: release.wait(5))
    second = runner.submit(lambda job: job.update(ran=True))
    third = runner.submit(lambda job: job.update(ran=True))
    time.sleep(0.3)
    assert first.view().status == "running"
    assert second.view().queue_position == 1 and third.view().queue_position == 2
    third.stop()
    release.set()
    assert wait(second).state.get("ran") and wait(first).status == "done"
    v = wait(third)
    assert v.status == "stopped" and "ran" not in v.state


def test_stop_running_job():
    def target(job):
        while not job.stop_event.is_set():
            time.sleep(0.01)

    job = JobRunner(1).submit(target)
    time.sleep(0.1)
    job.stop()
    assert wait(job, 5).status == "stopped"


def test_two_sessions_training_do_not_share_state():
    runner = JobRunner(2)
    a = runner.submit(experiment_job("simclr", "digits", seconds=2, seed=0, train_overrides={"batch_size": 32, "max_steps": 3}, n_embed=50))
    b = runner.submit(experiment_job("simclr", "digits", seconds=2, seed=1, train_overrides={"batch_size": 32, "max_steps": 4}, n_embed=50))
    va, vb = wait(a, 120), wait(b, 120)
    assert va.status == vb.status == "done", (va.message, vb.message)
    assert va.state["summary"]["seed"] == 0 and vb.state["summary"]["seed"] == 1
    assert len(va.history) == 3 and len(vb.history) == 4
    assert va.state["embedding"].shape == (50, 2) and va.state["snapshot"]["view1"].shape[1] == 1
    assert va.history is not vb.history and va.state["snapshot"] is not vb.state["snapshot"]
    assert 0 <= va.state["summary"]["knn_acc"] <= 1


def test_diverging_experiment_job_fails_with_message():
    job = JobRunner(1).submit(experiment_job("simclr", "digits", seconds=5, train_overrides={"lr": 1e12, "batch_size": 64, "max_steps": 30}, n_embed=20))
    v = wait(job, 60)
    assert v.status == "failed" and "diverged" in v.message and "summary" not in v.state


def test_runner_validates():
    with pytest.raises(ValueError):
        JobRunner(0)
