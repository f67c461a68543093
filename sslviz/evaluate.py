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
import warnings
from dataclasses import dataclass
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


def linear_probe(train_x, train_y, test_x, test_y, C: float = PROBE_C) -> float:
    """Test accuracy of an L2 logistic regression on standardised frozen features."""
    # scikit-learn is imported here, not at module level: it costs ~0.5 s, and pages that
    # import this module must render in well under a second before anything is evaluated.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    _check(train_x, train_y, test_x, test_y)
    xtr, xte = _as_numpy(train_x).reshape(len(train_x), -1), _as_numpy(test_x).reshape(len(test_x), -1)
    ytr, yte = _as_numpy(train_y), _as_numpy(test_y)
    if len(np.unique(ytr)) < 2:
        return float(np.mean(yte == ytr[0]))
    scaler = StandardScaler().fit(xtr)  # train statistics only
    clf = LogisticRegression(C=C, max_iter=PROBE_MAX_ITER, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(scaler.transform(xtr), ytr)
    return float(np.mean(clf.predict(scaler.transform(xte)) == yte))


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


def baselines(train, test, make_encoder: Callable[[], nn.Module], seed: int = 0, few_labels: tuple[int, ...] = ()) -> dict[str, float]:
    """Raw pixels and a random-init encoder of the same architecture, same protocol."""
    raw = evaluate_features(train.images.flatten(1), train.labels, test.images.flatten(1), test.labels, few_labels)
    torch.manual_seed(seed)
    random_init = evaluate_encoder(make_encoder(), train, test, few_labels)
    out = {f"raw_pixel_{k}": v for k, v in raw.items()}
    out.update({f"random_init_{k}": v for k, v in random_init.items()})
    return out


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
    model = nn.Sequential(encoder, nn.Linear(dim, n_classes)).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
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
