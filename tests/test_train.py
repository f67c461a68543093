import math
import platform
import subprocess
import sys
import threading

import pytest
import torch
from torch import nn

from sslviz import data, experiment, methods, train
from sslviz.methods.base import Method
from sslviz.train import TrainConfig, Trainer, resolve_device


class Quadratic(Method):
    """A toy method: pull a parameter towards the batch mean (or produce NaN on demand)."""

    name = "toy"

    def __init__(self, nan_at: int | None = None):
        super().__init__()
        self.encoder = nn.Flatten()
        self.w = nn.Parameter(torch.zeros(1))
        self.calls, self.nan_at = 0, nan_at

    def training_step(self, batch, generator=None):
        self.calls += 1
        loss = (self.w - batch.mean()) ** 2
        if self.nan_at is not None and self.calls >= self.nan_at:
            loss = loss * float("nan")
        return {"loss": loss}


def images(n=32):
    return torch.rand(n, 1, 4, 4)


def test_step_budget_and_history():
    calls = []
    t = Trainer(Quadratic(), images(), TrainConfig(max_steps=7, max_seconds=None, lr=0.1, batch_size=8), on_batch_end=[lambda tr, m: calls.append(m["step"])])
    r = t.fit()
    assert r.steps == 7 and len(r.history) == 7 and calls == list(range(1, 8)) and r.stopped_by == "budget"
    assert r.history[-1]["loss"] < r.history[0]["loss"]


class SimulatedClock:
    """A clock that advances ``tick`` seconds each time it is read, and by hand: the seconds budget without wall time."""

    def __init__(self, tick: float = 0.001) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_seconds_budget(monkeypatch):
    clock = SimulatedClock()
    monkeypatch.setattr(train, "clock", clock)
    r = Trainer(Quadratic(), images(), TrainConfig(max_seconds=0.2, lr=0.01, batch_size=8)).fit()
    # Each step reads the clock twice (after the step, before the callbacks): 0.2 s of 1-ms ticks is about 100 steps.
    assert r.stopped_by == "budget" and 0.2 <= r.seconds <= 0.205 and 95 <= r.steps <= 101


def test_stop_event_stops_promptly():
    stop = threading.Event()

    def stop_at_3(trainer, metrics):
        if metrics["step"] == 3:
            stop.set()

    r = Trainer(Quadratic(), images(), TrainConfig(max_steps=1000, max_seconds=None, batch_size=8), [stop_at_3], stop).fit()
    assert r.steps == 3 and r.stopped_by == "stop" and "Stopped" in r.message


def test_nan_guard_stops_with_a_clear_message():
    r = Trainer(Quadratic(nan_at=4), images(), TrainConfig(max_steps=50, max_seconds=None, batch_size=8)).fit()
    assert r.diverged and r.steps == 3 and "diverged at step 4" in r.message and "learning rate" in r.message


def test_huge_learning_rate_diverges_simclr():
    torch.manual_seed(0)
    train = data.load("digits", "train")
    m = methods.create("simclr", "digits", width=8)
    r = Trainer(m, train.images[:128], TrainConfig(max_steps=20, max_seconds=None, lr=1e12, batch_size=64)).fit()
    assert r.diverged and "nan" in r.message.lower()


def test_a_blown_up_model_whose_bounded_loss_stayed_finite_is_reported_as_diverged():
    """lr 1e12 for one step: InfoNCE (normalised embeddings) is still finite, the encoder's features are not; nothing must evaluate them."""
    exp = experiment.run("simclr", "digits", seconds=None, steps=1, train_overrides={"lr": 1e12, "batch_size": 64}, with_baselines=False)
    assert math.isfinite(exp.result.history[0]["loss"]) and not exp.metrics
    assert exp.result.diverged and "diverged by step 1" in exp.result.message and "learning rate" in exp.result.message
    fine = experiment.run("simclr", "digits", seconds=None, steps=1, train_overrides={"batch_size": 64}, evaluated=False)
    assert not fine.result.diverged, fine.result.message


def test_weights_that_became_infinite_end_the_run_as_diverged():
    def poison(trainer, metrics):
        if metrics["step"] == 2:  # after the last step: no later loss would show it
            trainer.method.w.data.fill_(float("inf"))

    r = Trainer(Quadratic(), images(), TrainConfig(max_steps=2, max_seconds=None, batch_size=8), [poison]).fit()
    assert r.diverged and "by step 2: the weights became infinite or NaN" in r.message


