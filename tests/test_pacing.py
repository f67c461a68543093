"""Promised steps (issue 21): a run beside others trains the steps its seconds buy on an idle server, and says it was stretched.

The seconds budget runs on a simulated clock (``train.clock``): a "busy" server is a clock that advances faster per read.
"""

import re
import threading

import pytest
from test_train import SimulatedClock

from sslviz import experiment, jobs, pacing, train


@pytest.fixture(autouse=True)
def no_rates(monkeypatch):
    monkeypatch.setattr(pacing, "IDLE_RATES", {})


def test_rates_keep_the_fastest_alone_run_and_promise_what_the_seconds_buy():
    pacing.record("k", 4, 1.0)  # too few steps to say anything
    assert pacing.promised_steps("k", 10) is None
    pacing.record("k", 50, 10.0)
    pacing.record("k", 30, 10.0)  # a slower run (a busy machine) does not lower the idle rate
    assert pacing.IDLE_RATES["k"] == 5.0 and pacing.promised_steps("k", 30) == 150
    assert pacing.expected_seconds(30, runs=4, threads=1, cores=2) == 60 and pacing.expected_seconds(30, 1, 1, 2) == 30
    with pytest.raises(ValueError, match="positive"):
        pacing.promised_steps("k", 0)
    with pytest.raises(ValueError, match="positive"):
        pacing.expected_seconds(30, 0, 1, 2)
    # two trainers busy for 5 and 15 s of a typical 20-s run: the third in the queue starts when the second run ahead ends
    assert pacing.expected_start(3, 2, [10.0, 30.0, 20.0], [5.0, 15.0]) == 25.0
    assert pacing.expected_start(1, 2, [20.0], [5.0]) == 0.0 and pacing.expected_start(1, 1, [], [5.0]) is None


def run(clock_tick: float, sharing: int, monkeypatch, paces: list):
    monkeypatch.setattr(train, "clock", SimulatedClock(clock_tick))
    return experiment.run("simclr", "digits", seconds=0.5, seed=0, device="cpu", evaluated=False, sharing=lambda: sharing,
                          on_pace=paces.append, train_overrides={"batch_size": 8, "num_threads": 1})


def test_a_run_beside_others_gets_the_steps_an_alone_run_got_and_says_load_stretched_it(monkeypatch):
    paces: list = []
    alone = run(0.01, 1, monkeypatch, paces)  # alone: it records the idle rate (steps per simulated second)
    assert paces[-1]["runs"] == 1 and paces[-1]["promised"] is None and alone.promised_steps is None
    promise = pacing.promised_steps(next(iter(pacing.IDLE_RATES)), 0.5)
    assert promise == int(alone.result.steps / alone.result.seconds * 0.5) and promise >= 20 and len(pacing.IDLE_RATES) == 1
    busy = run(0.04, 4, monkeypatch, paces)  # four runs share the server: each clock read costs 4x the time
    assert paces[-1]["runs"] == 4 and paces[-1]["promised"] == promise and busy.promised_steps == promise
    assert busy.result.steps == promise and busy.result.seconds > 0.5  # the seconds alone would have bought a quarter of them
    assert "4 runs shared this server, so it ran past its 0.5 s budget to get the" in busy.result.message
    assert busy.summary()["promised_steps"] == promise and pacing.IDLE_RATES[next(iter(pacing.IDLE_RATES))] == alone.result.steps / alone.result.seconds
    # a setting that never trained alone gets no promise (and says so on the page)
    other = experiment.run("simclr", "digits", seconds=0.5, seed=0, device="cpu", evaluated=False, sharing=lambda: 2, on_pace=paces.append,
                           train_overrides={"batch_size": 16, "num_threads": 1})
    assert paces[-1]["promised"] is None and other.promised_steps is None


def test_the_runner_counts_its_runs_and_estimates_a_queued_runs_start_from_the_last_runs(monkeypatch):
    release = threading.Event()
    runner = jobs.JobRunner(max_concurrent=1, watch_every=3600)
    seen = []
    first = runner.submit(lambda job: seen.append(job.sharing()), name="first")
    while first.view().active:
        release.wait(0.01)
    assert seen == [1] and first.view().status == "done"
    assert len(runner._durations) == 1
    monkeypatch.setattr(runner, "_durations", type(runner._durations)([30.0, 10.0, 20.0], maxlen=8))  # the last runs took 10-30 s
    holder = runner.submit(lambda job: release.wait(60), name="holder")
    waiting = [runner.submit(lambda job: None, name=f"w{i}") for i in range(2)]
    while runner.queue_position(waiting[1]) != 2 or holder.view().status != "running":
        release.wait(0.01)
    assert runner.running() == 1
    since = runner._running_since[holder][0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: since + 5.0)  # the holder has trained 5 s, whatever the machine's load
    first_start, second_start = runner.expected_start(waiting[0]), runner.expected_start(waiting[1])
    assert first_start == 15.0 and second_start == 35.0  # median 20 s a run: the holder's 15 s left, then one run ahead
    assert runner.expected_start(holder) is None  # not queued
    from sslviz.ui.live import pace_text, queue_text
    monkeypatch.setattr(jobs, "RUNNER", runner)  # what the page says of a queued run
    text = queue_text(waiting[1], waiting[1].view())
    shown = re.search(r"Expected to start in about (\d+) s", text)
    assert "position 2 in the queue (the server trains 1 run(s) at a time)" in text and shown and int(shown.group(1)) == 35
    assert "promised the 150 steps that 30 s buy" in pace_text({"runs": 4, "cores": 2, "expected_seconds": 60.0, "seconds": 30, "promised": 150})
    assert pace_text({"runs": 1, "promised": None}) == ""
    even = pace_text({"runs": 2, "cores": 2, "expected_seconds": 30.0, "seconds": 30, "promised": 150})  # a core each: no time is promised
    assert even.startswith("2 runs share this server's 2 cores: this run is promised the 150 steps") and "instead of" not in even
    release.set()
