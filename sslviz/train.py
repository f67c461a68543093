"""A generic, budgeted training loop that knows nothing about any particular method.

    trainer = Trainer(method, images, TrainConfig(max_seconds=30), on_batch_end=[print_loss])
    result = trainer.fit()

The budget is in steps and/or seconds; ``stop_event`` stops between two steps; a loss that is
NaN or infinite ends the run with a clear message instead of silently training garbage.
Callbacks receive the trainer and the step's metrics — the hook a live page listens on.
"""

from __future__ import annotations

import copy
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from sslviz import environment, memory, optim
from sslviz.data import Inputs, check_inputs, take, to_device  # noqa: F401  (re-exported: the Trainer's batch helpers)
from sslviz.methods.base import Method
from sslviz.setting import Config, Range, internal, setting

DEVICES = ("auto", "cpu", "cuda", "mps")
clock = time.perf_counter  # the Trainer's clock for its seconds budget (a test replaces it with a simulated one)
OPTIMIZERS = ("adamw", "sgd")
CUDA_SYNC_EVERY = 16  # on a GPU, metrics and the NaN guard are read every 16 steps: one host synchronisation, not one per metric per step
LR_SCHEDULES = ("constant", "cosine")


# Same seed, same run on a GPU too ("Reset, same seed", fine-tuning twice in device_check.py): cuDNN's
# fastest convolution kernels add their partial sums in a varying order, so two fine-tuning runs on CUDA
# differed (0.6679 vs 0.6698). The deterministic kernels cost a little GPU speed; the CPU is unaffected.
torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" picks CUDA, then Apple MPS, then CPU; an unavailable device is a ValueError."""
    if name not in DEVICES:
        raise ValueError(f"Unknown device {name!r}. Choose one of: {', '.join(DEVICES)}.")
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA GPU is available here; use 'auto' or 'cpu'.")
    if name == "mps" and not mps_ok:
        raise ValueError("MPS was requested but Apple's Metal backend is not available here; use 'auto' or 'cpu'.")
    return torch.device(name)


