"""Downstream recipes: what a pre-trained encoder buys with labels (label efficiency, attributes, weak supervision)."""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch

from sslviz import augment, data, evaluate, experiment, methods
from sslviz.jobs import Job, fail
from sslviz.nets import SmallCNN
from sslviz.recipes.compare import to_width
from sslviz.recipes.experiment import Target
from sslviz.serving import threads_per_run
from sslviz.train import resolve_device


def supervised_preset(dataset: str) -> str:
    """The augmentation preset every supervised run on ``dataset`` uses (fine-tune and scratch alike): the SSL methods' own."""
    return methods.spec("simclr").config_for(dataset)["augment"]


def backbone_width() -> int:
    """The width of the CNN backbone the from-scratch and weak-supervision runs train: the Siamese methods' own default."""
    return methods.spec("simclr").config_cls().width


def backbone_factory(channels: int) -> Callable[[], torch.nn.Module]:
    """New, randomly initialised copies of the CNN backbone the SSL methods train (:func:`backbone_width`)."""
    return lambda: SmallCNN(channels, backbone_width())


def same_backbone(name: str, dataset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` for pre-training ``name`` here, with its encoder narrowed (or widened) to :func:`backbone_width` when its
    default on ``dataset`` differs (SimCLR on clutter): every curve, the from-scratch one included, then has the same network."""
    return {**to_width(name, dataset, backbone_width()), **overrides}


def pretrain_encoders(job: Job, encoders: dict[str, tuple[str, dict[str, Any]]], dataset: str, seconds: float, seed: int, device: str,
                      trained: dict[str, methods.Method], share: float) -> dict[str, torch.nn.Module] | None:
    """Pre-train each encoder without labels (or take it from ``trained``), publishing "pretrain"; None (job failed) if one diverged."""
    models: dict[str, torch.nn.Module] = {}
    for i, (label, (name, overrides)) in enumerate(encoders.items()):
        if job.stop_event.is_set():
            break
        if label in trained:
            models[label] = copy.deepcopy(trained[label].encoder).to(resolve_device(device))  # a copy: the page's model stays where it is
            job.update(pretrain={**job.state["pretrain"], label: {"seconds": 0.0, "steps": 0, "width": getattr(models[label], "width", None),
                                                                  "note": "not pre-trained here: from another page or models/"}})
            continue

        def on_batch_end(trainer, metrics, label=label, i=i) -> None:
            done = (i + min(1.0, metrics["seconds"] / seconds)) / len(encoders)
            job.update(progress=share * done, message=f"Pre-training {label} without labels ({i + 1}/{len(encoders)}): {metrics['seconds']:.0f} s of {seconds:g} s")

        exp = experiment.run(name, dataset, seconds=seconds, seed=seed, device=device, method_overrides=same_backbone(name, dataset, overrides), with_baselines=False,
                             train_overrides={"num_threads": threads_per_run()}, on_batch_end=(on_batch_end,), stop_event=job.stop_event)
        if exp.result.diverged:
            fail(job, f"{label}: {exp.result.message}")
            return None
        models[label] = exp.method.eval().encoder  # stays on the training device for the evaluations; published on the CPU
        job.update(pretrain={**job.state["pretrain"], label: {"seconds": exp.result.seconds, "steps": exp.result.steps, "width": getattr(models[label], "width", None),
                                                              "probe": exp.metrics["probe_acc"], "knn": exp.metrics["knn_acc"]}})
    return models


def probe_what_they_keep(job: Job, models: dict[str, torch.nn.Module], train: data.Dataset, test: data.Dataset, seed: int, n_embed: int,
                         device: torch.device | str = "cpu") -> None:
    """Attribute probes for every encoder and a random-init one; the probe's confusion matrix and test features for the trained ones."""
    torch.manual_seed(seed)
    random_init = backbone_factory(train.channels)().to(device)  # on the device the trained encoders are on
    for label, encoder in {**models, "random init": random_init}.items():
        job.update(message=f"Probing what {label} keeps (attributes, confusion matrix, PCA)...")
        xtr, xte = evaluate.extract_features(encoder, train.images), evaluate.extract_features(encoder, test.images)
        job.update(attributes={**job.state["attributes"], label: {how: evaluate.attribute_probes(xtr, xte, train, test, how) for how in evaluate.ATTRIBUTE_READERS}})
        if label in models:
            predicted = evaluate.probe_predictions(xtr, train.labels, xte)
            job.update(confusion={**job.state["confusion"], label: evaluate.confusion_matrix(test.labels, predicted, len(test.class_names))},
                       features={**job.state["features"], label: xte[:n_embed].numpy()})


def downstream_job(
    encoders: dict[str, tuple[str, dict[str, Any]]], dataset: str, seconds: float, seed: int = 0, device: str = "auto",
    fractions: tuple[float, ...] = evaluate.LABEL_FRACTIONS, seeds: tuple[int, ...] = (0, 1, 2), modes: tuple[str, ...] = evaluate.MODES,
    scratch: bool = True, steps: int = 1000, trained: dict[str, methods.Method] | None = None, n_embed: int = 500,
) -> Target:
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
        models = pretrain_encoders(job, encoders, dataset, seconds, seed, device, trained or {}, 0.3 if fractions else 0.9)
        if models is None:
            return None
        if job.stop_event.is_set():
            job.update(message=f"Stopped {job.stop_event.reason} during pre-training, before any evaluation.")
            return "stopped"
        probe_what_they_keep(job, models, train, test, seed, n_embed, resolve_device(device))
        def on_row(row: dict, progress: float) -> None:
            job.update(rows=job.state["rows"] + [row], progress=0.3 + 0.7 * progress,
                       message=f"{row['encoder']} · {row['mode']} · {row['labels']} labels · seed {row['seed']}: {row['accuracy']:.3f}")

        make_scratch = backbone_factory(train.channels)
        if fractions:  # none: pre-training and attribute probes only (the Multi-modal page's "why language")
            evaluate.label_efficiency(models, make_scratch if scratch else None, train, test, augment.preset(preset), fractions, seeds, modes,
                                      evaluate.SupervisedConfig(steps=steps, device=device), on_row=on_row, should_stop=job.stop_event.is_set)
        job.update(encoders={label: model.cpu() for label, model in models.items()}, progress=1.0)
        if job.stop_event.is_set():
            job.update(message=f"Stopped {job.stop_event.reason} after {len(job.state['rows'])} evaluations; the results so far are shown.")
            return "stopped"
        job.update(message=f"Done: {len(job.state['rows'])} evaluations.")
        return "done"

    return target


def weak_supervision_job(encoder: torch.nn.Module, label: str, dataset: str, noise: float, seed: int = 0, steps: int = 1000,
                         fractions: tuple[float, ...] = (0.01, 0.05), device: str = "auto") -> Target:
    """Weak labels vs few clean ones: the backbone trained from scratch on every image with a ``noise`` share of wrong
    labels, against a linear probe on ``encoder``'s frozen features with a few clean labels. State: "result"."""

    def target(job: Job) -> str | None:
        train, test = data.load(dataset, "train", seed), data.load(dataset, "test", seed)
        augment_config = augment.preset(supervised_preset(dataset))
        job.update(message=f"Training from scratch on all {len(train)} images, {noise:.0%} of the labels wrong...", progress=0.1)
        weak = evaluate.weakly_supervised(backbone_factory(train.channels), train, test, noise, augment_config,
                                          evaluate.SupervisedConfig(steps=steps, device=device), seed, job.stop_event.is_set)
        if job.stop_event.is_set():
            return "stopped"
        frozen = copy.deepcopy(encoder).to(resolve_device(device))  # a copy: the page's encoder stays where it is
        xtr, xte = evaluate.extract_features(frozen, train.images), evaluate.extract_features(frozen, test.images)
        clean = {}
        for fraction in fractions:
            idx = evaluate.label_subset(train.labels, fraction, seed)
            clean[fraction] = (len(idx), evaluate.linear_probe(xtr[idx], train.labels[idx], xte, test.labels))
        job.update(result={"noise": noise, "weak": weak, "labels": len(train), "clean": clean, "encoder": label, "dataset": dataset},
                   progress=1.0, message=f"Done: {noise:.0%} noisy labels on all {len(train)} images → {weak:.3f}.")
        return "done"

    return target
