"""Downstream evaluation with labels: fine-tuning, training from scratch, label efficiency, weak supervision.

Every supervised run uses one recipe (:class:`SupervisedConfig`), budgeted in steps so that the
comparison does not depend on machine load.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sslviz import optim
from sslviz.augment import AugmentConfig, augment
from sslviz.evaluate.frozen import as_numpy, extract_features, linear_probe
from sslviz.nets import eval_mode, frozen_features
from sslviz.train import resolve_device


@dataclass(frozen=True)
class SupervisedConfig:
    """One recipe for every supervised run (fine-tuning an SSL encoder or training from scratch).

    The budget is in steps, not seconds, so the comparison does not depend on machine load;
    batches are drawn with replacement from the labelled subset and augmented every time.
    """

    steps: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    encoder_lr_scale: float = 1.0  # fine-tuning a pre-trained encoder: a smaller step keeps what it learned
    device: str = "cpu"  # where the supervised runs train ("auto": a GPU when there is one); the encoder given is copied there

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got {self.steps} and {self.batch_size}.")
        if not (0 < self.lr <= 10 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be in (0, 10], got {self.lr}.")
        resolve_device(self.device)


def label_subset(labels, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of a random ``fraction`` of the labelled images, stratified by class, at least one per class (sorted)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    y = as_numpy(labels)
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(y == c), size=max(1, int(round(fraction * (y == c).sum()))), replace=False) for c in np.unique(y)]
    return np.sort(np.concatenate(picked))


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    logits = frozen_features(model, images)
    return float((logits.argmax(1).cpu() == torch.as_tensor(labels)).float().mean())


def train_classifier(
    encoder: nn.Module, images: torch.Tensor, labels: torch.Tensor, n_classes: int, augment_config: AugmentConfig,
    config: SupervisedConfig = SupervisedConfig(), seed: int = 0, should_stop: Callable[[], bool] | None = None,
) -> nn.Module:
    """Train ``encoder`` (a copy, whole, not frozen) plus a new linear head with cross-entropy on augmented labelled images.

    Returns the encoder+head in eval mode. ``should_stop()`` is checked every step (cancel).
    """
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need as many labels as images (and at least one), got {len(images)} and {len(labels)}.")
    device = resolve_device(config.device)
    encoder = copy.deepcopy(encoder).to(device).train()
    with torch.no_grad(), eval_mode(encoder):
        dim = encoder(images[:1].to(device)).shape[1]
    torch.manual_seed(seed)
    # BatchNorm without affine before the head standardises the features, as the linear probe does
    # (and as MAE's probing recipe does): the head then learns at the same pace for every encoder.
    model = nn.Sequential(encoder, nn.Sequential(nn.BatchNorm1d(dim, affine=False), nn.Linear(dim, n_classes))).to(device).train()
    opt = optim.AdamW([{"params": model[0].parameters(), "lr": config.lr * config.encoder_lr_scale},
                       {"params": model[1].parameters()}], lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(seed)  # draws the batches (on the CPU, the same on every device)
    # The augmentations draw from a seeded generator on the device they run on: reproducible on a GPU too.
    # On the CPU it is the batch generator itself, which keeps CPU results as they were measured.
    augment_gen = gen if device.type == "cpu" else torch.Generator(device=device).manual_seed(seed)
    images, labels = images.to(device), torch.as_tensor(labels).to(device)
    for _ in range(config.steps):
        if should_stop is not None and should_stop():
            break
        idx = torch.randint(len(images), (config.batch_size,), generator=gen).to(device)
        x = augment(images[idx], augment_config, augment_gen)
        loss = F.cross_entropy(model(x), labels[idx])  # batch×classes logits
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def fine_tune(encoder: nn.Module, train, test, labelled: np.ndarray, augment_config: AugmentConfig,
              config: SupervisedConfig = SupervisedConfig(), seed: int = 0, should_stop: Callable[[], bool] | None = None) -> float:
    """Test accuracy after training a copy of ``encoder`` and a linear head on the ``labelled`` train images only."""
    idx = torch.as_tensor(labelled)
    model = train_classifier(encoder, train.images[idx], train.labels[idx], len(train.class_names), augment_config, config, seed, should_stop)
    return _accuracy(model, test.images, test.labels)


def supervised_from_scratch(make_encoder: Callable[[], nn.Module], train, test, labelled: np.ndarray, augment_config: AugmentConfig,
                            config: SupervisedConfig = SupervisedConfig(), seed: int = 0, should_stop: Callable[[], bool] | None = None) -> float:
    """The supervised baseline: the same backbone, freshly initialised (seeded), trained like :func:`fine_tune`."""
    torch.manual_seed(seed)
    return fine_tune(make_encoder(), train, test, labelled, augment_config, replace(config, encoder_lr_scale=1.0), seed, should_stop)


LABEL_FRACTIONS = (0.01, 0.05, 0.10, 0.25, 1.0)
FINE_TUNE_ENCODER_LR_SCALE = 0.1  # label_efficiency's fine-tuning: the pre-trained encoder moves 10× slower than its new head
MODES = ("linear probe", "fine-tune")
SCRATCH = "supervised from scratch"


def label_efficiency(
    encoders: dict[str, nn.Module], make_scratch: Callable[[], nn.Module] | None, train, test, augment_config: AugmentConfig,
    fractions: tuple[float, ...] = LABEL_FRACTIONS, seeds: tuple[int, ...] = (0, 1, 2), modes: tuple[str, ...] = MODES,
    config: SupervisedConfig = SupervisedConfig(), fine_tune_config: SupervisedConfig | None = None,
    on_row: Callable[[dict, float], None] | None = None, should_stop: Callable[[], bool] | None = None,
) -> list[dict]:
    """Accuracy of each encoder (frozen-feature probe and/or fine-tuning) and of training from scratch, per label fraction and seed.

    For every (fraction, seed) one stratified label draw (:func:`label_subset`) is shared by all
    encoders and the scratch baseline, so they are compared on exactly the same labels. Only the
    drawn train labels are ever used to fit; the test split only scores. Rows: encoder, mode,
    fraction, labels, seed, accuracy, seconds. ``on_row(row, progress)`` after each one.
    """
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"unknown modes {sorted(unknown)}; use {MODES}.")
    if not fractions or not seeds:
        raise ValueError("need at least one label fraction and one seed.")
    fine_tune_config = fine_tune_config or replace(config, encoder_lr_scale=FINE_TUNE_ENCODER_LR_SCALE)
    features = {name: (extract_features(enc, train.images), extract_features(enc, test.images)) for name, enc in encoders.items()} if "linear probe" in modes else {}
    jobs: list[tuple[str, str]] = [(name, mode) for name in encoders for mode in modes] + ([(SCRATCH, SCRATCH)] if make_scratch else [])
    total, rows = len(fractions) * len(seeds) * len(jobs), []
    for fraction in fractions:
        for seed in seeds:
            labelled = label_subset(train.labels, fraction, seed)
            for name, mode in jobs:
                if should_stop is not None and should_stop():
                    return rows
                start = time.perf_counter()
                if mode == "linear probe":
                    xtr, xte = features[name]
                    acc = linear_probe(xtr[labelled], train.labels[labelled], xte, test.labels)
                elif mode == "fine-tune":
                    acc = fine_tune(encoders[name], train, test, labelled, augment_config, fine_tune_config, seed, should_stop)
                else:
                    acc = supervised_from_scratch(make_scratch, train, test, labelled, augment_config, config, seed, should_stop)
                rows.append({"encoder": name, "mode": mode, "fraction": fraction, "labels": len(labelled), "seed": seed,
                             "accuracy": acc, "seconds": time.perf_counter() - start})
                if on_row is not None:
                    on_row(rows[-1], len(rows) / total)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds of each (encoder, mode, fraction)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["encoder"], row["mode"], row["fraction"]), []).append(row)
    return [{"encoder": enc, "mode": mode, "fraction": frac, "labels": g[0]["labels"], "runs": len(g),
             "mean": float(np.mean([r["accuracy"] for r in g])), "std": float(np.std([r["accuracy"] for r in g]))}
            for (enc, mode, frac), g in groups.items()]


def noisy_labels(labels, noise: float, n_classes: int, seed: int = 0) -> np.ndarray:
    """Weak supervision: each label replaced, with probability ``noise``, by a different class drawn uniformly."""
    if not 0 <= noise <= 1:
        raise ValueError(f"noise must be in [0, 1], got {noise}.")
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes to flip labels, got {n_classes}.")
    y = as_numpy(labels).astype(np.int64).copy()
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < noise
    y[flip] = (y[flip] + rng.integers(1, n_classes, int(flip.sum()))) % n_classes  # never the true class
    return y


def weakly_supervised(make_encoder: Callable[[], nn.Module], train, test, noise: float, augment_config: AugmentConfig,
                      config: SupervisedConfig = SupervisedConfig(), seed: int = 0, should_stop: Callable[[], bool] | None = None) -> float:
    """Test accuracy of the backbone trained from scratch on *every* train image, with a ``noise`` share of wrong labels."""
    noisy = torch.from_numpy(noisy_labels(train.labels, noise, len(train.class_names), seed))
    torch.manual_seed(seed)
    model = train_classifier(make_encoder(), train.images, noisy, len(train.class_names), augment_config, config, seed, should_stop)
    return _accuracy(model, test.images, test.labels)
