"""Comparison recipes: several runs with the same budget, seed and data, one after another, in one job."""

from __future__ import annotations

from typing import Any

import torch

from sslviz import data, evaluate, experiment, methods
from sslviz.jobs import Job
from sslviz.recipes.experiment import Target
from sslviz.serving import threads_per_run
from sslviz.train import seconds_per_step


def comparison_job(
    runs: dict[str, tuple[str, dict[str, Any]]], dataset: str, seconds: float, seed: int = 0, device: str = "auto", min_steps: int = 0
) -> Target:
    """Train several runs one after another with the same budget, seed and data.

    ``min_steps``: every run lasts at least that many steps, however long they take (a break-it's collapse needs its steps
    even on a busy server); the same floor for every run keeps the comparison fair.

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
                share = min(1.0, metrics["seconds"] / seconds, metrics["step"] / min_steps if min_steps else 1.0)  # ends when both are spent
                floor = f", at least {min_steps} steps (step {int(metrics['step'])})" if min_steps else ""
                job.update(progress=(i + share) / len(runs), message=f"Training {label} ({i + 1}/{len(runs)}): {metrics['seconds']:.0f} s of {seconds:g} s{floor}")

            exp = experiment.run(name, dataset, seconds=seconds, seed=seed, device=device, method_overrides=overrides,
                                 train_overrides={"num_threads": threads_per_run(), "min_steps": min_steps}, on_batch_end=(on_batch_end,), stop_event=job.stop_event,
                                 on_status=lambda s, label=label: job.update(message=f"{label}: {s}..."))
            results[label] = exp.summary()
            job.update(results=dict(results))
        job.update(progress=1.0, message=f"Compared {len(results)} runs, {seconds:g} s each, seed {seed}, on {dataset}.")
        return "stopped" if job.stop_event.is_set() else "done"

    return target


def encoder_width(name: str, dataset: str) -> int | None:
    """The width of method ``name``'s 3-conv encoder on ``dataset`` by default; None for a method without one (MAE's ViT,
    whose config says ``cnn_width = False``)."""
    config = methods.default_config(name, dataset)
    return getattr(config, "width", None) if getattr(config, "cnn_width", True) else None


def shared_width(method_names: list[str], dataset: str) -> int | None:
    """The encoder width every run of a comparison uses: the one most of the methods default to on ``dataset`` (a tie: the
    narrowest); None when none of them has a width."""
    widths = [w for w in (encoder_width(n, dataset) for n in method_names) if w is not None]
    return min(set(widths), key=lambda w: (-widths.count(w), w)) if widths else None


def to_width(name: str, dataset: str, width: int | None) -> dict[str, Any]:
    """The override that gives method ``name`` an encoder of ``width`` on ``dataset``: {} when it already has it, has no CNN
    encoder, or ``width`` is None."""
    return {"width": width} if width is not None and encoder_width(name, dataset) not in (None, width) else {}


def same_settings(method_names: list[str], dataset: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Comparison runs for ``method_names``, each with its tuned defaults and the same encoder (:func:`shared_width`), labelled by name.

    A method tuned to a wider encoder on ``dataset`` (SimCLR on clutter) is narrowed to the shared width here, so that the
    comparison measures the methods and not their backbones; :func:`backbone_note` says so on the page.
    """
    width = shared_width(method_names, dataset)
    return {name: (name, to_width(name, dataset, width)) for name in method_names}


def backbone_note(method_names: list[str], dataset: str) -> str:
    """What a comparison of ``method_names`` on ``dataset`` trains: "the same 3-conv encoder (width 16)", and which methods were
    narrowed to it from their own default."""
    width = shared_width(method_names, dataset)
    if width is None:
        return "each method's own encoder"
    narrowed = [f"{methods.title(n)}'s default on this dataset is {encoder_width(n, dataset)}" for n in method_names
                if to_width(n, dataset, width)]
    return f"the same 3-conv encoder (width {width}" + (f"; {', '.join(narrowed)}, narrowed here so that every run has the same encoder)"
                                                       if narrowed else ")")


