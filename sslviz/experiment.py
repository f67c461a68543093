"""One complete experiment: data → method → budgeted training → evaluation vs baselines.

The CLI (``python -m sslviz bench``), the benchmarks and the pages all call ``run`` so that
every reported accuracy comes from the same code and the same protocol.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Hashable

import torch

from sslviz import checkpoints, data, evaluate, methods, pacing
from sslviz.setting import valid_range
from sslviz.train import BatchCallback, Gate, TrainConfig, Trainer, TrainResult, configure_threads


@dataclass
class Experiment:
    """A trained method with its data, training result and evaluation."""

    method_name: str
    dataset: str
    seed: int
    method: methods.Method
    train_set: data.Dataset
    test_set: data.Dataset
    train_config: TrainConfig
    result: TrainResult
    metrics: dict[str, float] = field(default_factory=dict)
    pretrained_on: str = ""  # the split the method trained on, when not train_set's (STL-10: "unlabelled")
    promised_steps: int | None = None  # the steps its seconds buy on an idle server, when it trained beside other runs (sslviz.pacing)

    def summary(self) -> dict[str, Any]:
        """A flat, JSON-ready record: what ran, for how long, and every accuracy."""
        return {
            "method": self.method_name,
            "dataset": self.dataset,
            "seed": self.seed,
            "splits": [self.train_set.split, self.test_set.split],
            **({"pretrained_on": self.pretrained_on} if self.pretrained_on else {}),
            "seconds": round(self.result.seconds, 2),
            "steps": self.result.steps,
            "stopped_by": self.result.stopped_by,
            **({"promised_steps": self.promised_steps} if self.promised_steps is not None else {}),
            "message": self.result.message,
            "config": asdict(self.method.config),
            "train_config": asdict(self.train_config),
            **{k: round(v, 4) for k, v in self.metrics.items()},
        }


MAX_PROMISE = int(valid_range({f.name: f for f in fields(TrainConfig)}["min_steps"]).high)  # what TrainConfig.min_steps accepts

TEST_PROTOCOL = ("train", "test")  # train on, report on
SELECTION_PROTOCOL = ("fit", "val")  # choosing a setting: train on, score on — the test split never chooses


def prepare(method_name: str, dataset: str, seed: int = 0, splits: tuple[str, str] = TEST_PROTOCOL,
            **overrides: Any) -> tuple[methods.Method, data.Dataset, data.Dataset]:
    """Data splits (``splits``: train on, evaluate on) and a freshly initialised method (seeded) for one experiment."""
    train_set, test_set = data.load(dataset, splits[0], seed), data.load(dataset, splits[1], seed)
    torch.manual_seed(seed)
    method = methods.create(method_name, dataset, in_channels=train_set.channels, **overrides)
    return method, train_set, test_set


class Memo:
    """A small thread-safe LRU memo: ``get(key, compute)`` computes each key once, even when sessions ask at the same time.

    A second caller of a key that is being computed waits for it instead of computing it again
    (a class pressing Train together would otherwise evaluate the same baseline 30 times).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"Memo size must be >= 1, got {size}.")
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many times ``compute`` ran: what the tests count

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value for ``key``, computing it with ``compute()`` the first time."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:  # computed by the caller we waited for
                    return self._values[key]
            value = compute()
            with self._lock:
                self.computed += 1
                self._values[key] = value
                self._values.move_to_end(key)
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
                self._locks.pop(key, None)
            return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
            self.computed = 0


RAW_PIXELS = Memo(8)  # keyed by (dataset, seed, few_labels, splits)
RANDOM_INIT = Memo(32)  # keyed by (encoder fingerprint, dataset, seed, few_labels, splits)


def cached_raw_pixels(dataset: str, seed: int, few_labels: tuple[int, ...] = (), splits: tuple[str, str] = TEST_PROTOCOL,
                      on_status: Callable[[str], None] = lambda msg: None) -> dict[str, float]:
    """The raw-pixel baseline (the slowest part of an evaluation: a probe on every pixel), shared by every method and setting."""
    def compute() -> dict[str, float]:
        on_status("evaluating the raw-pixel baseline (once per dataset on this server)")
        return evaluate.raw_pixel_baseline(data.load(dataset, splits[0], seed), data.load(dataset, splits[1], seed), few_labels)

    return RAW_PIXELS.get((dataset, seed, tuple(few_labels), tuple(splits)), compute)


