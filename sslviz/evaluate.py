"""The one evaluation protocol behind every accuracy sslviz reports (DESIGN.md).

Frozen features; a fixed train/test split (test images never train anything);
- linear probe: standardise with train statistics, L2 multinomial logistic regression to convergence;
- kNN: cosine similarity on L2-normalised features, k = 20, majority vote;
- few-label probe: the same probe on k labelled images per class, mean over several draws;
- baselines under exactly the same protocol: raw pixels and a random-init encoder.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sslviz.augment import AugmentConfig, augment
from sslviz.cluster import kmeans, pca_whiten
from sslviz.nets import LayerFeatures, eval_mode, frozen_features

KNN_K = 20
PROBE_C = 1.0
PROBE_MAX_ITER = 3000


def _as_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _check(train_x, train_y, test_x, test_y) -> None:
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("features and labels must have the same number of rows.")
    if len(train_x) == 0 or len(test_x) == 0:
        raise ValueError("need at least one train and one test example.")


def extract_features(encoder: nn.Module, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Frozen features of ``images`` (encoder in eval mode), as a float32 CPU tensor N×D."""
    return frozen_features(encoder, images, batch_size).float().cpu()


def probe_predictions(train_x, train_y, test_x, C: float = PROBE_C) -> np.ndarray:
    """Test-set predictions of an L2 logistic regression fitted on standardised train features only."""
    # scikit-learn is imported here, not at module level: it costs ~0.5 s, and pages that
    # import this module must render in well under a second before anything is evaluated.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    xtr, xte = _as_numpy(train_x).reshape(len(train_x), -1), _as_numpy(test_x).reshape(len(test_x), -1)
    ytr = _as_numpy(train_y)
    if len(np.unique(ytr)) < 2:
        return np.full(len(xte), ytr[0])
    scaler = StandardScaler().fit(xtr)  # train statistics only
    clf = LogisticRegression(C=C, max_iter=PROBE_MAX_ITER, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(scaler.transform(xtr), ytr)
    return clf.predict(scaler.transform(xte))


def linear_probe(train_x, train_y, test_x, test_y, C: float = PROBE_C) -> float:
    """Test accuracy of an L2 logistic regression on standardised frozen features."""
    _check(train_x, train_y, test_x, test_y)
    return float(np.mean(probe_predictions(train_x, train_y, test_x, C) == _as_numpy(test_y)))


def knn_accuracy(train_x, train_y, test_x, test_y, k: int = KNN_K) -> float:
    """Test accuracy of a k-nearest-neighbour vote under cosine similarity."""
    _check(train_x, train_y, test_x, test_y)
    xtr = F.normalize(torch.as_tensor(_as_numpy(train_x), dtype=torch.float32).flatten(1), dim=1)
    xte = F.normalize(torch.as_tensor(_as_numpy(test_x), dtype=torch.float32).flatten(1), dim=1)
    ytr = torch.as_tensor(_as_numpy(train_y), dtype=torch.int64)
    yte = torch.as_tensor(_as_numpy(test_y), dtype=torch.int64)
    k = min(k, len(xtr))
    n_classes = int(max(ytr.max(), yte.max())) + 1
    correct = 0
    for chunk, labels in zip(xte.split(1024), yte.split(1024)):
        neighbours = (chunk @ xtr.T).topk(k, dim=1).indices  # chunk×k
        votes = F.one_hot(ytr[neighbours], n_classes).sum(1)  # chunk×classes
        correct += int((votes.argmax(1) == labels).sum())
    return correct / len(yte)


def few_label_probe(
    train_x, train_y, test_x, test_y, per_class: tuple[int, ...] = (1, 2, 5, 10), draws: int = 3, seed: int = 0
) -> dict[int, float]:
    """Linear-probe accuracy with k labelled train images per class, mean over ``draws`` draws."""
    _check(train_x, train_y, test_x, test_y)
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}.")
    ytr = _as_numpy(train_y)
    xtr = _as_numpy(train_x)
    rng = np.random.default_rng(seed)
    out: dict[int, float] = {}
    for k in per_class:
        accs = []
        for _ in range(draws):
            idx = np.concatenate([rng.choice(np.flatnonzero(ytr == c), size=min(k, int((ytr == c).sum())), replace=False) for c in np.unique(ytr)])
            accs.append(linear_probe(xtr[idx], ytr[idx], test_x, test_y))
        out[k] = float(np.mean(accs))
    return out


