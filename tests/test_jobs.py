import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from sslviz.jobs import MAX_JOB_SECONDS, JobRunner
from sslviz.recipes import experiment_job

# Tests wait for what they expect, however loaded the machine; this bound only turns a hang into a failure.
# It is the runner's own watchdog limit: no job may outlive it, whatever the load.
HANG_SECONDS = MAX_JOB_SECONDS


def until(condition, what: str = "the condition") -> None:
    """Poll ``condition()`` until it holds (a job starting, a queue forming)."""
    end = time.monotonic() + HANG_SECONDS
    while not condition():
        assert time.monotonic() < end, f"{what} never happened"
        time.sleep(0.01)


def wait(job, timeout=None):
    """The job's view once it has ended (``timeout`` is accepted for old callers and ignored: no wall-clock limits)."""
    until(lambda: not job.view().active, f"job {job.name} ending")
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
    first = runner.submit(lambda job: release.wait())
    second = runner.submit(lambda job: job.update(ran=True))
    third = runner.submit(lambda job: job.update(ran=True))
    until(lambda: first.view().status == "running", "the first job starting")
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


def spin(job):
    while not job.stop_event.is_set():
        time.sleep(0.01)


def test_watchdog_stops_a_run_nobody_looks_at():
    runner = JobRunner(1, idle_seconds=0.3, watch_every=0.05)
    job = runner.submit(experiment_job("simclr", "digits", seconds=600, train_overrides={"batch_size": 16}, n_embed=20, few_labels=()))
    until(lambda: job.view().status == "running", "the job starting")
    end = time.monotonic() + HANG_SECONDS
    while job.status in ("queued", "running") and time.monotonic() < end:  # no view(): nobody looks at it
        time.sleep(0.05)
    v = job.view()
    assert v.status == "stopped" and "by the server: no page had shown this run for 0 s" in v.message, v.message
    assert v.state["summary"]["seconds"] < 600  # stopped before its budget ran out


def test_a_watched_run_is_not_stopped_for_idleness():
    runner = JobRunner(1, idle_seconds=5, watch_every=3600)  # the test runs the watchdog's passes itself
    job = runner.submit(spin)
    until(lambda: job.view().status == "running", "the job starting")
    for _ in range(3):
        job.view()  # the page polls it
        assert runner.check() == [] and job.view().status == "running"
    job.last_seen -= 6  # no page has shown it for 6 s
    assert runner.check() == [job] and "no page had shown this run for 5 s" in job.stop_event.reason
    job.stop_event.clear()
    job.stop()
    assert wait(job).status == "stopped" and job.stop_event.reason.startswith("by the")


def test_watchdog_time_and_memory_limits():
    timed = JobRunner(1, max_seconds=0.2, watch_every=0.05).submit(spin)
    assert wait(timed, 5).status == "stopped" and timed.stop_event.reason == "by the server at its limit of 0 s per run"
    runner = JobRunner(2, max_rss_mb=1, watch_every=60)  # any process uses more than 1 MB
    old = runner.submit(spin)
    until(lambda: old.view().status == "running", "the first job starting")
    new = runner.submit(spin)
    until(lambda: new.view().status == "running", "the second job starting")
    assert runner.check() == [new]  # the newest run goes first
    assert "limit 1 MB" in new.stop_event.reason and not old.stop_event.is_set()
    assert runner.check() == [old]
    assert wait(new).status == wait(old).status == "stopped"


def test_a_dropped_session_frees_its_finished_job():
    import gc
    import weakref

    runner = JobRunner(1, watch_every=0.05)
    job = runner.submit(experiment_job("simclr", "digits", seconds=1, train_overrides={"batch_size": 16, "max_steps": 2}, n_embed=20, few_labels=()))
    assert wait(job, 120).status == "done" and "model" in job.view().state
    ref = weakref.ref(job)
    model_ref = weakref.ref(job.view().state["model"])
    del job  # what Streamlit does when it drops a closed session's state
    time.sleep(0.2)
    gc.collect()
    assert ref() is None and model_ref() is None


def test_watchdog_bounds_the_memory_one_run_adds():
    def hog(job):
        block = torch.ones(64, 2**20)  # 256 MB
        block.add_(1)  # touch every page, so it is resident
        spin(job)

    runner = JobRunner(1, max_job_mb=100, watch_every=0.05)
    job = runner.submit(hog)
    assert wait(job, 10).status == "stopped"
    assert "memory grew by" in job.stop_event.reason and "limit 100 MB per run" in job.stop_event.reason
    calm = JobRunner(1, max_job_mb=100, watch_every=0.05).submit(spin)
    time.sleep(0.5)
    assert calm.view().status == "running"  # a run that adds nothing is left alone
    calm.stop()
    wait(calm)


