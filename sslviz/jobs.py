"""Background training jobs, one per browser session, capped across the whole server.

Streamlit must not train in the script thread (reruns would interrupt it) and must not call
``st.*`` from other threads. So a job's worker thread only writes to a plain :class:`Job`
object under a lock; the page reads a consistent copy with ``job.view()`` from a polling
fragment. Stopping sets an Event the training loop checks every step.

A process-wide :data:`RUNNER` lets at most ``max_concurrent`` jobs train at once (the
machine has few cores); the rest wait in a queue whose position the page shows. Its watchdog
bounds every job: a wall-clock limit, a server memory limit, and a run nobody looks at any more
(the tab was closed) is stopped. Finished jobs are referenced only by their session's state, so
when Streamlit drops a closed session (``server.disconnectedSessionTTL``) its tensors go too.
"""

from __future__ import annotations

import ctypes
import os
import resource
import threading
import time
import traceback
import types
import uuid
import weakref
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from sslviz import augment, data, evaluate, experiment, methods, multimodal
from sslviz.nets import SmallCNN, eval_mode
from sslviz.project import pca_2d
from sslviz.train import Trainer, TrainConfig, app_threads, take, to_device

STATUSES = ("queued", "running", "done", "stopped", "failed")


@dataclass(frozen=True)
class JobView:
    """A consistent copy of a job's state at one instant, safe to render."""

    id: str
    status: str
    message: str
    history: list[dict[str, float]]
    state: dict[str, Any]
    queue_position: int | None
    started: float | None
    finished: float | None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


class StopEvent(threading.Event):
    """A stop flag that also says who stopped the job (the Trainer puts it in its message)."""

    reason = "by the user"


