"""The live-run recipe every page uses: train (or load) one method and publish what the page draws while it runs.

Nothing here names a method: what differs per method comes from its hooks (``report``,
``layers``/``layer_encoder``, ``rounds_so_far``, ``on_loaded``) and its registry entry.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Callable

import numpy as np
import torch

from sslviz import bundles, data, evaluate, experiment, methods
from sslviz.jobs import Job, fail
from sslviz.nets import eval_mode
from sslviz.reduce import pca_2d
from sslviz.serving import threads_per_run

Target = Callable[[Job], "str | None"]
Loader = Callable[[Callable[[str], None]], experiment.Experiment]


def pretrained_source(method_name: str, dataset: str, few_labels: tuple[int, ...] = ()) -> Loader:
    """``loaded`` for :func:`experiment_job`: the shipped checkpoint of ``method_name`` on ``dataset``, evaluated now."""
    return lambda on_status: experiment.from_checkpoint(method_name, dataset, few_labels, on_status=on_status)


TRAINING_SHARE = 0.8  # of the progress bar; evaluation (probe, kNN, baselines) fills the rest
FEW_LABELS = (1, 2, 5, 10)  # a live run's few-label probes (labels per class)


def warm_up(dataset: str, seed: int) -> None:
    """Do ahead, once per server, what the first live run on ``dataset`` would otherwise do after Train was pressed.

    That is: the dataset is loaded, the scikit-learn probe imported, and the raw-pixel and random-init baselines of the
    first contrastive method (the Contrastive page's default; its encoder is the other contrastive methods' too) evaluated into the
    server's baseline cache (:func:`sslviz.experiment.baselines`), which a run evaluating them meanwhile waits for.
    """
    if data.missing(dataset) or not data.info(dataset).labelled:
        return
    names = methods.of_family("contrastive", dataset=dataset)
    if not names:
        return
    test = data.load(dataset, "test", seed)
    method_name = names[0]
    config = methods.default_config(method_name, dataset, in_channels=test.channels)
    experiment.baselines(method_name, config, dataset, seed, FEW_LABELS)


class LivePublisher:
    """Publishes a run's live views into ``job.state``: a 2-D PCA of test features (and optionally snapshots) every ``every`` seconds."""

    def __init__(self, job: Job, test: data.Dataset, seed: int, every: float = 1.0, n_embed: int = 500,
                 snapshots: bool = False, snapshot_size: int = 16) -> None:
        self.job, self.test, self.seed, self.every, self.snapshots, self.snapshot_size = job, test, seed, every, snapshots, snapshot_size
        self.subset, self.labels = test.images[:n_embed], test.labels[:n_embed].numpy()
        self.last_time, self.last_coords = -float("inf"), None

    def __call__(self, trainer, metrics: dict[str, float]) -> None:
        """The Trainer callback: log the step and refresh the views when they are due."""
        self.job.log(metrics)
        seconds, pace, step = self.job.state.get("seconds") or 1.0, self.job.state.get("pace") or {}, int(metrics["step"])
        if pace.get("promised"):  # sharing the server: the promised steps are the budget (sslviz.pacing)
            self.job.update(progress=TRAINING_SHARE * min(1.0, step / pace["promised"]),
                            message=f"Training: step {step} of the {pace['promised']} promised, {metrics['seconds']:.1f} s "
                                    f"(about {pace['expected_seconds']:.0f} s while {pace['runs']} runs share the server)")
        else:
            self.job.update(progress=TRAINING_SHARE * min(1.0, metrics["seconds"] / seconds),
                            message=f"Training: step {step}, {metrics['seconds']:.1f} s of {seconds:g} s")
        self.publish(trainer.method, int(metrics["step"]))

    def publish(self, method: methods.Method, step: int, force: bool = False) -> None:
        """Embed the test subset (PCA, sign-stable between updates) and, with ``snapshots``, the method's snapshot."""
        now = time.perf_counter()
        paused = self.job.gate.paused  # stepping one step at a time: every step is drawn
        if not (force or paused) and now - self.last_time < self.every:
            return
        device = next(method.parameters()).device
        features = method.embed(self.subset.to(device))
        if not torch.isfinite(features).all():
            return  # weights just blew up: the next step's NaN guard ends the run with a message
        coords = pca_2d(features)
        if self.last_coords is not None:  # PCA's sign is arbitrary: keep the picture from flipping
            coords *= np.where((coords * self.last_coords).sum(0) < 0, -1.0, 1.0)
        self.last_time, self.last_coords = now, coords
        self.job.update(embedding=coords, embedding_labels=self.labels, embedding_step=step, features=features.cpu().numpy())
        if self.snapshots or paused:
            batch = data.to_device(data.take(method.inputs(self.test), slice(0, self.snapshot_size)), device)
            self.job.update(snapshot={**method.snapshot(batch, torch.Generator(device=device).manual_seed(self.seed)), "step": step})