def configure_threads(requested: int | None = None) -> int:
    """Set torch's intra-op threads: ``requested``, else SSLVIZ_TORCH_THREADS, else one per core (max 8).

    More threads only add overhead for tiny models, and on a 2-core machine that also serves
    the app, sharing both cores with the web server starves OpenMP (see ``app_threads``).
    """
    if requested is not None and requested > 0:
        n = requested
    else:
        n = _env_threads() or max(1, min(8, os.cpu_count() or 1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def app_threads(concurrent_runs: int = 1) -> int:
    """Threads for each training run inside the web app: leave one core to the server and the browser, and share the rest
    among the ``concurrent_runs`` the server trains at once (threads × runs never exceeds the cores; at least one each).

    Measured on 2 cores with the Contrastive page open: 1 thread trained 101 steps in 30 s,
    2 threads only 69 (OpenMP threads stall whenever the server or browser takes a core).
    """
    if concurrent_runs < 1:
        raise ValueError(f"concurrent_runs must be at least 1, got {concurrent_runs}.")
    return _env_threads() or max(1, min(8, ((os.cpu_count() or 2) - 1) // concurrent_runs))


def _env_threads() -> int | None:
    """SSLVIZ_TORCH_THREADS as a positive integer, or None when unset or invalid (reported, see sslviz.environment)."""
    threads = environment.number("SSLVIZ_TORCH_THREADS", None, integer=True, high=1024)
    return None if threads is None else int(threads)


@dataclass(frozen=True)
class TrainConfig(Config):
    """Optimisation settings and the budget; the run ends at whichever budget is hit first.

    Every field has a declared range (checked when the config is made), so a run bundle or a link
    cannot ask for a billion-image batch or a year-long budget.
    """

    batch_size: int = setting(256, "Batch size N", (2, 4, 8, 32, 64, 128, 256, 512), valid=Range(2, 4096, why="a batch holds the negatives of contrastive methods"))
    lr: float = setting(1e-3, "Learning rate", (1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1e-1, 1.0, 10.0, 1e12),
                        "1e12 is there on purpose: it makes the loss NaN, and the run stops with a message.", "{:g}", valid=(1e-8, 1e12))
    weight_decay: float = internal(1e-6, (0.0, 10.0))
    max_steps: int | None = internal(None, (0, 10_000_000))
    max_seconds: float | None = internal(30.0, (0.0, 86_400.0))  # a day at most
    min_steps: int = internal(0, (0, 100_000))  # the seconds budget does not end a run before this many steps (a demo whose lesson needs them); max_steps and Stop still do
    seed: int = internal(0, (0, 2**32 - 1))
    device: str = internal("auto", DEVICES)
    num_threads: int | None = internal(None, (1, 1024))  # torch intra-op threads; None = one per core
    optimizer: str = internal("adamw", OPTIMIZERS)  # "sgd": momentum 0.9
    lr_schedule: str = internal("constant", LR_SCHEDULES)  # "cosine": decay to 0 over the budget (by steps or seconds, whichever runs out first)
    count_callback_time: bool = internal(True)  # False: time spent in callbacks (e.g. evaluation) is not charged to the budget
    sync_every: int | None = internal(None, (1, 1000))  # steps between reads of the metrics on the host; None: 1 on the CPU, CUDA_SYNC_EVERY on a GPU

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_steps is None and self.max_seconds is None:
            raise ValueError("Give a budget: max_steps, max_seconds or both.")
        resolve_device(self.device)


@dataclass
class TrainResult:
    """What happened: steps and seconds used, why it ended, per-step metric history."""

    steps: int = 0
    seconds: float = 0.0
    stopped_by: str = "budget"  # "budget" | "stop" | "diverged"
    message: str = ""
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def diverged(self) -> bool:
        return self.stopped_by == "diverged"

    def mark_diverged(self, what: str, lr: float) -> None:
        """End the run as diverged; ``what`` says how ("at step 4: the loss became nan"), the message what to do about it."""
        self.stopped_by = "diverged"
        self.message = f"Training diverged {what}. The learning rate {lr:g} is probably too high: lower it (around 1e-3 trains well here)."


BatchCallback = Callable[["Trainer", dict[str, float]], None]


class Gate(Protocol):
    """What the loop asks before each step (:class:`sslviz.jobs.StepGate`: the page's Pause and Step)."""

    def holding(self) -> bool:
        """Whether :meth:`wait` would block now."""

    def wait(self, stop: threading.Event) -> object:
        """Block while paused (or until ``stop`` is set); the Trainer leaves the time waited out of the budget."""


class Trainer:
    """Trains ``method`` on ``images`` (kept on the device) with AdamW or SGD within a budget.

    ``images`` may also be a dict of aligned tensors (a multi-modal method's pairs): each batch is
    then a dict holding the same rows of every tensor.
    """

    def __init__(
        self,
        method: Method,
        images: Inputs,
        config: TrainConfig = TrainConfig(),
        on_batch_end: list[BatchCallback] | tuple[BatchCallback, ...] = (),
        stop_event: threading.Event | None = None,
        gate: Gate | None = None,
    ) -> None:
        check_inputs(images)
        self.config = config
        self.device = resolve_device(config.device)
        self.method = method.to(self.device)
        self.images = to_device(images, self.device)
        self.callbacks = list(on_batch_end)
        self.stop_event = stop_event or threading.Event()
        self.gate = gate
        self.step = 0
        self.elapsed = 0.0
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        params = [p for p in method.parameters() if p.requires_grad]  # momentum/target networks are not trained
        if config.optimizer == "sgd":
            self.optimizer = optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
        else:
            self.optimizer = optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)

    def _batches(self):
        """Endless shuffled mini-batches, sampled on the device (no DataLoader, no copies)."""
        n = len(next(iter(self.images.values()))) if isinstance(self.images, dict) else self.images.shape[0]
        bs = min(self.config.batch_size, n)
        while True:
            order = torch.randperm(n, generator=self.generator, device=self.device)
            for start in range(0, n - bs + 1, bs):
                yield take(self.images, order[start : start + bs])

    def _budget_left(self) -> bool:
        c = self.config
        if c.max_steps is not None and self.step >= c.max_steps:
            return False
        if self.step < c.min_steps:  # on a slow or busy machine the lesson still appears, later
            return True
        return c.max_seconds is None or self.elapsed < c.max_seconds

    def progress(self) -> float:
        """Share of the budget used so far (steps or seconds, whichever is further along), in [0, 1]."""
        c = self.config
        done = [self.step / c.max_steps if c.max_steps else 0.0, self.elapsed / c.max_seconds if c.max_seconds else 0.0]
        return min(1.0, max(done))

    def _set_lr(self) -> None:
        # Cosine decay: a time-budgeted run ends on a settled model instead of wherever the last noisy step left it.
        if self.config.lr_schedule == "cosine":
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.lr * 0.5 * (1 + math.cos(math.pi * self.progress()))

    def sync_every(self) -> int:
        """Steps between host reads of the metrics (and of the NaN guard): free on the CPU, a device synchronisation on a GPU."""
        if self.config.sync_every is not None:
            return self.config.sync_every
        return 1 if self.device.type == "cpu" else CUDA_SYNC_EVERY

    def fit(self) -> TrainResult:
        """Run until the budget is spent, ``stop_event`` is set, or the loss diverges."""
        configure_threads(self.config.num_threads)
        memory.reuse_freed_memory()  # steps reuse the memory the previous step freed, without page faults
        result = TrainResult()
        self.method.train()
        self.method.begin(self.images)
        self._start, self._excluded = clock(), 0.0  # _excluded: seconds spent in callbacks, when they do not count
        every, pending = self.sync_every(), []
        batches = self._batches()
        while self._budget_left():
            if self.gate is not None:
                if pending and self.gate.holding() and not self._publish(pending, result):  # a paused run shows its last step at once
                    break
                waited_from = clock()
                self.gate.wait(self.stop_event)
                self._excluded += clock() - waited_from  # paused time is not training time
            if self.stop_event.is_set():
                # a job's stop event may carry who stopped it (sslviz.jobs.StopEvent): the user or the server
                who = getattr(self.stop_event, "reason", "by the user")
                result.stopped_by, result.message = "stop", f"Stopped {who} after {self.step} steps."
                break
            out = self.method.training_step(next(batches), self.generator)
            # On the CPU a read is free: the guard runs before the update, so a diverged step never
            # touches the weights. On a GPU it waits for the next read (a diverged run is not evaluated).
            if every == 1 and not torch.isfinite(out["loss"]):
                self._diverged(result, self.step + 1, float(out["loss"].detach()))
                break
            self.optimizer.zero_grad(set_to_none=True)
            out["loss"].backward()
            self._set_lr()
            for p in self.method.take_reinitialised():
                self.optimizer.state.pop(p, None)  # a fresh optimiser for what the method just re-initialised
            self.optimizer.step()
            self.method.after_step()
            self.step += 1
            self.elapsed = clock() - self._start - self._excluded
            pending.append((self.step, self.elapsed, {k: v.detach() for k, v in out.items()}))
            if len(pending) >= every and not self._publish(pending, result):
                break
        if pending:
            self._publish(pending, result)
        result.steps, result.seconds = self.step, clock() - self._start - self._excluded
        if not result.diverged and not self._weights_finite():  # nothing sensible can be evaluated or shown from such a model
            result.mark_diverged(f"by step {self.step}: the weights became infinite or NaN", self.config.lr)
        if result.stopped_by == "budget":
            result.message = f"Finished: {result.steps} steps in {result.seconds:.1f} s."
            c = self.config
            if c.min_steps and c.max_seconds is not None and result.seconds > c.max_seconds and result.steps <= c.min_steps:
                result.message += f" It ran past the {c.max_seconds:g} s budget: what it shows needs at least {c.min_steps} steps."
        self.method.eval()
        return result

    def _publish(self, pending: list[tuple[int, float, dict[str, torch.Tensor]]], result: TrainResult) -> bool:
        """Read the pending steps' metrics in one host transfer, log them and call the callbacks; False if a loss diverged."""
        flat = torch.stack([v.reshape(()).float().to(self.device) for _, _, out in pending for v in out.values()]).tolist()  # the one read
        rows, at = [], 0
        for step, seconds, out in pending:
            rows.append({**dict(zip(out, flat[at : at + len(out)])), "step": step, "seconds": seconds})
            at += len(out)
        pending.clear()
        t_callbacks = clock()
        for row in rows:
            if not math.isfinite(row["loss"]):
                self.step = int(row["step"]) - 1  # the steps from the diverged one on are not kept
                self._diverged(result, int(row["step"]), row["loss"])
                return False
            result.history.append(row)
            for callback in self.callbacks:
                callback(self, row)
        if not self.config.count_callback_time:
            self._excluded += clock() - t_callbacks
        return True

    def _diverged(self, result: TrainResult, step: int, loss: float) -> None:
        result.mark_diverged(f"at step {step}: the loss became {loss}", self.config.lr)

    def _weights_finite(self) -> bool:
        """Whether every parameter is finite: one host read at the end of a run (a bounded loss can hide blown-up weights)."""
        with torch.no_grad():
            checks = [torch.isfinite(p).all() for p in self.method.parameters() if p.is_floating_point()]
            return not checks or bool(torch.stack(checks).all())

def seconds_per_step(method: Method, batch: torch.Tensor, steps: int = 3, warmup: int = 1, device: str = "cpu") -> float:
    """Median wall time of one full training step (forward, backward, AdamW update) on ``batch``, on ``device``.

    Works on a copy of ``method``, so measuring never changes the model a page shows. On a GPU each
    step is synchronised before the clock stops (kernels run asynchronously).
    """
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps must be >= 1 and warmup >= 0, got {steps} and {warmup}.")
    where = resolve_device(device)
    sync = torch.cuda.synchronize if where.type == "cuda" else (lambda: None)
    memory.reuse_freed_memory()  # as Trainer.fit: the step timed is the step trained
    twin = copy.deepcopy(method).to(where).train()
    batch = batch.to(where)
    optimizer = optim.AdamW([p for p in twin.parameters() if p.requires_grad], lr=1e-4)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = twin.training_step(batch)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        twin.after_step()
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return float(sorted(times)[len(times) // 2])

