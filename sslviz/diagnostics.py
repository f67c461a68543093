"""Health of an embedding space while it trains: alignment, uniformity, spread and rank.

Pure tensor functions (no model, no Streamlit), so methods can log them every step and the
pages can flag *collapse* — every image mapped to (nearly) the same point, or to a tiny
subspace — the failure mode of non-contrastive methods such as BYOL and SimSiam.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

# A run is flagged as collapsed when, averaged over the last few steps, the per-dimension
# spread of the normalised embedding falls below this share of a uniform sphere's spread
# (1/√d), or its effective rank drops below COLLAPSE_RANK.
COLLAPSE_STD_RATIO = 0.1
COLLAPSE_RANK = 1.5
COLLAPSE_WINDOW = 5
# Dimensional collapse: the embedding still varies, but only along a few directions — effective rank below
# this share of d (6.4 of 64). Healthy runs here stay above it (benchmarks/RESULTS.md, "collapse").
DIMENSIONAL_RANK_SHARE = 0.1
# A cloud that shrinks to the origin looks spread once each vector is normalised (its directions are noise):
# total collapse also when the raw embedding's std falls below this share of its value at the run's first step.
COLLAPSE_SHRINK = 0.1
# A softmax output (DINO's teacher) whose entropy stays above this share of log K is uniform for every image: total collapse.
COLLAPSE_UNIFORM = 0.99


def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    r"""Alignment (Wang & Isola, 2020): :math:`\mathbb{E}\,\lVert f(x) - f(x^+)\rVert_2^\alpha` on unit vectors.

    Lower is better: positive pairs sit close together. z1, z2: N×D (normalised here).
    """
    u, v = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    return (u - v).norm(dim=1).pow(alpha).mean()


def uniformity(z: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    r"""Uniformity (Wang & Isola, 2020): :math:`\log \mathbb{E}_{i<j}\, e^{-t\lVert f(x_i) - f(x_j)\rVert_2^2}`.

    Lower is better: embeddings spread evenly over the unit sphere. 0 means total collapse.
    """
    if z.shape[0] < 2:
        raise ValueError("uniformity needs at least 2 embeddings.")
    u = F.normalize(z, dim=1)
    return torch.pdist(u, p=2).pow(2).mul(-t).exp().mean().log()


def embedding_std(z: torch.Tensor) -> torch.Tensor:
    """Mean over dimensions of the batch standard deviation of the L2-normalised embeddings.

    About 1/√D when embeddings are spread over the sphere; 0 when they all coincide.
    """
    return F.normalize(z, dim=1).std(dim=0).mean()


def effective_rank(z: torch.Tensor) -> torch.Tensor:
    r"""Effective rank (Roy & Vetterli, 2007) of the centred embedding matrix :math:`Z - \bar z` (N×D).

    :math:`\exp(-\sum_k p_k \log p_k)` with :math:`p_k = \sigma_k / \sum_j \sigma_j`, the normalised
    singular values of that matrix (the square roots of its covariance's eigenvalues, up to √N; RankMe,
    Garrido et al. 2023, uses the same p_k on the uncentred matrix): D for an isotropic cloud, 1 when
    everything lies on one line.
    """
    # Branch-free (no host read, so no GPU synchronisation in the training step): a non-finite
    # cloud gives NaN, a single point (all singular values 0) gives 1.
    finite = torch.isfinite(z).all()
    centred = torch.nan_to_num(z - z.mean(dim=0, keepdim=True), nan=0.0, posinf=0.0, neginf=0.0)
    s = torch.linalg.svdvals(centred.double())
    total = s.sum()
    p = s / total.clamp_min(torch.finfo(s.dtype).tiny)
    rank = torch.where(total > 0, torch.exp(-torch.xlogy(p, p).sum()), torch.ones_like(total))
    return torch.where(finite, rank, torch.full_like(rank, float("nan"))).to(z.dtype)


@torch.no_grad()
def embedding_health(z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
    """All four diagnostics for a batch of positive pairs (z1[i], z2[i]), as scalar tensors.

    Uniformity is averaged over the two views, as Wang & Isola do (``(uniform_loss(x) + uniform_loss(y)) / 2``):
    pooling both views would count each image's own positive among the pairs it is spread from.
    """
    both = torch.cat([z1, z2])
    return {
        "alignment": alignment(z1, z2),
        "uniformity": (uniformity(z1) + uniformity(z2)) / 2,
        "embedding_std": embedding_std(both),
        "effective_rank": effective_rank(both),
        "embedding_dim": torch.full((), float(z1.shape[1]), device=z1.device),  # d of what was measured: the history describes itself
        "raw_std": both.std(dim=0).mean(),  # before normalising: a cloud shrinking to the origin looks spread once normalised
    }


def spread(row: dict[str, float], dim: int | None = None) -> float:
    """std × √d of a logged row: ≈ 1 for embeddings spread over the sphere, 0 for one point (d from the row, else ``dim``)."""
    d = row.get("embedding_dim") or dim or 1
    return row["embedding_std"] * math.sqrt(d)


def collapse_kind(history: Sequence[dict[str, float]], dim: int | None = None, window: int = COLLAPSE_WINDOW) -> str | None:
    """What the last ``window`` steps show: "total" (every image at nearly one point: tiny spread, or rank near 1),
    "dimensional" (spread, but in fewer than DIMENSIONAL_RANK_SHARE·d effective directions), or None (healthy).
    Shrinking to the origin (raw std below COLLAPSE_SHRINK of the first step's) is total collapse too, and so is a
    softmax output that stays uniform (logged ``output_entropy_share`` above COLLAPSE_UNIFORM).

    d is the logged ``embedding_dim`` (what the method measured), else ``dim`` (histories recorded before it was logged).
    """
    rows = [r for r in history[-window:] if "embedding_std" in r]
    dim = int(rows[-1].get("embedding_dim") or dim or 0) if rows else 0
    if len(rows) < min(window, 2) or dim < 1:
        return None
    std = sum(r["embedding_std"] for r in rows) / len(rows)
    rank = sum(r["effective_rank"] for r in rows) / len(rows)
    start = next((r["raw_std"] for r in history if "raw_std" in r), None)
    shrunk = start is not None and all("raw_std" in r for r in rows) and sum(r["raw_std"] for r in rows) / len(rows) < COLLAPSE_SHRINK * start
    uniform = all("output_entropy_share" in r for r in rows) and sum(r["output_entropy_share"] for r in rows) / len(rows) > COLLAPSE_UNIFORM
    if std * math.sqrt(dim) < COLLAPSE_STD_RATIO or rank < COLLAPSE_RANK or shrunk or uniform:
        return "total"
    if rank < DIMENSIONAL_RANK_SHARE * dim:
        return "dimensional"
    return None


def is_collapsed(history: Sequence[dict[str, float]], dim: int | None = None, window: int = COLLAPSE_WINDOW) -> bool:
    """True if the last ``window`` steps show collapse of either kind (:func:`collapse_kind`)."""
    return collapse_kind(history, dim, window) is not None
