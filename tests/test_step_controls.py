"""Pause, Resume, Step and the two resets (issue 22): the gate, the Trainer that waits at it, and the Contrastive page."""

import threading

import pytest
from test_pages import HANG_SECONDS, open_page, texts, until, wait_for_job
from test_train import Quadratic, SimulatedClock, images

from sslviz import train
from sslviz.jobs import Job, JobRunner
from sslviz.stepgate import StepGate
from sslviz.train import TrainConfig, Trainer


def fit_in_thread(trainer: Trainer) -> tuple[threading.Thread, list]:
    out = []
    thread = threading.Thread(target=lambda: out.append(trainer.fit()), daemon=True)
    thread.start()
    return thread, out


def test_a_paused_trainer_takes_exactly_the_steps_it_is_given_then_resumes_to_its_budget():
    gate, rows = StepGate(paused=True), []
    trainer = Trainer(Quadratic(), images(), TrainConfig(max_steps=20, max_seconds=None, lr=0.1, batch_size=8),
                      on_batch_end=[lambda tr, m: rows.append(m["step"])], gate=gate)
    thread, out = fit_in_thread(trainer)
    assert gate.settled(HANG_SECONDS) and rows == []  # held before the first step
    for taken in range(1, 6):
        gate.step()
        assert gate.settled(HANG_SECONDS)
        assert rows == list(range(1, taken + 1)) and trainer.step == taken  # one step per Step, no more
    gate.step(3)
    assert gate.settled(HANG_SECONDS) and rows == list(range(1, 9))
    gate.resume()
    thread.join(HANG_SECONDS)
    assert out[0].steps == 20 and rows == list(range(1, 21)) and out[0].stopped_by == "budget"


def test_paused_time_is_not_budget_time_and_stop_releases_a_paused_run(monkeypatch):
    clock = SimulatedClock()
    monkeypatch.setattr(train, "clock", clock)
    gate = StepGate()

    def pause_at_3(trainer, metrics):
        if metrics["step"] == 3:
            gate.pause()
    trainer = Trainer(Quadratic(), images(), TrainConfig(max_seconds=0.2, lr=0.01, batch_size=8), [pause_at_3], gate=gate)
    thread, out = fit_in_thread(trainer)
    assert gate.settled(HANG_SECONDS) and trainer.step == 3
    clock.now += 1000.0  # the class looks at step 3 for 1,000 s: the 0.2-s budget must not be spent by it
    gate.step()
    assert gate.settled(HANG_SECONDS) and trainer.step == 4
    clock.now += 500.0
    gate.resume()
    thread.join(HANG_SECONDS)
    result = out[0]
    # Counted, the 1,500 s would end it at step 4; left out, it runs its 0.2 s (the gate adds clock reads: ~68 steps of 1-ms ticks)
    assert result.stopped_by == "budget" and 0.2 <= result.seconds < 0.21 and result.steps > 60
    gate, stop = StepGate(paused=True), threading.Event()
    thread, out = fit_in_thread(Trainer(Quadratic(), images(), TrainConfig(max_steps=5, max_seconds=None, batch_size=8), stop_event=stop, gate=gate))
    assert gate.settled(HANG_SECONDS)
    stop.set()
    thread.join(HANG_SECONDS)
    assert out[0].steps == 0 and out[0].stopped_by == "stop"


def test_step_refuses_a_count_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        StepGate().step(0)


def test_a_run_paused_too_long_gives_its_trainer_to_the_queue():
    runner = JobRunner(max_concurrent=1, max_paused_seconds=0.05, watch_every=3600)  # check() by hand
    def held(job: Job) -> None:
        job.gate.wait(job.stop_event)  # a training loop's first step, paused

    gate_job = runner.submit(held, name="paused", paused=True)
    until(lambda: gate_job.gate.held_for() > 0.05, "the paused job waits at its gate")
    assert runner.check() == []  # nobody waits for its trainer: it may stay paused
    waiting = runner.submit(lambda job: None, name="next")
    until(lambda: runner.queue_position(waiting) == 1, "the second job queues")
    assert runner.check() == [gate_job] and "paused for over 0 s while other runs waited" in gate_job.stop_event.reason
    until(lambda: not waiting.view().active, "the queued job runs once the paused one gave up its trainer")
    assert gate_job.view().status == "stopped"