@pytest.mark.parametrize("raw, integer, expected", [("four", True, 3), ("-5", False, 3), ("nan", False, 3), ("2.5", True, 3), ("1e9", True, 3), ("7", True, 7), ("", False, 3)])
def test_a_bad_environment_value_is_reported_not_silently_dropped(raw, integer, expected, monkeypatch, caplog):
    from sslviz import environment

    monkeypatch.setenv("SSLVIZ_TEST_LIMIT", raw)
    monkeypatch.setattr(environment, "PROBLEMS", [])
    with caplog.at_level("WARNING", logger="sslviz"):
        assert environment.number("SSLVIZ_TEST_LIMIT", 3, integer=integer, high=1000) == expected
    refused = expected == 3 and raw != ""
    assert bool(environment.PROBLEMS) == refused and (f"SSLVIZ_TEST_LIMIT={raw!r}" in caplog.text) == refused
    if refused:
        assert "using the default 3" in environment.PROBLEMS[0]


@pytest.mark.parametrize("raw, expected, refused", [("0", False, False), ("OFF", False, False), (" yes ", True, False), ("", True, False),
                                                    ("2", True, True), ("nope", True, True)])
def test_a_switch_is_on_or_off_and_anything_else_is_reported(raw, expected, refused, monkeypatch):
    from sslviz import environment

    monkeypatch.setenv("SSLVIZ_TEST_SWITCH", raw)
    monkeypatch.setattr(environment, "PROBLEMS", [])
    assert environment.switch("SSLVIZ_TEST_SWITCH", True) is expected
    assert bool(environment.PROBLEMS) == refused
    if refused:
        assert f"SSLVIZ_TEST_SWITCH={raw!r}" in environment.PROBLEMS[0] and "using the default (on)" in environment.PROBLEMS[0]


def test_the_sidebar_shows_the_limits_and_the_refused_environment_values(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from sslviz import environment

    monkeypatch.setattr(environment, "PROBLEMS", ["SSLVIZ_MAX_JOBS='four' is not a positive whole number up to 256; using the default 1."])
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=600).run()
    assert not at.exception
    assert any("SSLVIZ_MAX_JOBS='four'" in w.value for w in at.sidebar.warning)
    assert any("run(s) train at a time" in c.value for c in at.sidebar.caption)


def test_evaluation_shows_its_phases_and_the_bar_keeps_moving_after_training(monkeypatch):
    from sslviz import experiment
    from sslviz.jobs import Job

    experiment.RAW_PIXELS.clear()
    experiment.RANDOM_INIT.clear()
    seen: list[tuple[str | None, float | None]] = []
    original = Job.update

    def recording(self, message=None, **state):
        seen.append((message, state.get("progress")))
        original(self, message, **state)

    monkeypatch.setattr(Job, "update", recording)
    job = JobRunner(1).submit(experiment_job("simclr", "digits", seconds=60, method_overrides={"width": 4},
                                             train_overrides={"batch_size": 16, "max_steps": 3}, n_embed=20, few_labels=()))
    assert wait(job).status == "done"
    messages = [m for m, _ in seen if m]
    for phase in ("Evaluating the trained encoder", "Evaluating the raw-pixel baseline", "Evaluating the random-init baseline"):
        assert any(m.startswith(phase) for m in messages), f"no {phase!r} among {messages}"
    after_training = [p for m, p in seen if p is not None][-6:]
    assert after_training == sorted(after_training) and after_training[-1] == 1.0
    assert len(set(after_training)) >= 4  # each evaluation phase moved the bar: it does not sit at 100% while evaluating


def test_the_server_caps_malloc_arenas_unless_the_operator_chose_a_number(monkeypatch):
    import platform

    from sslviz import memory

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_malloc_arenas() is False  # the operator's MALLOC_ARENA_MAX stands
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert memory.limit_malloc_arenas() is (platform.libc_ver()[0] == "glibc")  # glibc's mallopt accepted the cap


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is a Linux feature")
def test_background_work_runs_at_a_lower_priority_than_the_runs():
    """The server's warm-up lowers its own thread's priority (and its torch threads'), not the process's: runs keep theirs."""
    import os

    from sslviz import serving

    seen = {}

    def background():
        seen["lowered"] = serving.lower_thread_priority()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert seen["lowered"] and seen["nice"] == min(19, before + serving.BACKGROUND_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # this thread, like a run's, unchanged