def fingerprint(module: torch.nn.Module) -> str:
    """A digest of a network's architecture (its printed structure) and its weights: equal digests, equal networks."""
    digest = hashlib.sha256(repr(module).encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def random_init_encoder(method_name: str, config: Any, seed: int) -> torch.nn.Module:
    """The encoder ``method_name`` starts from with ``config`` and ``seed``: what the random-init baseline measures."""
    torch.manual_seed(seed)
    return methods.spec(method_name).cls(config).encoder


def cached_random_init(method_name: str, config: Any, dataset: str, seed: int, few_labels: tuple[int, ...] = (),
                       splits: tuple[str, str] = TEST_PROTOCOL, on_status: Callable[[str], None] = lambda msg: None) -> dict[str, float]:
    """The random-init baseline, cached by what it depends on: the initial encoder's architecture and weights, the data, the split.

    Settings that do not touch the encoder (a temperature, a mask ratio, a break-it) share one
    entry, and so do methods that start from the same network.
    """
    encoder = random_init_encoder(method_name, config, seed)
    key = (fingerprint(encoder), dataset, seed, tuple(few_labels), tuple(splits))

    def compute() -> dict[str, float]:
        on_status("evaluating the random-init baseline (once per encoder on this server)")
        train_set, test_set = data.load(dataset, splits[0], seed), data.load(dataset, splits[1], seed)
        return evaluate.random_init_baseline(train_set, test_set, lambda: encoder, seed, few_labels)

    return RANDOM_INIT.get(key, compute)


def baselines(method_name: str, config: Any, dataset: str, seed: int, few_labels: tuple[int, ...] = (),
              splits: tuple[str, str] = TEST_PROTOCOL, on_status: Callable[[str], None] = lambda msg: None) -> dict[str, float]:
    """Raw-pixel and random-init baselines under the frozen-feature protocol, each computed once per server for what it depends on."""
    out = dict(cached_raw_pixels(dataset, seed, few_labels, splits, on_status))
    out.update(cached_random_init(method_name, config, dataset, seed, few_labels, splits, on_status))
    return out


def run(
    method_name: str = "simclr",
    dataset: str = "digits",
    seconds: float | None = 30.0,
    steps: int | None = None,
    seed: int = 0,
    device: str = "auto",
    method_overrides: dict[str, Any] | None = None,
    train_overrides: dict[str, Any] | None = None,
    on_batch_end: tuple[BatchCallback, ...] = (),
    stop_event: threading.Event | None = None,
    gate: Gate | None = None,
    with_baselines: bool = True,
    few_labels: tuple[int, ...] = (),
    evaluated: bool = True,
    on_status: Callable[[str], None] = lambda msg: None,
    splits: tuple[str, str] = TEST_PROTOCOL,
    sharing: Callable[[], int] | None = None,
    on_pace: Callable[[dict[str, Any]], None] = lambda pace: None,
) -> Experiment:
    """Train ``method_name`` on ``dataset`` within the budget, then evaluate it.

    Metrics (all on the held-out test split): probe_acc, knn_acc and, with baselines,
    raw_pixel_probe_acc, raw_pixel_knn_acc, random_init_probe_acc, random_init_knn_acc; with
    ``few_labels=(k, ...)`` also probe_{k}_per_class_acc for each (mean over 3 label draws);
    plus the method's own ``test_metrics`` (e.g. MAE's held-out test_masked_mse).
    A run that diverged is not evaluated: its summary carries the message instead; with
    ``evaluated=False`` none is (a recipe that scores the features its own way). ``splits``:
    what to train on and evaluate on — SELECTION_PROTOCOL ("fit", "val") to choose a setting.
    ``sharing()``: how many runs this process trains right now, this one included (the job runner knows). With it, a
    seconds budget is a promise of steps (:mod:`sslviz.pacing`): a run that starts beside others trains at least the
    steps its seconds buy on an idle server, and a run that trained alone records that rate. ``on_pace(pace)`` hears
    it before training starts: {"runs": runs sharing the server, "promised": steps or None, "expected_seconds": …}.
    """
    if evaluated and not data.info(dataset).labelled:
        raise ValueError(f"{dataset} has no classes (a flat folder of images), so there is no accuracy to report. "
                         "Put the images in one subfolder per class to evaluate them.")
    method, train_set, test_set = prepare(method_name, dataset, seed, splits, **(method_overrides or {}))
    train_config = TrainConfig(
        **{**methods.train_defaults(method_name, dataset), "max_seconds": seconds, "max_steps": steps, "seed": seed, "device": device, **(train_overrides or {})}
    )
    on_status("training")
    # a dataset made for SSL (STL-10) pre-trains on its unlabelled images; the probe and kNN still fit on the labelled train split
    pretrain_set = data.load(dataset, "unlabelled", seed) if data.info(dataset).unlabelled else train_set
    train_config, pace = _promise(method_name, dataset, method, train_config, sharing, on_pace)
    trainer = Trainer(method, method.inputs(pretrain_set), train_config, on_batch_end, stop_event, gate)
    result = trainer.fit()
    _keep_promise(pace, result, sharing, train_config.min_steps)
    if not result.diverged and result.steps and not torch.isfinite(method.embed(train_set.images[:64])).all():
        # InfoNCE on normalised embeddings stays finite for a step or two after a huge learning rate blew the encoder up
        result.mark_diverged(f"by step {result.steps}: the encoder's features became infinite or NaN (the normalised loss stayed finite)", train_config.lr)
    exp = Experiment(method_name, dataset, seed, method, train_set, test_set, train_config, result,
                     pretrained_on=pretrain_set.split if pretrain_set is not train_set else "", promised_steps=pace and pace.promised)
    if result.diverged or not evaluated:
        return exp
    exp.metrics = evaluation(exp, few_labels, with_baselines, on_status)
    return exp


@dataclass(frozen=True)
class Pace:
    """A run's promise (:mod:`sslviz.pacing`): its setting's key, its seconds, the runs beside it, the steps promised (or None)."""

    key: str
    budget: float
    others: int
    promised: int | None


def _promise(method_name: str, dataset: str, method: methods.Method, train_config: TrainConfig,
             sharing: Callable[[], int] | None, on_pace: Callable[[dict[str, Any]], None]) -> tuple[TrainConfig, Pace | None]:
    """The train config with the run's promised steps as its minimum, when it starts beside other runs; and its Pace."""
    budget = train_config.max_seconds  # the seconds in force (train_overrides may have changed them)
    if sharing is None or not budget or train_config.max_steps is not None:
        return train_config, None
    threads, cores = configure_threads(train_config.num_threads), os.cpu_count() or 1
    key, others = pacing.setting_key(method_name, dataset, method.config, train_config, threads), sharing() - 1
    promised = pacing.promised_steps(key, budget) if others > 0 else None
    if promised is not None:
        promised = min(promised, MAX_PROMISE)
        if promised > train_config.min_steps:
            train_config = replace(train_config, min_steps=promised)
    on_pace({"runs": others + 1, "promised": promised, "seconds": budget, "threads": threads, "cores": cores,
             "expected_seconds": pacing.expected_seconds(budget, others + 1, threads, cores)})
    return train_config, Pace(key, budget, others, promised)


def _keep_promise(pace: Pace | None, result: TrainResult, sharing: Callable[[], int] | None, min_steps: int) -> None:
    """After training: a run alone from start to end records its setting's idle rate; a stretched one says so."""
    if pace is None or sharing is None or result.stopped_by != "budget":
        return
    if pace.others == 0 and sharing() == 1:
        pacing.record(pace.key, result.steps, result.seconds)
    elif pace.promised is not None and result.seconds > pace.budget and result.steps <= min_steps:
        result.message = (f"Finished: {result.steps} steps in {result.seconds:.1f} s. {pace.others + 1} runs shared this server, so it ran "
                          f"past its {pace.budget:g} s budget to get the {pace.promised} steps {pace.budget:g} s buy on an idle server.")


def evaluation(exp: Experiment, few_labels: tuple[int, ...] = (), with_baselines: bool = True,
               on_status: Callable[[str], None] = lambda msg: None) -> dict[str, float]:
    """The metrics :func:`run` reports for a trained experiment (see there)."""
    on_status("evaluating the trained encoder: linear probe and kNN on its frozen features")
    t0 = time.perf_counter()
    metrics = evaluate.evaluate_encoder(exp.method.encoder, exp.train_set, exp.test_set, few_labels)
    metrics.update(exp.method.test_metrics(exp.test_set.images, exp.seed))
    if with_baselines:
        splits = (exp.train_set.split, exp.test_set.split)
        metrics.update(baselines(exp.method_name, exp.method.config, exp.dataset, exp.seed, few_labels, splits, on_status))
    metrics["eval_seconds"] = time.perf_counter() - t0
    return metrics


def from_checkpoint(method_name: str, dataset: str, few_labels: tuple[int, ...] = (), with_baselines: bool = True,
                    on_status: Callable[[str], None] = lambda msg: None) -> Experiment:
    """The shipped checkpoint of ``method_name`` on ``dataset`` (models/manifest.json) as an evaluated Experiment.

    Its history is the one recorded when it was pre-trained; its metrics are computed now, with
    the same protocol as :func:`run`, so they agree with the manifest's. ValueError (a
    ``CheckpointError`` for a bad file) when there is none or it cannot be used.
    """
    entry = checkpoints.read_manifest().get(f"{method_name}/{dataset}")
    if entry is None:
        raise checkpoints.CheckpointError(f"No pretrained {method_name} on {dataset} ships with sslviz. "
                                          f"Make one: python -m sslviz pretrain --method {method_name} --dataset {dataset}")
    on_status("loading the checkpoint")
    method, _ = checkpoints.load(checkpoints.MODELS / entry["file"], entry["sha256"], method_name, dataset)
    seed = int(entry["seed"])
    history = checkpoints.read_history(checkpoints.MODELS / entry["history"]) if entry.get("history") else []
    result = TrainResult(steps=int(entry["steps"]), seconds=float(entry["seconds"]), history=history,
                         message=f"Pretrained: {entry['file']} ({entry['steps']} steps, seed {seed}, default settings) — loaded, not trained now.")
    exp = Experiment(method_name, dataset, seed, method, data.load(dataset, "train", seed), data.load(dataset, "test", seed),
                     TrainConfig(**entry["train_config"]), result)
    exp.metrics = evaluation(exp, few_labels, with_baselines, on_status)
    return exp
