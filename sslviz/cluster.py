"""k-means in torch, with the fixes DeepCluster needs, and the PCA whitening it runs on.

DeepCluster (Caron et al., 2018, sec. 3.3) names two ways clustering + training can cheat:
- **empty clusters**: a centroid that no point is closest to. The paper's fix: give it a
  crowded cluster's place — here it moves to the point of the largest cluster that is farthest
  from its own centroid, which splits that cluster in two;
- **a few huge clusters**: the network can predict "the big cluster" for everything. The fix
  (sampling batches uniformly over pseudo-labels) lives in the method; this module only clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class KMeansResult:
    """Assignments (N, values in 0..k-1), centroids k×D, and how many clusters ended empty / were refilled."""

    labels: torch.Tensor
    centroids: torch.Tensor
    empty: int  # clusters with no point at the end
    refilled: int  # times the empty-cluster fix moved a centroid


def pca_whiten(x: torch.Tensor, dim: int = 32, eps: float = 1e-5) -> torch.Tensor:
    """Centre, project on the top ``dim`` principal components, scale each to unit variance, L2-normalise rows (as DeepCluster)."""
    x = x.float() - x.float().mean(0)
    dim = max(1, min(dim, x.shape[1], x.shape[0] - 1))
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    white = u[:, :dim] * (x.shape[0] - 1) ** 0.5 * (s[:dim] > eps)  # unit variance per component; 0 for a dead one
    return torch.nn.functional.normalize(white, dim=1)


def _assign(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x, centroids).argmin(dim=1)  # ties go to the lowest index, deterministically


def kmeans(x: torch.Tensor, k: int, iterations: int = 20, fix_empty: bool = True, generator: torch.Generator | None = None) -> KMeansResult:
    """Lloyd's k-means on the rows of ``x`` (N×D), initialised with k distinct random rows' positions drawn at random.

    With ``fix_empty=False`` a centroid that loses all its points stays where it is, empty —
    what happens when features have collapsed onto a few points.
    """
    n = x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of points ({n}), got {k}.")
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}.")
    x = x.float()
    centroids = x[torch.randperm(n, generator=generator, device=x.device)[:k]].clone()  # k random points (duplicates possible if points coincide)
    refilled = 0
    for _ in range(iterations):
        labels = _assign(x, centroids)
        if fix_empty:
            labels, moved = _refill_empty(x, centroids, labels, k)
            refilled += moved
        counts = torch.bincount(labels, minlength=k)
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled].unsqueeze(1)
    labels = _assign(x, centroids)
    if fix_empty:
        labels, moved = _refill_empty(x, centroids, labels, k)
        refilled += moved
    empty = int((torch.bincount(labels, minlength=k) == 0).sum())
    return KMeansResult(labels, centroids, empty, refilled)


def _refill_empty(x: torch.Tensor, centroids: torch.Tensor, labels: torch.Tensor, k: int) -> tuple[torch.Tensor, int]:
    """Move each empty cluster's centroid onto the worst-fitting point of the largest cluster that can be split; reassign."""
    moved = 0
    for _ in range(k):  # each pass fills at least one cluster, or stops
        counts = torch.bincount(labels, minlength=k)
        empty = torch.nonzero(counts == 0).flatten()
        if len(empty) == 0:
            break
        distance = (x - centroids[labels]).norm(dim=1)  # each point to its own centroid
        splittable = distance > 1e-6  # a point sitting on its centroid cannot start a new cluster
        if not splittable.any():  # fewer distinct points than clusters: nothing left to split
            break
        # largest cluster first; within it, the farthest point (the fraction breaks ties by distance)
        score = counts[labels].float() + distance / (distance.max() + 1)
        far = int(torch.where(splittable, score, torch.full_like(score, -1.0)).argmax())
        centroids[empty[0]] = x[far]
        labels = _assign(x, centroids)
        moved += 1
    return labels, moved