def mechanism_runs(mechanism: str, dataset: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Comparison runs for one anti-collapse mechanism: each method it protects with its defaults, then each of its "break it" variants.

    Every run has the encoder that every mechanism's runs share on ``dataset`` (:func:`same_settings`)."""
    everyone = methods.by_mechanism(dataset)
    names = everyone.get(mechanism)
    if not names:
        raise ValueError(f"No registered method on {dataset!r} uses the mechanism {mechanism!r}.")
    width = shared_width([n for group in everyone.values() for n in group], dataset)
    runs = {methods.title(name): (name, to_width(name, dataset, width)) for name in names}
    runs.update({label: (name, {**to_width(name, dataset, width), **overrides}) for name in names
                 for label, (overrides, _) in methods.spec(name).breaks.items()})
    return runs


def clustering_comparison_job(dataset: str, seconds: float, seed: int = 0, device: str = "auto", k: int = 30) -> Target:
    """k-means with the same k, PCA-whitening and seed on four feature sets of the training images.

    Raw pixels, a random-init CNN, a SimCLR encoder and a DeepCluster encoder (each trained
    ``seconds``). ``state["rows"]`` maps each, in that order, to NMI/ARI with the class (and NMI
    with colour and size on shapes).
    """

    def target(job: Job) -> str | None:
        train = data.load(dataset, "train", seed)
        cues = evaluate.cluster_cues(train)
        rows: dict[str, dict[str, float]] = {}

        def score(name: str, features) -> None:
            rows[name] = evaluate.kmeans_scores(features, cues, k, seed=seed)
            job.update(rows=dict(rows))

        job.update(message="k-means on raw pixels...", k=k, dataset=dataset)
        score("raw pixels", train.images.flatten(1))
        shared = same_settings(["simclr", "deepcluster"], dataset)  # one encoder width for the three CNNs
        torch.manual_seed(seed)
        score("random-init CNN", evaluate.extract_features(methods.create("simclr", dataset, in_channels=train.channels, **shared["simclr"][1]).encoder,
                                                           train.images))
        for i, (label, name, overrides) in enumerate((("SimCLR", "simclr", shared["simclr"][1]), ("DeepCluster", "deepcluster", {**shared["deepcluster"][1], "k": k}))):
            if job.stop_event.is_set():
                break

            def on_batch_end(trainer, metrics, label=label, i=i) -> None:
                job.update(progress=(i + min(1.0, metrics["seconds"] / seconds)) / 2, message=f"Training {label}: {metrics['seconds']:.0f} s of {seconds:g} s")

            exp = experiment.run(name, dataset, seconds=seconds, seed=seed, device=device, method_overrides=overrides, evaluated=False,
                                 train_overrides={"num_threads": threads_per_run()}, on_batch_end=(on_batch_end,), stop_event=job.stop_event)
            if exp.result.diverged:
                job.update(message=exp.result.message)
                continue
            score(f"{label} ({seconds:g} s)", evaluate.extract_features(exp.method.encoder, train.images))
        job.update(progress=1.0, message=f"k-means with k = {k} on {len(rows)} feature sets of the {len(train)} {dataset} training images, seed {seed}.")
        return "stopped" if job.stop_event.is_set() else "done"

    return target


def random_init_features(method_name: str, dataset: str, seed: int = 0) -> torch.Tensor:
    """Frozen features of the training images under a randomly initialised ``method_name`` encoder (seeded)."""
    images = data.load(dataset, "train", seed).images
    torch.manual_seed(seed)
    return evaluate.extract_features(methods.create(method_name, dataset, in_channels=images.shape[1]).encoder, images)


def random_init_snapshot(method_name: str, dataset: str, seed: int = 0, n: int = 16) -> dict[str, Any]:
    """A randomly initialised ``method_name``'s live snapshot (views, embeddings) of the first ``n`` test images (seeded)."""
    test = data.load(dataset, "test", seed)
    torch.manual_seed(seed)
    return model_snapshot(methods.create(method_name, dataset, in_channels=test.channels), test, seed, n)


def model_snapshot(model: Any, test: data.Dataset, seed: int = 0, n: int = 16) -> dict[str, Any]:
    """``model``'s live snapshot (views, embeddings) of the first ``n`` images of ``test``, the views drawn with ``seed``."""
    return model.snapshot(test.images[:n], torch.Generator().manual_seed(seed))


def step_seconds(method_name: str, dataset: str, variants: dict[str, dict[str, Any]], batch: int = 256, device: str = "auto") -> dict[str, float]:
    """Seconds per training step (median of 3 after a warm-up) of each variant (label -> config overrides) on ``batch`` training images, on ``device``."""
    images = data.load(dataset, "train", 0).images[:batch]
    return {label: seconds_per_step(methods.create(method_name, dataset, **overrides), images, device=device) for label, overrides in variants.items()}