def test_same_seed_same_run():
    def run():
        torch.manual_seed(0)
        m = methods.create("simclr", "digits", width=8)
        return Trainer(m, data.load("digits").images[:128], TrainConfig(max_steps=3, max_seconds=None, batch_size=32, seed=1)).fit().history

    assert [h["loss"] for h in run()] == [h["loss"] for h in run()]


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 1}, "batch_size"), ({"lr": float("nan")}, "lr"), ({"lr": -1}, "lr"),
    ({"max_steps": None, "max_seconds": None}, "budget"), ({"device": "tpu"}, "device must be one of .auto., .cpu."), ({"max_seconds": 1e9}, r"max_seconds must be between 0 and 86400"), ({"seed": -1}, "seed"),
])
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_callback_time_can_be_excluded_from_the_budget(monkeypatch):
    clock = SimulatedClock()
    monkeypatch.setattr(train, "clock", clock)

    def slow(trainer, metrics) -> None:  # a callback that takes 50 ms (e.g. an evaluation)
        clock.now += 0.05

    counted = Trainer(Quadratic(), images(), TrainConfig(max_seconds=0.3, batch_size=8), [slow]).fit()
    excluded = Trainer(Quadratic(), images(), TrainConfig(max_seconds=0.3, batch_size=8, count_callback_time=False), [slow]).fit()
    assert counted.steps == 7 and counted.seconds >= 0.3  # ~52 ms per step with its callback: the 7th crosses 0.3 s
    assert excluded.steps >= 100 and 0.3 <= excluded.seconds <= 0.31  # the callbacks' 5 s are not charged


def test_cosine_schedule_decays_the_learning_rate_over_the_budget():
    lrs = []
    t = Trainer(Quadratic(), images(), TrainConfig(max_steps=10, max_seconds=None, lr=0.1, batch_size=8, lr_schedule="cosine"),
                on_batch_end=[lambda tr, m: lrs.append(tr.optimizer.param_groups[0]["lr"])])
    t.fit()
    assert lrs[0] == pytest.approx(0.1)  # set before each update from the share of the budget already used
    assert lrs[-1] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 0.9)))
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    constant = []
    Trainer(Quadratic(), images(), TrainConfig(max_steps=5, max_seconds=None, lr=0.1, batch_size=8),
            on_batch_end=[lambda tr, m: constant.append(tr.optimizer.param_groups[0]["lr"])]).fit()
    assert constant == [0.1] * 5
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")


@pytest.mark.parametrize("every", [1, 4])
def test_deferred_nan_guard_stops_at_the_first_bad_step_and_keeps_only_finite_rows(every):
    r = Trainer(Quadratic(nan_at=6), images(), TrainConfig(max_steps=50, max_seconds=None, batch_size=8, sync_every=every)).fit()
    assert r.diverged and r.steps == 5 and "diverged at step 6" in r.message
    assert [row["step"] for row in r.history] == [1, 2, 3, 4, 5] and all(math.isfinite(row["loss"]) for row in r.history)


def test_deferred_reads_still_call_back_once_per_step_in_order():
    seen = []
    r = Trainer(Quadratic(), images(), TrainConfig(max_steps=10, max_seconds=None, lr=0.1, batch_size=8, sync_every=4),
                on_batch_end=[lambda tr, m: seen.append(m["step"])]).fit()
    assert seen == list(range(1, 11)) and r.steps == 10 and len(r.history) == 10  # 4 + 4 + the last 2 at the end


HOST_READS = {"item", "__float__", "__bool__", "__int__", "__index__", "tolist", "numpy"}
# Reads that happen only on the CPU (where they are free), or once per clustering round rather than per step.
NOT_PER_STEP = ("masked_reconstruction_loss", "new_round", "kmeans", "_refill_empty", "begin")


def _sslviz_site() -> str | None:
    """file:line (function) of the innermost sslviz frame of the caller, None outside sslviz or in a NOT_PER_STEP function."""
    import traceback

    frames = [f for f in traceback.extract_stack()[:-2] if "sslviz" in f.filename and "tests" not in f.filename
              and not f.name.startswith("<")]  # a comprehension reports the function it is in
    if frames and not any(f.name in NOT_PER_STEP for f in frames):
        return f"{frames[-1].filename.rsplit('sslviz', 1)[-1]}:{frames[-1].lineno} ({frames[-1].name})"
    return None


class HostReads(torch.overrides.TorchFunctionMode):
    """Counts reads of tensor values on the host — on a GPU each is a synchronisation — by the sslviz code that made them
    (sslviz.optim's included: its step counts are Python ints, so its bias corrections read nothing). Also records moves
    to a device (``.to(device)``, ``torch.tensor(..., device=...)``): from host memory to a GPU, each waits too."""

    def __init__(self):
        super().__init__()
        self.sites, self.moves, self.steps_done = [], [], 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name, kwargs = getattr(func, "__name__", ""), kwargs or {}
        if name in HOST_READS and (site := _sslviz_site()):
            self.sites.append(site)
        elif name == "to" and ("device" in kwargs or any(isinstance(a, (str, torch.device)) for a in args[1:])) and (site := _sslviz_site()):
            self.moves.append((self.steps_done, site))
        return func(*args, **kwargs)

    def tensor(self, *args, **kwargs):
        """Stands in for torch.tensor (a factory no torch-function mode sees)."""
        if "device" in kwargs and (site := _sslviz_site()):
            self.moves.append((self.steps_done, site))
        return TORCH_TENSOR(*args, **kwargs)


TORCH_TENSOR = torch.tensor


