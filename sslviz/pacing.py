"""Promised steps: a busy server must not quietly cut a run short.

Budgets are seconds, which buy fewer steps when several runs share the cores: on a loaded 2-core
server a 30-s SimCLR run once got 18 steps instead of ~100, and its features were worse than a
random network's. So a run's seconds are translated into the steps they buy on an idle server,
and a run that starts while others train is promised those steps: the seconds budget does not end
it before then (``TrainConfig.min_steps``), and its message says that load stretched it.

The idle rate of a setting (method, dataset, configs, threads, device) is what a run of it made
while it trained alone in this process (kept as the fastest seen). A setting never run alone has
no promise yet; the page says so instead of guessing.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict
from typing import Any

IDLE_RATES: dict[str, float] = {}  # setting key -> steps per second of training while it trained alone
_LOCK = threading.Lock()
MIN_STEPS_TO_MEASURE = 5  # fewer steps say little about the rate (the first step builds caches)


def setting_key(method_name: str, dataset: str, method_config: Any, train_config: Any, threads: int) -> str:
    """What decides a step's cost: the method and its config, the dataset, the batch and optimiser settings, threads and device.

    The budget, seed and minimum steps are left out (they do not change what one step costs).
    """
    train = {k: v for k, v in asdict(train_config).items() if k not in ("max_seconds", "max_steps", "min_steps", "seed", "num_threads")}
    return repr((method_name, dataset, sorted(asdict(method_config).items()), sorted(train.items()), threads))


def record(key: str, steps: int, seconds: float) -> None:
    """Keep the rate of a run that trained alone to the end of its budget (the fastest such run of ``key``)."""
    if steps < MIN_STEPS_TO_MEASURE or seconds <= 0:
        return
    with _LOCK:
        IDLE_RATES[key] = max(IDLE_RATES.get(key, 0.0), steps / seconds)


def promised_steps(key: str, seconds: float) -> int | None:
    """The steps ``seconds`` buy on an idle server for this setting; None when it has not run alone yet."""
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}.")
    rate = IDLE_RATES.get(key)
    return None if rate is None else max(1, math.floor(rate * seconds))


def expected_seconds(seconds: float, runs: int, threads: int, cores: int) -> float:
    """About how long ``seconds`` of idle training take when ``runs`` runs of ``threads`` threads share ``cores`` cores."""
    if min(seconds, runs, threads, cores) <= 0:
        raise ValueError("seconds, runs, threads and cores must be positive.")
    return seconds * max(1.0, runs * threads / cores)


def expected_start(position: int, slots: int, recent: list[float], elapsed: list[float]) -> float | None:
    """About how many seconds until the run at queue ``position`` (1 = next) starts, when ``slots`` runs train at once.

    The runs ahead of it each take as long as the ``recent`` runs did (their median); the ``elapsed`` seconds of the
    runs now training count against that. None when no run has finished yet (nothing to go on).
    """
    if position < 1 or slots < 1:
        raise ValueError(f"position and slots must be at least 1, got {position} and {slots}.")
    if not recent:
        return None
    typical = sorted(recent)[len(recent) // 2]
    free_at = sorted([max(0.0, typical - e) for e in elapsed[:slots]] + [0.0] * max(0, slots - len(elapsed)))
    for _ in range(position - 1):  # each run ahead takes the earliest free trainer in turn
        free_at[0] += typical
        free_at.sort()
    return free_at[0]