def rss_mb() -> float | None:
    """This process's resident memory in MB right now (None where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return None


def release_memory() -> None:
    """Hand freed heap memory back to the OS (glibc's malloc_trim), so the server's RSS falls after a big run."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


@dataclass(eq=False)  # compared and hashed by identity: the runner keeps weak references to jobs
class Job:
    """State shared between a worker thread (writer) and the page (reader)."""

    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    status: str = "queued"
    message: str = "Waiting for a free trainer..."
    history: list[dict[str, float]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None
    stop_event: StopEvent = field(default_factory=StopEvent)
    last_seen: float = field(default_factory=time.monotonic)  # when a page last rendered it
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _runner: "JobRunner | None" = field(default=None, repr=False)

    def log(self, row: dict[str, float]) -> None:
        """Append one row (e.g. one training step's metrics) to the history."""
        with self._lock:
            self.history.append(dict(row))

    def update(self, message: str | None = None, **state: Any) -> None:
        """Set state entries (and optionally the status message)."""
        with self._lock:
            self.state.update(state)
            if message is not None:
                self.message = message

    def stop(self, reason: str = "by the user") -> None:
        """Ask the job to stop: a queued job never starts, a running one ends after its current step."""
        if not self.stop_event.is_set():
            self.stop_event.reason = reason
        self.stop_event.set()

    def view(self) -> JobView:
        """A consistent copy of the state; calling it also marks the job as watched."""
        with self._lock:
            self.last_seen = time.monotonic()
            return JobView(
                self.id, self.status, self.message, list(self.history), dict(self.state),
                self._runner.queue_position(self) if self._runner and self.status == "queued" else None,
                self.started, self.finished,
            )

    def _set_status(self, status: str, message: str) -> None:
        with self._lock:
            self.status, self.message = status, message
            if status == "running":
                self.started = time.time()
            elif status in ("done", "stopped", "failed"):
                self.finished = time.time()


MAX_JOB_SECONDS = 900.0  # the longest page job (a 4-way comparison at the 120-s budget) takes ~10 min
IDLE_SECONDS = 180.0  # an open tab polls every second; Chrome throttles hidden tabs to once a minute
MAX_JOB_MB = 2048.0  # growth of the server's memory while a job runs; the largest page settings peak at ~1.6 GB
MAX_RSS_MB = 6144.0  # the whole server: a guard for the machine


class JobRunner:
    """Runs jobs in daemon threads, at most ``max_concurrent`` at a time, first come first served.

    A watchdog thread checks every ``watch_every`` seconds (see :meth:`check`) that no running
    job exceeds ``max_seconds``, that someone still looks at it (``idle_seconds``), that the
    process has not grown by more than ``max_job_mb`` since the job started (its memory), and
    that the whole process stays under ``max_rss_mb``.
    """

    def __init__(self, max_concurrent: int = 1, max_seconds: float = MAX_JOB_SECONDS, idle_seconds: float = IDLE_SECONDS,
                 max_job_mb: float = MAX_JOB_MB, max_rss_mb: float = MAX_RSS_MB, watch_every: float = 1.0) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {max_concurrent}.")
        if min(max_seconds, idle_seconds, max_job_mb, max_rss_mb, watch_every) <= 0:
            raise ValueError("max_seconds, idle_seconds, max_job_mb, max_rss_mb and watch_every must be positive.")
        self.max_concurrent = max_concurrent
        self.max_seconds, self.idle_seconds, self.max_job_mb, self.max_rss_mb = max_seconds, idle_seconds, max_job_mb, max_rss_mb
        self._slots = threading.Semaphore(max_concurrent)
        self._waiting: list[str] = []
        self._lock = threading.Lock()
        # weak: a job the runner watches is still freed with its session. Job -> (start time, RSS at start).
        self._running_since: weakref.WeakKeyDictionary[Job, tuple[float, float]] = weakref.WeakKeyDictionary()
        watchdog = threading.Thread(target=self._watch, args=(weakref.ref(self), watch_every), name="sslviz-watchdog", daemon=True)
        watchdog.start()

    @staticmethod
    def _watch(runner_ref: "weakref.ref[JobRunner]", every: float) -> None:
        while (runner := runner_ref()) is not None:
            runner.check()
            del runner  # hold no reference while sleeping, so an unused runner can be freed
            time.sleep(every)

    def check(self) -> list[Job]:
        """One watchdog pass: stop jobs over their time limit, unwatched, or over the memory limit; return them."""
        now = time.monotonic()
        with self._lock:
            running = sorted(self._running_since.items(), key=lambda item: item[1])
        stopped = []
        for job, (since, _) in running:
            if job.stop_event.is_set():
                continue
            if now - since > self.max_seconds:
                job.stop(f"by the server at its limit of {self.max_seconds:.0f} s per run")
            elif now - job.last_seen > self.idle_seconds:
                job.stop(f"by the server: no page had shown this run for {self.idle_seconds:.0f} s (tab closed?)")
            else:
                continue
            stopped.append(job)
        rss = rss_mb()
        live = [(job, start_rss) for job, (_, start_rss) in running if not job.stop_event.is_set()]
        if rss is None or not live:
            return stopped
        newest, start_rss = live[-1]  # the run that started last has had the least time to produce results
        if rss - start_rss > self.max_job_mb:
            newest.stop(f"by the server: the server's memory grew by {rss - start_rss:,.0f} MB during this run "
                        f"(limit {self.max_job_mb:,.0f} MB per run) — try a smaller batch or model")
        elif rss > self.max_rss_mb:
            newest.stop(f"by the server: it was using {rss:,.0f} MB of memory (limit {self.max_rss_mb:,.0f} MB) — try a smaller batch or model")
        else:
            return stopped
        return stopped + [newest]

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to start, None if the job is not waiting."""
        with self._lock:
            return self._waiting.index(job.id) + 1 if job.id in self._waiting else None

    def submit(self, target: Callable[[Job], str | None], name: str = "job") -> Job:
        """Start ``target(job)`` in a background thread once a slot is free; return the job.

        The job ends "done", or "stopped" if it was asked to stop; a target may decide by
        returning "done" or "stopped" (e.g. a stop that came after training had finished).
        """
        job = Job(name=name, _runner=self)
        with self._lock:
            self._waiting.append(job.id)
        # Daemon: a job must never keep the server alive; every job has a bounded budget.
        threading.Thread(target=self._run, args=(job, target), name=f"sslviz-{name}-{job.id}", daemon=True).start()
        return job

    def _acquire(self, job: Job) -> bool:
        """Wait for a slot in FIFO order; False if the job was stopped while waiting."""
        while not job.stop_event.is_set():
            with self._lock:
                first = self._waiting[0] == job.id
            if first and self._slots.acquire(timeout=0.1):
                return True
            time.sleep(0.05)
        return False

    def _run(self, job: Job, target: Callable[[Job], str | None]) -> None:
        got_slot = self._acquire(job)
        with self._lock:
            self._waiting.remove(job.id)
        if not got_slot:
            job._set_status("stopped", "Cancelled before it started.")
            return
        try:
            job._set_status("running", "Running...")
            with self._lock:
                self._running_since[job] = (time.monotonic(), rss_mb() or 0.0)
            outcome = target(job)
            if job.status == "running":
                stopped = job.stop_event.is_set() if outcome is None else outcome == "stopped"
                job._set_status("stopped" if stopped else "done", job.message)
        except Exception as err:  # the page shows the message; the server keeps running
            job.update(traceback=traceback.format_exc())
            job._set_status("failed", f"{type(err).__name__}: {err}")
        finally:
            with self._lock:
                self._running_since.pop(job, None)
            release_memory()
            self._slots.release()


def default_max_concurrent() -> int:
    """SSLVIZ_MAX_JOBS if set, else one training job per two cores (at least one)."""
    env = os.environ.get("SSLVIZ_MAX_JOBS", "")
    return max(1, int(env)) if env.isdigit() else max(1, (os.cpu_count() or 1) // 2)


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


RUNNER = JobRunner(default_max_concurrent(), max_seconds=_env_float("SSLVIZ_MAX_JOB_SECONDS", MAX_JOB_SECONDS),
                   idle_seconds=_env_float("SSLVIZ_IDLE_SECONDS", IDLE_SECONDS), max_job_mb=_env_float("SSLVIZ_MAX_JOB_MB", MAX_JOB_MB),
                   max_rss_mb=_env_float("SSLVIZ_MAX_RSS_MB", MAX_RSS_MB))


def pretrained_source(method_name: str, dataset: str, few_labels: tuple[int, ...] = ()) -> Callable[[Callable[[str], None]], experiment.Experiment]:
    """``loaded`` for :func:`experiment_job`: the shipped checkpoint of ``method_name`` on ``dataset``, evaluated now."""
    return lambda on_status: experiment.from_checkpoint(method_name, dataset, few_labels, on_status=on_status)


def run_now(target: Callable[[Job], str | None], name: str) -> Job:
    """Run a job target in this thread (no queue) and return the finished job — for quick work such as loading a checkpoint."""
    job = Job(name)
    job._set_status("running", "Running...")
    try:
        status = target(job)
    except ValueError as err:  # a clear message for the page (e.g. a checkpoint that cannot be used)
        fail(job, str(err))
        return job
    if status is not None:
        job._set_status(status, job.message)
    return job


def copy_finished(job: Job) -> Job:
    """A new finished job with ``job``'s history, state and message (one per browser session; the model object is shared, read-only)."""
    view = job.view()
    twin = Job(job.name, status=view.status, message=view.message, history=list(view.history), state=dict(view.state))
    twin.started, twin.finished = view.started, view.finished
    return twin


def fail(job: Job, message: str) -> None:
    """End ``job`` as failed with a user-facing ``message`` (e.g. a diverged loss)."""
    job._set_status("failed", message)


def experiment_job(
    method_name: str,
    dataset: str,
    seconds: float,
    seed: int = 0,
    device: str = "auto",
    method_overrides: dict[str, Any] | None = None,
    train_overrides: dict[str, Any] | None = None,
    embed_every: float = 1.0,
    n_embed: int = 500,
    snapshot_size: int = 16,
    few_labels: tuple[int, ...] = (1, 2, 5, 10),
    label: str = "",
    live_snapshots: bool = False,
    track_rounds: bool = False,
    score_layers: bool = False,
    loaded: Callable[[Callable[[str], None]], experiment.Experiment] | None = None,
) -> Callable[[Job], str | None]:
    """A job target that trains a method live and publishes what a page shows while it runs.

    The history gets every step's metrics; ``state["embedding"]`` a 2-D PCA of test-image
    features (``state["features"]``) about every ``embed_every`` seconds (with ``live_snapshots``
    also ``state["snapshot"]``, e.g. MAE's reconstructions, with the same mask every time); at the end
    ``state["summary"]`` (accuracies vs baselines), ``state["snapshot"]`` and ``state["model"]``
    (the trained method, on the CPU, in eval mode). ``track_rounds`` adds ``state["rounds"]``
    for round-based methods (DeepCluster; see :func:`round_tracker`). ``score_layers`` adds
    ``state["layers"]``: probe and kNN after each block of the backbone, trained vs random init.
    Multi-modal methods also get ``state["multimodal"]`` (:func:`sslviz.multimodal.report`).
    ``loaded(on_status)`` replaces training: it returns an already trained Experiment (a shipped
    checkpoint, :func:`pretrained_source`, or an imported run bundle), whose recorded history and
    final state are published the same way; its seed and settings then replace the arguments'.
    """

    def target(job: Job) -> str | None:
        test = data.load(dataset, "test", seed)
        subset = test.images[:n_embed]
        labels = test.labels[:n_embed].numpy()
        config = methods.default_config(method_name, dataset, in_channels=test.channels, **(method_overrides or {}))
        job.update(method=method_name, dataset=dataset, class_names=list(test.class_names), seconds=seconds, config=asdict(config), label=label or method_name)
        last = {"t": -float("inf"), "coords": None}

        def publish_embedding(method, step: int) -> None:
            now = time.perf_counter()
            if now - last["t"] < embed_every:
                return
            device = next(method.parameters()).device
            features = method.embed(subset.to(device))
            if not torch.isfinite(features).all():
                return  # weights just blew up: the next step's NaN guard ends the run with a message
            coords = pca_2d(features)
            if last["coords"] is not None:  # PCA's sign is arbitrary: keep the picture from flipping
                coords *= np.where((coords * last["coords"]).sum(0) < 0, -1.0, 1.0)
            last["t"], last["coords"] = now, coords
            job.update(embedding=coords, embedding_labels=labels, embedding_step=step, features=features.cpu().numpy())
            if live_snapshots:
                snap = method.snapshot(to_device(take(method.inputs(test), slice(0, snapshot_size)), device), torch.Generator(device=device).manual_seed(seed))
                job.update(snapshot={**snap, "step": step})

        def on_batch_end(trainer, metrics) -> None:
            job.log(metrics)
            job.update(progress=min(1.0, metrics["seconds"] / seconds), message=f"Training: step {int(metrics['step'])}, {metrics['seconds']:.1f} s of {seconds:g} s")
            publish_embedding(trainer.method, int(metrics["step"]))

        callbacks = (on_batch_end, round_tracker(job, data.load(dataset, "train", seed))) if track_rounds else (on_batch_end,)
        if loaded is not None:
            exp = loaded(lambda s: job.update(message=f"{s.capitalize()}..."))
            for row in exp.result.history:
                job.log(row)
            job.update(config=asdict(exp.method.config))
            if track_rounds:  # a loaded DeepCluster kept no rounds: cluster its final features once, for the tables and galleries
                final_clustering(job, exp, seed)
        else:
            exp = experiment.run(
                method_name, dataset, seconds=seconds, seed=seed, device=device,
                method_overrides=method_overrides, train_overrides={"num_threads": app_threads(), **(train_overrides or {})},
                on_batch_end=callbacks, stop_event=job.stop_event, few_labels=few_labels,
                on_status=lambda s: job.update(message=f"{s.capitalize()}..."),
            )
        if exp.result.diverged:
            fail(job, exp.result.message)
            return None
        last["t"] = -float("inf")
        if exp.result.steps:
            publish_embedding(exp.method, exp.result.steps)  # the final picture
        if score_layers:
            job.update(message="Scoring every layer of the backbone (trained and random init)...")
            torch.manual_seed(seed)
            random_init = methods.spec(method_name).cls(exp.method.config)
            grey = getattr(exp.method, "grey_input", False)
            job.update(layers={"trained": evaluate.layer_scores(exp.method.backbone, exp.train_set, exp.test_set, grey=grey),
                               "random init": evaluate.layer_scores(random_init.backbone, exp.train_set, exp.test_set, grey=grey),
                               "transfer_layer": exp.method.config.transfer_layer})
        gen = torch.Generator().manual_seed(seed)
        method = exp.method.cpu().eval()
        snap = method.snapshot(take(method.inputs(test), slice(0, snapshot_size)), gen)
        if methods.spec(method_name).paired:
            job.update(message="Measuring zero-shot, retrieval and captions on held-out pairs...")
            job.update(multimodal=multimodal.report(method, test))
        if getattr(method.config, "proj_dim", 0) in (2, 3):  # small heads: show the circle/sphere itself
            with torch.no_grad(), eval_mode(method):
                job.update(sphere=torch.nn.functional.normalize(method.project(subset), dim=1).numpy())
        job.update(summary=exp.summary(), snapshot={**snap, "step": exp.result.steps}, model=method, progress=1.0, message=exp.result.message)
        return "stopped" if exp.result.stopped_by == "stop" else "done"

    return target


def final_clustering(job: Job, exp: experiment.Experiment, seed: int) -> None:
    """One round record (``state["rounds"]``, flagged ``state["rounds_final"]``) from k-means on a trained DeepCluster's features."""
    method = exp.method
    result = method.cluster(exp.train_set.images, torch.Generator().manual_seed(seed))
    sizes = torch.bincount(result.labels, minlength=method.config.k)
    method.rounds = [{"round": 1, "labels": result.labels.cpu().numpy(), "sizes": sizes.cpu().numpy(), "empty": result.empty, "refilled": result.refilled}]
    trainer = types.SimpleNamespace(method=method, device=torch.device("cpu"))
    round_tracker(job, exp.train_set)(trainer, {"step": exp.result.steps, "seconds": exp.result.seconds})
    job.update(rounds_final=True)


def cluster_cues(dataset: data.Dataset) -> dict[str, np.ndarray]:
    """What clusters are scored against: the class, and on shapes also colour and size (the easy cues)."""
    return {"class": dataset.labels.numpy(), **{a: dataset.attributes[a] for a in ("colour", "size") if a in dataset.attributes}}


def round_tracker(job: Job, train: data.Dataset, n_points: int = 500) -> Callable[[Any, dict[str, float]], None]:
    """A Trainer callback that scores every new DeepCluster round against the truth (for display only).

    ``state["rounds"]`` gets one record per round: NMI/ARI of the pseudo-labels with the true
    class (and with colour and size on shapes: which cue do the clusters follow?), cluster sizes,
    empty clusters, the share of images whose cluster changed, and a 2-D PCA of the features of
    the first ``n_points`` training images. The labels never reach the method.
    """
    records: list[dict[str, Any]] = []
    cues = cluster_cues(train)

    def callback(trainer, metrics: dict[str, float]) -> None:
        rounds = getattr(trainer.method, "rounds", [])
        if len(rounds) == len(records):
            return
        r = rounds[-1]
        labels = r["labels"]
        rec = {"round": r["round"], "step": int(metrics["step"]), "seconds": metrics["seconds"], "labels": labels.astype(np.int16),
               "sizes": r["sizes"], "empty": r["empty"], "refilled": r["refilled"], "largest": float(r["sizes"].max() / r["sizes"].sum()),
               "nmi": evaluate.nmi(labels, cues["class"]), "ari": evaluate.ari(labels, cues["class"]),
               **{f"nmi_{cue}": evaluate.nmi(labels, values) for cue, values in cues.items() if cue != "class"}}
        if records:
            rec["changed"] = evaluate.changed_fraction(records[-1]["labels"], labels)
            rec["nmi_previous"] = evaluate.nmi(records[-1]["labels"], labels)
        rec["coords"] = pca_2d(trainer.method.embed(train.images[:n_points].to(trainer.device)))
        records.append(rec)
        job.update(rounds=list(records))

    return callback


def comparison_job(
    runs: dict[str, tuple[str, dict[str, Any]]], dataset: str, seconds: float, seed: int = 0, device: str = "auto"
) -> Callable[[Job], str | None]:
    """Train several runs one after another with the same budget, seed and data.

    ``runs`` maps a label to (method name, method settings), e.g. {"SimCLR": ("simclr", {})} or
    {"mask 0.5": ("mae", {"mask_ratio": 0.5})}; use :func:`same_settings` for plain methods.
    Every history row carries a "method" key (the label); ``state["results"]`` maps each finished
    label to its summary (accuracies vs baselines; a diverged run's summary has only its message).
    """

    def target(job: Job) -> str | None:
        results: dict[str, dict] = {}
        for i, (label, (name, overrides)) in enumerate(runs.items()):
            if job.stop_event.is_set():
                break

            def on_batch_end(trainer, metrics, label=label, i=i) -> None:
                job.log({**metrics, "method": label})
                done = (i + min(1.0, metrics["seconds"] / seconds)) / len(runs)
                job.update(progress=done, message=f"Training {label} ({i + 1}/{len(runs)}): {metrics['seconds']:.0f} s of {seconds:g} s")

            exp = experiment.run(name, dataset, seconds=seconds, seed=seed, device=device, method_overrides=overrides,
                                 train_overrides={"num_threads": app_threads()}, on_batch_end=(on_batch_end,), stop_event=job.stop_event,
                                 on_status=lambda s, label=label: job.update(message=f"{label}: {s}..."))
            results[label] = exp.summary()
            job.update(results=dict(results))
        job.update(progress=1.0, message=f"Compared {len(results)} runs, {seconds:g} s each, seed {seed}, on {dataset}.")
        return "stopped" if job.stop_event.is_set() else "done"

    return target


def same_settings(method_names: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Comparison runs for ``method_names``, each with its tuned defaults, labelled by name."""
    return {name: (name, {}) for name in method_names}


def clustering_comparison_job(dataset: str, seconds: float, seed: int = 0, device: str = "auto", k: int = 30) -> Callable[[Job], str | None]:
    """k-means with the same k, PCA-whitening and seed on four feature sets of the training images.

    Raw pixels, a random-init CNN, a SimCLR encoder and a DeepCluster encoder (each trained
    ``seconds``). ``state["rows"]`` maps each, in that order, to NMI/ARI with the class (and NMI
    with colour and size on shapes).
    """

    def target(job: Job) -> str | None:
        train = data.load(dataset, "train", seed)
        cues = cluster_cues(train)
        rows: dict[str, dict[str, float]] = {}

        def score(name: str, features) -> None:
            rows[name] = evaluate.kmeans_scores(features, cues, k, seed=seed)
            job.update(rows=dict(rows))

        job.update(message="k-means on raw pixels...", k=k, dataset=dataset)
        score("raw pixels", train.images.flatten(1))
        torch.manual_seed(seed)
        score("random-init CNN", evaluate.extract_features(methods.create("simclr", dataset, in_channels=train.channels).encoder, train.images))
        for i, (label, name, overrides) in enumerate((("SimCLR", "simclr", {}), ("DeepCluster", "deepcluster", {"k": k}))):
            if job.stop_event.is_set():
                break

            def on_batch_end(trainer, metrics, label=label, i=i) -> None:
                job.update(progress=(i + min(1.0, metrics["seconds"] / seconds)) / 2, message=f"Training {label}: {metrics['seconds']:.0f} s of {seconds:g} s")

            method, _, _ = experiment.prepare(name, dataset, seed, **overrides)
            trainer_config = {**methods.train_defaults(name, dataset), "max_seconds": seconds, "seed": seed, "device": device, "num_threads": app_threads()}
            result = Trainer(method, train.images, TrainConfig(**trainer_config), (on_batch_end,), job.stop_event).fit()
            if result.diverged:
                job.update(message=result.message)
                continue
            score(f"{label} ({seconds:g} s)", evaluate.extract_features(method.encoder, train.images))
        job.update(progress=1.0, message=f"k-means with k = {k} on {len(rows)} feature sets of the {len(train)} {dataset} training images, seed {seed}.")
        return "stopped" if job.stop_event.is_set() else "done"

    return target



def supervised_preset(dataset: str) -> str:
    """The augmentation preset every supervised run on ``dataset`` uses (fine-tune and scratch alike): the SSL methods' own."""
    return methods.spec("simclr").config_for(dataset)["augment"]


def backbone_factory(channels: int) -> Callable[[], torch.nn.Module]:
    """New, randomly initialised copies of the CNN backbone the SSL methods train (SimCLR's width)."""
    return lambda: SmallCNN(channels, methods.spec("simclr").config["width"])


def downstream_job(
    encoders: dict[str, tuple[str, dict[str, Any]]], dataset: str, seconds: float, seed: int = 0, device: str = "auto",
    fractions: tuple[float, ...] = evaluate.LABEL_FRACTIONS, seeds: tuple[int, ...] = (0, 1, 2), modes: tuple[str, ...] = evaluate.MODES,
    scratch: bool = True, steps: int = 1000, trained: dict[str, methods.Method] | None = None, n_embed: int = 500,
) -> Callable[[Job], str | None]:
    """Pre-train each encoder (or take it from ``trained``), then measure what it buys downstream.

    Every encoder shares the backbone, the pre-training budget and seed, the label draws, the
    supervised recipe (``steps`` augmented steps) and the test split. Published state:
    "pretrain" (label -> seconds, steps, probe and kNN with all labels), "features" (label -> frozen
    features of the first ``n_embed`` test images), "confusion" (label -> probe confusion matrix), "attributes"
    (label, plus "random init" -> "linear probe"/"kNN" -> accuracy per attribute), "chance", and "rows": the
    label-efficiency rows of :func:`evaluate.label_efficiency`, growing as they are measured.
    """

    def target(job: Job) -> str | None:
        train, test = data.load(dataset, "train", seed), data.load(dataset, "test", seed)
        preset = supervised_preset(dataset)
        job.update(dataset=dataset, class_names=list(test.class_names), pretrain={}, features={}, confusion={}, attributes={}, rows=[],
                   embedding_labels=test.labels[:n_embed].numpy(), chance=evaluate.chance_levels(train, test),
                   settings={"seconds": seconds, "seed": seed, "steps": steps, "fractions": list(fractions), "seeds": list(seeds),
                             "augment": preset})
        models: dict[str, torch.nn.Module] = {}
        for i, (label, (name, overrides)) in enumerate(encoders.items()):
            if job.stop_event.is_set():
                break
            if trained and label in trained:
                models[label] = trained[label].encoder
                job.update(pretrain={**job.state["pretrain"], label: {"seconds": 0.0, "steps": 0, "note": "not pre-trained here: from another page or models/"}})
                continue

            def on_batch_end(trainer, metrics, label=label, i=i) -> None:
                done = (i + min(1.0, metrics["seconds"] / seconds)) / len(encoders)
                job.update(progress=(0.3 if fractions else 0.9) * done, message=f"Pre-training {label} without labels ({i + 1}/{len(encoders)}): {metrics['seconds']:.0f} s of {seconds:g} s")

            exp = experiment.run(name, dataset, seconds=seconds, seed=seed, device=device, method_overrides=overrides, with_baselines=False,
                                 train_overrides={"num_threads": app_threads()}, on_batch_end=(on_batch_end,), stop_event=job.stop_event)
            if exp.result.diverged:
                fail(job, f"{label}: {exp.result.message}")
                return None
            models[label] = exp.method.cpu().eval().encoder
            job.update(pretrain={**job.state["pretrain"], label: {"seconds": exp.result.seconds, "steps": exp.result.steps,
                                                                  "probe": exp.metrics["probe_acc"], "knn": exp.metrics["knn_acc"]}})
        if job.stop_event.is_set():
            job.update(message=f"Stopped {job.stop_event.reason} during pre-training, before any evaluation.")
            return "stopped"
        torch.manual_seed(seed)
        random_init = backbone_factory(train.channels)()
        for label, encoder in {**models, "random init": random_init}.items():
            job.update(message=f"Probing what {label} keeps (attributes, confusion matrix, PCA)...")
            xtr, xte = evaluate.extract_features(encoder, train.images), evaluate.extract_features(encoder, test.images)
            job.update(attributes={**job.state["attributes"], label: {how: evaluate.attribute_probes(xtr, xte, train, test, how) for how in evaluate.ATTRIBUTE_READERS}})
            if label in models:
                predicted = evaluate.probe_predictions(xtr, train.labels, xte)
                job.update(confusion={**job.state["confusion"], label: evaluate.confusion_matrix(test.labels, predicted, len(test.class_names))},
                           features={**job.state["features"], label: xte[:n_embed].numpy()})

        def on_row(row: dict, progress: float) -> None:
            job.update(rows=job.state["rows"] + [row], progress=0.3 + 0.7 * progress,
                       message=f"{row['encoder']} · {row['mode']} · {row['labels']} labels · seed {row['seed']}: {row['accuracy']:.3f}")

        make_scratch = backbone_factory(train.channels)
        if fractions:  # none: pre-training and attribute probes only (the Multi-modal page's "why language")
            evaluate.label_efficiency(models, make_scratch if scratch else None, train, test, augment.preset(preset), fractions, seeds, modes,
                                      evaluate.SupervisedConfig(steps=steps), on_row=on_row, should_stop=job.stop_event.is_set)
        job.update(encoders=models, progress=1.0)
        if job.stop_event.is_set():
            job.update(message=f"Stopped {job.stop_event.reason} after {len(job.state['rows'])} evaluations; the results so far are shown.")
            return "stopped"
        job.update(message=f"Done: {len(job.state['rows'])} evaluations.")
        return "done"

    return target


def weak_supervision_job(encoder: torch.nn.Module, label: str, dataset: str, noise: float, seed: int = 0, steps: int = 1000,
                         fractions: tuple[float, ...] = (0.01, 0.05)) -> Callable[[Job], str | None]:
    """Weak labels vs few clean ones: the backbone trained from scratch on every image with a ``noise`` share of wrong
    labels, against a linear probe on ``encoder``'s frozen features with a few clean labels. State: "result"."""

    def target(job: Job) -> str | None:
        train, test = data.load(dataset, "train", seed), data.load(dataset, "test", seed)
        augment_config = augment.preset(supervised_preset(dataset))
        job.update(message=f"Training from scratch on all {len(train)} images, {noise:.0%} of the labels wrong...", progress=0.1)
        weak = evaluate.weakly_supervised(backbone_factory(train.channels), train, test, noise, augment_config, evaluate.SupervisedConfig(steps=steps), seed, job.stop_event.is_set)
        if job.stop_event.is_set():
            return "stopped"
        xtr, xte = evaluate.extract_features(encoder, train.images), evaluate.extract_features(encoder, test.images)
        clean = {}
        for fraction in fractions:
            idx = evaluate.label_subset(train.labels, fraction, seed)
            clean[fraction] = (len(idx), evaluate.linear_probe(xtr[idx], train.labels[idx], xte, test.labels))
        job.update(result={"noise": noise, "weak": weak, "labels": len(train), "clean": clean, "encoder": label, "dataset": dataset},
                   progress=1.0, message=f"Done: {noise:.0%} noisy labels on all {len(train)} images → {weak:.3f}.")
        return "done"

    return target