@pytest.mark.parametrize("name", list(methods.REGISTRY))
def test_the_gpu_training_loop_reads_the_device_once_per_sync_interval_not_per_step(name, monkeypatch):
    """The CUDA code path (sync_every = CUDA_SYNC_EVERY there), run on the CPU: every host read in the loop is counted."""
    torch.manual_seed(0)
    train_set = data.load("shapes", "train")
    method = methods.create(name, "shapes", in_channels=train_set.channels)
    steps, every = 8, 4
    trainer = Trainer(method, data.take(method.inputs(train_set), slice(0, 256)),
                      TrainConfig(max_steps=steps, max_seconds=None, batch_size=16, sync_every=every))
    with HostReads() as reads:
        monkeypatch.setattr(torch, "tensor", reads.tensor)
        after_step = method.after_step
        monkeypatch.setattr(method, "after_step", lambda: (after_step(), setattr(reads, "steps_done", reads.steps_done + 1)))
        result = trainer.fit()
    assert result.steps == steps
    per_run = [s for s in reads.sites if s.endswith("(_weights_finite)")]  # the one check that the finished model is finite
    assert len(per_run) == 1, f"{name}: host reads {reads.sites}"
    assert len(reads.sites) - len(per_run) == steps // every, f"{name}: host reads {reads.sites}"  # one batched read per interval
    # Moves to the device: constants in the first step (then cached), none after; the metrics' one read moves its values.
    per_step = [(step, site) for step, site in reads.moves if step > 0 and not site.endswith("(_publish)")]
    assert not per_step, f"{name}: moves to the device after the first step (step, site): {per_step}"


def test_the_cuda_default_reads_every_sixteen_steps_and_the_cpu_every_step():
    assert Trainer(Quadratic(), images(), TrainConfig(max_steps=1, max_seconds=None)).sync_every() == 1
    assert Trainer(Quadratic(), images(), TrainConfig(max_steps=1, max_seconds=None, sync_every=7)).sync_every() == 7
    assert train.CUDA_SYNC_EVERY == 16


def test_min_steps_outlasts_the_seconds_budget_but_not_max_steps_or_stop(monkeypatch):
    clock = SimulatedClock(tick=1.0)  # every read is a second: a 2-s budget alone would end after a step or two
    monkeypatch.setattr(train, "clock", clock)
    r = Trainer(Quadratic(), images(), TrainConfig(max_seconds=2.0, min_steps=12, batch_size=8)).fit()
    assert r.steps == 12 and "past the 2 s budget" in r.message and "12 steps" in r.message
    r = Trainer(Quadratic(), images(), TrainConfig(max_seconds=2.0, max_steps=5, min_steps=12, batch_size=8)).fit()
    assert r.steps == 5
    stop = threading.Event()
    r = Trainer(Quadratic(), images(), TrainConfig(max_seconds=2.0, min_steps=12, batch_size=8), [lambda t, m: m["step"] == 3 and stop.set()], stop).fit()
    assert r.steps == 3 and r.stopped_by == "stop"


@pytest.mark.parametrize("cores, runs, threads", [(2, 1, 1), (16, 1, 8), (16, 2, 7), (16, 8, 1), (16, 4, 3), (64, 4, 8), (2, 4, 1)])
def test_threads_per_run_times_runs_at_once_stay_within_the_cores(monkeypatch, cores, runs, threads):
    monkeypatch.delenv("SSLVIZ_TORCH_THREADS", raising=False)
    monkeypatch.setattr(train.os, "cpu_count", lambda: cores)
    assert train.app_threads(runs) == threads
    assert threads * runs <= max(cores - 1, runs)  # one core left to the server, unless every run needs its one thread
    with pytest.raises(ValueError, match="at least 1"):
        train.app_threads(0)


FAULTS_PER_STEP = """
import resource, sys, threading
from sslviz import data, memory, methods
from sslviz.train import TrainConfig, Trainer
if sys.argv[1] == "glibc-default":
    memory.reuse_freed_memory = lambda: False
faults = []
def count(trainer, metrics):
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
config = TrainConfig(max_steps=12, max_seconds=None, batch_size=128, num_threads=1)
run = lambda: Trainer(methods.create("simclr", "shapes", width=16), data.load("shapes").images[:512], config, [count]).fit()
thread = threading.Thread(target=run)  # the app trains in a thread of its own, with its own malloc arena
thread.start(), thread.join()
print((faults[-1] - faults[4]) / (len(faults) - 5))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc's thresholds are glibc's")
def test_training_steps_reuse_freed_memory_instead_of_faulting_it_in_again():
    """Trainer.fit lets glibc keep what a step frees (sslviz.memory.reuse_freed_memory), so the next step allocates the
    same activation buffers without page faults; with glibc's defaults (the call replaced by a no-op) it faults them in
    again each step."""
    def faults_per_step(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP, mode], capture_output=True, text=True, check=True)
        return float(out.stdout.split()[-1])

    kept, glibc_default = faults_per_step("sslviz"), faults_per_step("glibc-default")
    assert glibc_default > 1000  # 256 views' activations: thousands of 4-KB pages each step
    assert kept < glibc_default / 5