def round_tracker(job: Job, train: data.Dataset, n_points: int = 500) -> Callable[[Any, dict[str, float]], None]:
    """A Trainer callback that scores every new round of a round-based method against the truth (for display only).

    ``state["rounds"]`` gets one record per round (:func:`sslviz.evaluate.score_round`) plus a 2-D
    PCA of the features of the first ``n_points`` training images. The labels never reach the method.
    """
    records: list[dict[str, Any]] = []
    cues = evaluate.cluster_cues(train)

    def callback(trainer, metrics: dict[str, float]) -> None:
        rounds = trainer.method.rounds_so_far()
        if len(rounds) == len(records):
            return
        rec = evaluate.score_round(rounds[-1], cues, records[-1] if records else None)
        rec.update(step=int(metrics["step"]), seconds=metrics["seconds"],
                   coords=pca_2d(trainer.method.embed(train.images[:n_points].to(trainer.device))))
        records.append(rec)
        job.update(rounds=list(records))

    return callback


def publish_layers(job: Job, exp: experiment.Experiment) -> None:
    """``state["layers"]``: probe and kNN after each block of the backbone, trained vs random init (same seed)."""
    job.update(message="Scoring every layer of the backbone (trained and random init)...")
    torch.manual_seed(exp.seed)
    random_init = methods.spec(exp.method_name).cls(exp.method.config)
    job.update(layers={"trained": evaluate.layer_scores(exp.method.layer_encoder, exp.train_set, exp.test_set, exp.method.layers),
                       "random init": evaluate.layer_scores(random_init.layer_encoder, exp.train_set, exp.test_set, random_init.layers),
                       "transfer_layer": exp.method.config.transfer_layer})


NEIGHBOURS, NEIGHBOUR_POOL = 8, 5000


def neighbour_gallery(exp: experiment.Experiment, queries: int = 500) -> dict[str, Any]:
    """Each of the first ``queries`` test images' nearest training images in three spaces — the trained encoder's, raw
    pixels' and the random-init encoder's (same architecture and seed as the baseline) — and, over the whole test set, the
    share of neighbours that have the query's class: what "similar" means to each (the gallery of the neighbour explorer).

    The page's 2-D embedding plots the same first test images, so clicking any of its points can show that image's neighbours.
    """
    train, test = exp.train_set, exp.test_set
    pool = train.images[:NEIGHBOUR_POOL]
    encoders = {"trained": exp.method.encoder, "random init": experiment.random_init_encoder(exp.method_name, exp.method.config, exp.seed)}
    spaces = {"raw pixels": (pool, test.images)}
    spaces.update({name: (evaluate.extract_features(enc, pool), evaluate.extract_features(enc, test.images)) for name, enc in encoders.items()})
    k = min(NEIGHBOURS, len(pool))
    pool_labels, test_labels = train.labels[:NEIGHBOUR_POOL].numpy(), test.labels.numpy()
    classes = max(int(pool_labels.max()), int(test_labels.max())) + 1
    chance = float(np.bincount(pool_labels, minlength=classes) @ np.bincount(test_labels, minlength=classes)) / (len(pool_labels) * len(test_labels))
    out: dict[str, Any] = {"queries": min(queries, len(test)), "k": k, "pool": len(pool), "chance": chance, "index": {}, "same_class": {}}
    for name, (pool_x, test_x) in spaces.items():
        index = evaluate.nearest_neighbours(pool_x, test_x, k)
        out["index"][name] = index[: out["queries"]]
        out["same_class"][name] = float((pool_labels[index] == test_labels[:, None]).mean())
    return out


def publish_results(job: Job, exp: experiment.Experiment, snapshot_size: int) -> None:
    """The final state: the method's own report on the test set, snapshot, summary and the model (CPU, eval mode)."""
    method = exp.method.cpu().eval()
    snap = method.snapshot(data.take(method.inputs(exp.test_set), slice(0, snapshot_size)), torch.Generator().manual_seed(exp.seed))
    job.update(message="Measuring what this method reports on held-out data...", progress=max(0.8, float(job.state.get("progress", 0.0))))
    with torch.no_grad(), eval_mode(method):
        job.update(**method.report(exp.test_set))
    job.update(summary=exp.summary(), snapshot={**snap, "step": exp.result.steps}, model=method, progress=1.0, message=exp.result.message)


def bundle_source(blob: bytes, name: str, method_name: str) -> Loader:
    """``loaded`` for :func:`experiment_job`: an uploaded run bundle of ``method_name`` (untrusted), checked and restored."""
    def load(on_status: Callable[[str], None]) -> experiment.Experiment:
        on_status(f"checking {name}")
        return bundles.restore(blob, name, method_name)
    return load


