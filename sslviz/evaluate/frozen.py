"""The frozen-feature protocol behind every accuracy sslviz reports (docs/ARCHITECTURE.md, "Evaluation protocol").

Frozen features; a fixed train/test split (test images never train anything);
- linear probe: standardise with train statistics, L2 multinomial logistic regression to convergence;
- kNN: cosine similarity on L2-normalised features, k = 20, majority vote;
- few-label probe: the same probe on k labelled images per class, mean over several draws;
- baselines under exactly the same protocol: raw pixels and a random-init encoder;
- attribute probes: what the features keep about shape, colour, size and position.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sslviz.nets import frozen_features

KNN_K = 20
PROBE_C = 1.0
PROBE_MAX_ITER = 3000
PROBE_THREADS = 1  # BLAS/OpenMP threads for the probe's solver (see probe_predictions)


def as_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """A NumPy copy of a tensor (detached, on the CPU) or an array-like."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _check(train_x, train_y, test_x, test_y) -> None:
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("features and labels must have the same number of rows.")
    if len(train_x) == 0 or len(test_x) == 0:
        raise ValueError("need at least one train and one test example.")


def extract_features(encoder: nn.Module, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Frozen features of ``images`` (encoder in eval mode), as a float32 CPU tensor N×D."""
    return frozen_features(encoder, images, batch_size).float().cpu()


def nearest_neighbours(pool_x, query_x, k: int = 8) -> np.ndarray:
    """For each query row, the indices of its ``k`` nearest pool rows by cosine similarity (nearest first), as kNN uses them."""
    pool = F.normalize(torch.as_tensor(as_numpy(pool_x), dtype=torch.float32).flatten(1), dim=1)
    query = F.normalize(torch.as_tensor(as_numpy(query_x), dtype=torch.float32).flatten(1), dim=1)
    if not 1 <= k <= len(pool):
        raise ValueError(f"k must be between 1 and the pool's {len(pool)} items, got {k}.")
    return (query @ pool.T).topk(k, dim=1).indices.numpy()


def probe_predictions(train_x, train_y, test_x, C: float = PROBE_C) -> np.ndarray:
    """Test-set predictions of an L2 logistic regression fitted on standardised train features only."""
    # scikit-learn is imported here, not at module level: it costs ~0.5 s, and pages that
    # import this module must render in well under a second before anything is evaluated.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    xtr, xte = as_numpy(train_x).reshape(len(train_x), -1), as_numpy(test_x).reshape(len(test_x), -1)
    ytr = as_numpy(train_y)
    if len(np.unique(ytr)) < 2:
        return np.full(len(xte), ytr[0])
    scaler = StandardScaler().fit(xtr)  # train statistics only
    clf = LogisticRegression(C=C, max_iter=PROBE_MAX_ITER, tol=1e-4)
    # One BLAS/OpenMP thread: each L-BFGS iteration is a small matmul, and with several threads
    # on a machine whose cores are busy (training, other sessions) the threads' spin-waiting made
    # a 3000×64 probe 40× slower (benchmarks/RESULTS.md "probe-threads").
    with warnings.catch_warnings(), threadpool_limits(limits=PROBE_THREADS):
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(scaler.transform(xtr), ytr)
        return clf.predict(scaler.transform(xte))


def linear_probe(train_x, train_y, test_x, test_y, C: float = PROBE_C) -> float:
    """Test accuracy of an L2 logistic regression on standardised frozen features."""
    _check(train_x, train_y, test_x, test_y)
    return float(np.mean(probe_predictions(train_x, train_y, test_x, C) == as_numpy(test_y)))


def knn_accuracy(train_x, train_y, test_x, test_y, k: int = KNN_K) -> float:
    """Test accuracy of a k-nearest-neighbour vote under cosine similarity."""
    _check(train_x, train_y, test_x, test_y)
    xtr = F.normalize(torch.as_tensor(as_numpy(train_x), dtype=torch.float32).flatten(1), dim=1)
    xte = F.normalize(torch.as_tensor(as_numpy(test_x), dtype=torch.float32).flatten(1), dim=1)
    ytr = torch.as_tensor(as_numpy(train_y), dtype=torch.int64)
    yte = torch.as_tensor(as_numpy(test_y), dtype=torch.int64)
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
    ytr = as_numpy(train_y)
    xtr = as_numpy(train_x)
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
    t, p = as_numpy(true).astype(np.int64).ravel(), as_numpy(predicted).astype(np.int64).ravel()
    if len(t) != len(p):
        raise ValueError(f"need as many predictions as labels, got {len(p)} and {len(t)}.")
    table = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(table, (t, p), 1)
    return table


def layer_scores(layer_encoder: Callable[[int], nn.Module], train, test, layers: tuple[int, ...] = (1, 2, 3)) -> dict[int, dict[str, float]]:
    """Probe and kNN accuracy of ``layer_encoder(layer)`` (e.g. a backbone's pooled block), for each layer: where do good features live?"""
    return {layer: evaluate_encoder(layer_encoder(layer), train, test) for layer in layers}


ATTRIBUTE_READERS = ("linear probe", "kNN")


def attribute_targets(dataset) -> dict[str, np.ndarray]:
    """What can be read from an image of ``dataset``: its class, and on shapes/clutter also colour, size and position (3×3 grid)."""
    attrs = dataset.attributes
    out = {"class": as_numpy(dataset.labels)}
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