def held_at_the_gate(job, steps: int = 0) -> bool:
    """The run waits at its gate again, after at least ``steps`` steps, or has ended (then the caller's assertion says how:
    a budget spent, a stop)."""
    return not job.view().active or (job.gate.settled(0.1) and len(job.view().history) >= steps)


def test_contrastive_page_steps_one_step_per_click_resumes_and_resets_with_the_same_or_a_new_seed():
    # 15 s: the five single steps below, with the live charts drawn after each, are charged to the budget; beside a
    # CPU-heavy neighbour (a loaded CI run) five of them took over 5 s, the run ended on its budget and no Step was left.
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "digits", "global.seconds": 15})
    at.button(key="contrastive.step_start").click().run()  # start paused, take one step
    job = at.session_state["contrastive.job"]
    # the click waits up to STEP_WAIT_SECONDS for that step; a loaded machine may still be loading data and building the
    # model then, and the page shows Step once the run is steppable (the polling fragment's rerun; here an explicit one)
    until(lambda: held_at_the_gate(job, steps=1), "the first step is taken")
    assert job.view().active and len(job.view().history) == 1, (job.view().status, job.view().message)
    at.run()
    for _ in range(4):
        at.button(key="contrastive.step").click().run()
    until(lambda: held_at_the_gate(job), "the fifth step is taken")  # each click waits up to 10 s; a loaded machine may take longer
    assert job.view().active, (job.view().status, job.view().message, len(job.view().history))
    at.run()
    steps = job.view().history
    assert [int(r["step"]) for r in steps] == [1, 2, 3, 4, 5] and job.view().active and job.gate.paused
    shown = texts(at)
    assert f"Paused after step 5: loss {steps[-1]['loss']:.4f}" in shown, shown
    assert "paused after step 5" in shown  # the InfoNCE explorer reads this step's views and projections
    table = next(d.value for d in at.dataframe if "loss" in d.value.columns and "step" in d.value.columns)  # the last steps, one row each
    assert list(table["step"]) == [1, 2, 3, 4, 5] and list(table["loss"]) == [r["loss"] for r in steps]
    at.button(key="contrastive.pause").click().run()  # Resume: the same run trains on to its budget
    wait_for_job(at)
    first = job.view()
    assert first.status == "done" and [int(r["step"]) for r in first.history] == list(range(1, len(first.history) + 1))
    assert first.history[:5] == steps and len(first.history) > 5
    # Train again, same settings and seed: the same run, step for step (its first 10 steps are compared; then it is stopped)
    at.button(key="contrastive.train").click().run()
    training = at.session_state["contrastive.job"]
    # That rerun drew Step and New seed before the run started, so enabled. Streamlit drops a press on a button that the
    # next rerun draws disabled, but New seed's callback runs before that: it must not change the seed of a run in progress
    at.button(key="contrastive.new_seed").click().run()
    assert at.session_state["contrastive.job"] is training and at.session_state["global.seed"] == 0
    until(lambda: len(training.view().history) >= 10 or not training.view().active, "the second run takes 10 steps")
    training.stop()
    wait_for_job(at)
    again = training.view()
    assert again.status in ("done", "stopped") and training is not job and len(again.history) >= 10, again.message
    assert [r["loss"] for r in again.history[:10]] == [r["loss"] for r in first.history[:10]]
    # New seed: the sidebar's seed goes up by one and the run starts with it
    at.button(key="contrastive.new_seed").click().run()
    assert at.session_state["global.seed"] == 1
    other = at.session_state["contrastive.job"]
    until(lambda: len(other.view().history) >= 3 or not other.view().active, "the new-seed run trains")
    other.stop()
    wait_for_job(at)
    assert other.view().state["summary"]["seed"] == 1
    assert [r["loss"] for r in other.view().history[:3]] != [r["loss"] for r in first.history[:3]]
    assert not at.exception