def load_into(job: Job, exp: experiment.Experiment, track_rounds: bool) -> None:
    """Publish a loaded run's (a checkpoint's or a bundle's) recorded history, as if it had trained now."""
    for row in exp.result.history:
        job.log(row)
    job.update(config=asdict(exp.method.config))
    exp.method.on_loaded(exp.train_set.images, torch.Generator().manual_seed(exp.seed))
    if track_rounds:
        tracker = round_tracker(job, exp.train_set)
        tracker(type("Loaded", (), {"method": exp.method, "device": torch.device("cpu")})(), {"step": exp.result.steps, "seconds": exp.result.seconds})
        job.update(rounds_final=True)


def experiment_job(
    method_name: str, dataset: str, seconds: float, seed: int = 0, device: str = "auto",
    method_overrides: dict[str, Any] | None = None, train_overrides: dict[str, Any] | None = None,
    embed_every: float = 1.0, n_embed: int = 500, snapshot_size: int = 16, few_labels: tuple[int, ...] = FEW_LABELS,
    label: str = "", live_snapshots: bool = False, track_rounds: bool = False, score_layers: bool = False, loaded: Loader | None = None,
    neighbours: bool = False,
) -> Target:
    """A job target that trains a method live and publishes what a page shows while it runs.

    The history gets every step's metrics; ``state["embedding"]`` a 2-D PCA of test-image features
    (``state["features"]``) about every ``embed_every`` seconds (with ``live_snapshots`` also
    ``state["snapshot"]``, e.g. MAE's reconstructions); at the end ``state["summary"]`` (accuracies vs
    baselines), ``state["snapshot"]``, ``state["model"]`` (CPU, eval mode) and whatever the method's
    ``report`` hook adds (e.g. "sphere", "multimodal"). ``track_rounds`` adds ``state["rounds"]``
    (:func:`round_tracker`); ``score_layers`` adds ``state["layers"]`` for methods with layers; ``neighbours`` adds
    ``state["neighbours"]`` (:func:`neighbour_gallery`) for methods whose encoder reads images.
    ``loaded(on_status)`` replaces training with an already trained Experiment (a shipped checkpoint,
    :func:`pretrained_source`, or an imported run bundle) whose history and final state are published the same way.
    """

    def target(job: Job) -> str | None:
        def on_status(status: str) -> None:  # each phase after training moves the bar part of the way to the end
            done = float(job.state.get("progress", 0.0))
            job.update(message=f"{status[0].upper()}{status[1:]}...", progress=done if status == "training" else done + (1.0 - done) * 0.35)
        # A loaded run (checkpoint or bundle) says which dataset and seed it is of; loading it is checked work, under the watchdog like training.
        exp = loaded(on_status) if loaded is not None else None
        data_name, data_seed = (exp.dataset, exp.seed) if exp is not None else (dataset, seed)
        test = data.load(data_name, "test", data_seed)
        config = exp.method.config if exp is not None else methods.default_config(method_name, dataset, in_channels=test.channels, **(method_overrides or {}))
        job.update(method=method_name, dataset=data_name, class_names=list(test.class_names), seconds=seconds, config=asdict(config),
                   label=label or methods.title(method_name), progress=0.3, steppable=exp is None)  # a live run can be paused and stepped
        publisher = LivePublisher(job, test, data_seed, embed_every, n_embed, live_snapshots, snapshot_size)
        if exp is not None:
            load_into(job, exp, track_rounds)
        else:
            callbacks = (publisher, round_tracker(job, data.load(dataset, "train", seed))) if track_rounds else (publisher,)
            exp = experiment.run(method_name, dataset, seconds=seconds, seed=seed, device=device, method_overrides=method_overrides,
                                 train_overrides={"num_threads": threads_per_run(), **(train_overrides or {})}, on_batch_end=callbacks,
                                 stop_event=job.stop_event, gate=job.gate, few_labels=few_labels, on_status=on_status,
                                 sharing=job.sharing, on_pace=lambda pace: job.update(pace=pace))
        if exp.result.diverged:
            fail(job, exp.result.message)
            return None
        if exp.result.steps:
            publisher.publish(exp.method, exp.result.steps, force=True)  # the final picture
        if score_layers and exp.method.layers:
            job.update(progress=0.5)
            publish_layers(job, exp)
        if neighbours:
            job.update(message="Finding each test image's nearest training images (trained, raw pixels, random init)...")
            exp.method.cpu()
            job.update(neighbours=neighbour_gallery(exp, queries=n_embed))
        publish_results(job, exp, snapshot_size)
        return "stopped" if exp.result.stopped_by == "stop" else "done"

    target.device = device  # type: ignore[attr-defined]  # a cluster backend asks for a GPU share only for runs that may use one
    return target
