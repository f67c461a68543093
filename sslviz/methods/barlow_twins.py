"""Barlow Twins (Zbontar et al., 2021): make the two views' embeddings agree, dimension by dimension,
and make the dimensions redundant-free — the cross-correlation matrix is pushed to the identity.

    x1 ──f, g──> z1 ┐
    x2 ──f, g──> z2 ┴──> C = corr(z1, z2)  (D×D, each dimension standardised over the batch)
                         L = Σᵢ (1 − Cᵢᵢ)² + λ · Σᵢ Σ_{j≠i} Cᵢⱼ²

No negatives, no predictor, no momentum encoder. A constant output cannot reach the diagonal
of ones (a constant has no correlation), and the off-diagonal term stops every dimension from
encoding the same thing. Set λ = 0 and nothing keeps the dimensions apart: they tend to become
copies of one another — a dimensional collapse the effective-rank chart shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from sslviz import augment
from sslviz.losses import barlow_twins_loss, barlow_twins_objective, cross_correlation, off_diagonal
from sslviz.methods.base import TwoViewConfig, TwoViewMethod
from sslviz.methods.registry import MethodSpec
from sslviz.setting import setting


@dataclass(frozen=True)
class BarlowTwinsConfig(TwoViewConfig):
    # The paper's λ = 5e-3 is for D = 8192 dimensions; with D = 64 each dimension has 128× fewer off-diagonal partners,
    # so λ near 1/D weighs the two terms alike. Chosen on the validation split (shapes, 60 s, val kNN): 0.05 → 0.972,
    # 0.02 → 0.953, 0.005 → 0.61 (RESULTS.md, "Defaults of the new methods").
    lambd: float = setting(0.05, "Redundancy weight λ", (0.0, 0.001, 0.005, 0.02, 0.05, 0.1, 0.5),
                           "Weight of the off-diagonal term. 0: only invariance — the dimensions may all encode the same thing.")


class BarlowTwins(TwoViewMethod):
    """Encoder + projector trained so that the two views' cross-correlation matrix approaches the identity."""

    name = "barlow_twins"

    def __init__(self, config: BarlowTwinsConfig = BarlowTwinsConfig()) -> None:
        super().__init__(config)
        self.last_correlation: torch.Tensor | None = None  # D×D of the latest training batch, for the live heatmap

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = augment.two_views(batch, self.augment, generator)
        z1, z2 = self.project(torch.cat([x1, x2])).chunk(2)  # N×D each
        c = cross_correlation(z1, z2)  # D×D, computed once: the loss and the live heatmap share it
        loss = barlow_twins_objective(c, self.config.lambd)
        with torch.no_grad():
            c = c.detach()
            self.last_correlation = c
            extra = {"on_diagonal": c.diagonal().mean(), "off_diagonal": off_diagonal(c).abs().sum() / max(1, c.numel() - c.shape[0])}
        return {"loss": loss, **extra, **self.pair_metrics(z1, z2)}

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """The two-view snapshot plus the latest training batch's cross-correlation matrix."""
        snap = super().snapshot(batch, generator)
        if self.last_correlation is not None:
            snap["cross_correlation"] = self.last_correlation.cpu()
        return snap


SPEC = MethodSpec(
    "barlow_twins", "Barlow Twins", "redundancy-reduction", BarlowTwins, BarlowTwinsConfig,
    "Redundancy reduction: the two views' cross-correlation matrix is pushed to the identity.",
    train={"batch_size": 256, "lr": 2e-3},
    dataset_augment=True,
    mechanism="redundancy reduction",
    break_steps=100,  # flagged from step 20 on shapes, seeds 0-5 (rank ≤ 6.37 of the 6.4 bar after it); tests/test_collapse.py
    breaks={"Barlow Twins, λ = 0": ({"lambd": 0.0}, "Only the diagonal is trained: each dimension agrees across views, but nothing keeps the "
                                    "dimensions apart, so they drift into copies of each other. Not a point — the standardisation still forbids that — but "
                                    "a dimensional collapse: watch the effective rank fall (RESULTS.md, 'collapse': 4.0 of 64 after 300 steps on shapes).")},
    code=(barlow_twins_loss, barlow_twins_objective, cross_correlation, BarlowTwins.training_step),
    diagram=(("x", "view x₁"), ("x", "view x₂"), ("view x₁", "f, g → z₁"), ("view x₂", "f, g → z₂"),
             ("f, g → z₁", "C = corr(z₁, z₂)"), ("f, g → z₂", "C = corr(z₁, z₂)"), ("C = corr(z₁, z₂)", "Σ(1 − Cᵢᵢ)² + λ Σ Cᵢⱼ²")),
)
