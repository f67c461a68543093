"""Clustering metrics: how well do clusters (DeepCluster's pseudo-labels, k-means on features) match known cues?"""

from __future__ import annotations

import numpy as np
import torch

from sslviz.cluster import kmeans, pca_whiten
from sslviz.evaluate.frozen import as_numpy


def contingency(a, b) -> np.ndarray:
    """Counts of each (value of a, value of b) pair: rows = distinct values of ``a``, columns = of ``b``."""
    a, b = as_numpy(a).ravel(), as_numpy(b).ravel()
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"need two non-empty labelings of the same length, got {len(a)} and {len(b)}.")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)
    return table


def nmi(a, b) -> float:
    """Normalised mutual information I(a; b) / ((H(a) + H(b)) / 2): 1 = same partition, 0 = independent."""
    p = contingency(a, b) / len(as_numpy(a).ravel())
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
    x = pca_whiten(torch.as_tensor(as_numpy(features), dtype=torch.float32).flatten(1), pca_dim)
    assigned = kmeans(x, k, generator=torch.Generator().manual_seed(seed)).labels.numpy()
    out = {}
    for cue, values in cues.items():
        if cue == "class":
            out.update(nmi=nmi(assigned, values), ari=ari(assigned, values))
        else:
            out[f"nmi_{cue}"] = nmi(assigned, values)
    return out


def cluster_cues(dataset) -> dict[str, np.ndarray]:
    """What clusters are scored against: the class, and on shapes also colour and size (the easy cues)."""
    return {"class": dataset.labels.numpy(), **{a: dataset.attributes[a] for a in ("colour", "size") if a in dataset.attributes}}


def score_round(record: dict, cues: dict[str, np.ndarray], previous: dict | None = None) -> dict:
    """Scores of one round of pseudo-labels (``record``: "round", "labels", "sizes", "empty", "refilled") against the truth.

    NMI/ARI with the true class (and NMI with colour and size on shapes: which cue do the clusters
    follow?), the largest cluster's share, and, given the ``previous`` round's scores, the share of
    images whose cluster changed and the NMI between the two rounds. For display only: the labels
    never reach the method.
    """
    labels = record["labels"]
    out = {"round": record["round"], "labels": labels.astype(np.int16), "sizes": record["sizes"], "empty": record["empty"],
           "refilled": record["refilled"], "largest": float(record["sizes"].max() / record["sizes"].sum()),
           "nmi": nmi(labels, cues["class"]), "ari": ari(labels, cues["class"]),
           **{f"nmi_{cue}": nmi(labels, values) for cue, values in cues.items() if cue != "class"}}
    if previous is not None:
        out["changed"] = changed_fraction(previous["labels"], labels)
        out["nmi_previous"] = nmi(previous["labels"], labels)
    return out


def empty_cluster_demo(features: torch.Tensor, share: float, k: int, seed: int = 0) -> dict[bool, np.ndarray]:
    """Cluster sizes from k-means with and without the empty-cluster fix, after forcing a ``share`` of the points onto one point."""
    if not 0 <= share < 1 or k < 2:
        raise ValueError(f"share must be in [0, 1) and k >= 2, got {share} and {k}.")
    features = features.clone()
    features[: int(share * len(features))] = features[0]  # these images now all look the same to k-means
    return {fix: torch.bincount(kmeans(features, k, fix_empty=fix, generator=torch.Generator().manual_seed(seed)).labels, minlength=k).numpy()
            for fix in (False, True)}