def evaluate_features(train_x, train_y, test_x, test_y, few_labels: tuple[int, ...] = ()) -> dict[str, float]:
    """Probe and kNN accuracy (and few-label probes, if asked) for one feature set."""
    out = {
        "probe_acc": linear_probe(train_x, train_y, test_x, test_y),
        "knn_acc": knn_accuracy(train_x, train_y, test_x, test_y),
    }
    for k, acc in few_label_probe(train_x, train_y, test_x, test_y, per_class=few_labels).items():
        out[f"probe_{k}_per_class_acc"] = acc
    return out


def evaluate_encoder(encoder: nn.Module, train, test, few_labels: tuple[int, ...] = ()) -> dict[str, float]:
    """The protocol on frozen features of ``encoder`` for datasets ``train`` and ``test``."""
    xtr, xte = extract_features(encoder, train.images), extract_features(encoder, test.images)
    return evaluate_features(xtr, train.labels, xte, test.labels, few_labels)


def raw_pixel_baseline(train, test, few_labels: tuple[int, ...] = ()) -> dict[str, float]:
    """The protocol on raw pixels (keys prefixed raw_pixel_)."""
    raw = evaluate_features(train.images.flatten(1), train.labels, test.images.flatten(1), test.labels, few_labels)
    return {f"raw_pixel_{k}": v for k, v in raw.items()}


def random_init_baseline(train, test, make_encoder: Callable[[], nn.Module], seed: int = 0, few_labels: tuple[int, ...] = ()) -> dict[str, float]:
    """The protocol on a random-init encoder of the same architecture, seeded (keys prefixed random_init_)."""
    torch.manual_seed(seed)
    return {f"random_init_{k}": v for k, v in evaluate_encoder(make_encoder(), train, test, few_labels).items()}


def confusion_matrix(true, predicted, n_classes: int) -> np.ndarray:
    """n_classes×n_classes counts: row = true class, column = predicted class."""
    t, p = _as_numpy(true).astype(np.int64).ravel(), _as_numpy(predicted).astype(np.int64).ravel()
    if len(t) != len(p):
        raise ValueError(f"need as many predictions as labels, got {len(p)} and {len(t)}.")
    table = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(table, (t, p), 1)
    return table


def contingency(a, b) -> np.ndarray:
    """Counts of each (value of a, value of b) pair: rows = distinct values of ``a``, columns = of ``b``."""
    a, b = _as_numpy(a).ravel(), _as_numpy(b).ravel()
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"need two non-empty labelings of the same length, got {len(a)} and {len(b)}.")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)
    return table


def nmi(a, b) -> float:
    """Normalised mutual information I(a; b) / ((H(a) + H(b)) / 2): 1 = same partition, 0 = independent."""
    p = contingency(a, b) / len(_as_numpy(a).ravel())
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum())
    h = lambda q: float(-(q[q > 0] * np.log(q[q > 0])).sum())  # noqa: E731
    denom = (h(pa) + h(pb)) / 2
    return 1.0 if denom == 0 else max(0.0, mi / denom)


def ari(a, b) -> float:
    """Adjusted Rand index (Hubert & Arabie, 1985): pair agreement corrected for chance; 0 = random, 1 = identical."""
    table = contingency(a, b)
    comb = lambda v: v * (v - 1) / 2  # noqa: E731  (number of pairs)
    pairs, rows, cols = comb(table).sum(), comb(table.sum(1)).sum(), comb(table.sum(0)).sum()
    expected = rows * cols / comb(table.sum()) if table.sum() > 1 else 0.0
    top = (rows + cols) / 2 - expected
    return 1.0 if top == 0 else float((pairs - expected) / top)


def changed_fraction(previous, current) -> float:
    """Share of points whose cluster changed between two rounds, after matching cluster ids one-to-one (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    table = contingency(previous, current)
    rows, cols = linear_sum_assignment(-table)  # the id matching that keeps the most points in place
    return 1.0 - table[rows, cols].sum() / table.sum()


def kmeans_scores(features, cues: dict[str, np.ndarray], k: int, pca_dim: int = 32, seed: int = 0) -> dict[str, float]:
    """k-means (k clusters) on PCA-whitened ``features``, scored against each labeling in ``cues`` — one recipe for every encoder.

    Returns "nmi" and "ari" for the cue named "class", and "nmi_<cue>" for every other cue
    (e.g. colour: do the clusters follow colour instead of the class?).
    """
    x = pca_whiten(torch.as_tensor(_as_numpy(features), dtype=torch.float32).flatten(1), pca_dim)
    assigned = kmeans(x, k, generator=torch.Generator().manual_seed(seed)).labels.numpy()
    out = {}
    for cue, values in cues.items():
        if cue == "class":
            out.update(nmi=nmi(assigned, values), ari=ari(assigned, values))
        else:
            out[f"nmi_{cue}"] = nmi(assigned, values)
    return out


def layer_scores(backbone: nn.Module, train, test, layers: tuple[int, ...] = (1, 2, 3), grey: bool = False) -> dict[int, dict[str, float]]:
    """Probe and kNN accuracy of a ``SmallCNN`` backbone's pooled block ``layer``, for each layer: where do good features live?"""
    return {layer: evaluate_encoder(LayerFeatures(backbone, layer, grey), train, test) for layer in layers}


# --- Downstream evaluation with labels: fine-tuning, training from scratch, label efficiency ---


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

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got {self.steps} and {self.batch_size}.")
        if not (0 < self.lr <= 10 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be in (0, 10], got {self.lr}.")


def label_subset(labels, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of a random ``fraction`` of the labelled images, stratified by class, at least one per class (sorted)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    y = _as_numpy(labels)
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
    encoder = copy.deepcopy(encoder).train()
    device = next(encoder.parameters()).device
    with torch.no_grad(), eval_mode(encoder):
        dim = encoder(images[:1].to(device)).shape[1]
    torch.manual_seed(seed)
    # BatchNorm without affine before the head standardises the features, as the linear probe does
    # (and as MAE's probing recipe does): the head then learns at the same pace for every encoder.
    model = nn.Sequential(encoder, nn.Sequential(nn.BatchNorm1d(dim, affine=False), nn.Linear(dim, n_classes))).to(device).train()
    opt = torch.optim.AdamW([{"params": model[0].parameters(), "lr": config.lr * config.encoder_lr_scale},
                             {"params": model[1].parameters()}], lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    images, labels = images.to(device), torch.as_tensor(labels).to(device)
    for _ in range(config.steps):
        if should_stop is not None and should_stop():
            break
        idx = torch.randint(len(images), (config.batch_size,), generator=gen).to(device)
        x = augment(images[idx], augment_config, gen if device.type == "cpu" else None)
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
ATTRIBUTE_READERS = ("linear probe", "kNN")
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


def attribute_targets(dataset) -> dict[str, np.ndarray]:
    """What can be read from an image of ``dataset``: its class, and on shapes/clutter also colour, size and position (3×3 grid)."""
    attrs = dataset.attributes
    out = {"class": _as_numpy(dataset.labels)}
    if {"colour", "size", "x", "y"} <= set(attrs):
        out.update(colour=np.asarray(attrs["colour"]), size=np.asarray(attrs["size"]),
                   position=np.digitize(attrs["x"], [1 / 3, 2 / 3]) * 3 + np.digitize(attrs["y"], [1 / 3, 2 / 3]))
    return out


def attribute_probes(train_x, test_x, train, test, how: str = "linear probe") -> dict[str, float]:
    """Accuracy of reading each attribute of :func:`attribute_targets` from the same frozen features.

    ``how="linear probe"`` asks whether the attribute is still *in* the features (a linear probe
    reads almost anything that survives); ``how="kNN"`` whether it shapes their geometry — are the
    nearest neighbours of an image the same colour, size, position? Invariances show most there.
    """
    if how not in ATTRIBUTE_READERS:
        raise ValueError(f"how must be one of {ATTRIBUTE_READERS}, got {how!r}.")
    read = linear_probe if how == "linear probe" else knn_accuracy
    targets_tr, targets_te = attribute_targets(train), attribute_targets(test)
    scores = {}
    for name in targets_tr:
        ytr, yte = _codes(targets_tr[name], targets_te[name])
        scores[name] = read(train_x, ytr, test_x, yte)
    return scores


def _codes(train_values: np.ndarray, test_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for attribute values (names such as 'red'), shared by train and test."""
    _, codes = np.unique(np.concatenate([train_values, test_values]), return_inverse=True)
    return codes[: len(train_values)], codes[len(train_values):]


def chance_levels(train, test) -> dict[str, float]:
    """Accuracy of always answering the most frequent train value of each attribute."""
    targets_te = attribute_targets(test)
    out = {}
    for name, ytr in attribute_targets(train).items():
        values, counts = np.unique(ytr, return_counts=True)
        out[name] = float(np.mean(targets_te[name] == values[counts.argmax()]))
    return out


def noisy_labels(labels, noise: float, n_classes: int, seed: int = 0) -> np.ndarray:
    """Weak supervision: each label replaced, with probability ``noise``, by a different class drawn uniformly."""
    if not 0 <= noise <= 1:
        raise ValueError(f"noise must be in [0, 1], got {noise}.")
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes to flip labels, got {n_classes}.")
    y = _as_numpy(labels).astype(np.int64).copy()
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
