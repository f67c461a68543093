"""SimCLR (Chen et al., 2020): two augmented views per image, pulled together by InfoNCE.

    x ──aug──> x1 ──f──> h1 ──g──> z1 ┐
      └─aug──> x2 ──f──> h2 ──g──> z2 ┴──> info_nce(z1, z2, τ)

f is the encoder (kept for downstream tasks), g a small projection head (thrown away).
Every other image in the batch provides the negatives, so bigger batches mean more negatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from sslviz import augment
from sslviz.losses import info_nce
from sslviz.methods.base import Method
from sslviz.nets import SmallCNN, projection_head


@dataclass(frozen=True)
class SimCLRConfig:
    """Hyper-parameters; the defaults train well on ``digits`` within seconds."""

    in_channels: int = 1
    width: int = 16  # encoder width: features have 4·width dimensions
    hidden_dim: int = 128
    proj_dim: int = 64
    temperature: float = 0.2
    augment: str = "digits"  # a preset name in sslviz.augment.PRESETS

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}.")
        augment.preset(self.augment)  # raises a clear error for an unknown preset


class SimCLR(Method):
    """Encoder + projection head trained with the NT-Xent loss on two views per image."""

    name = "simclr"

    def __init__(self, config: SimCLRConfig = SimCLRConfig()) -> None:
        super().__init__()
        self.config = config
        self.augment = augment.preset(config.augment)
        self.encoder = SmallCNN(config.in_channels, config.width)
        self.head = projection_head(self.encoder.out_dim, config.hidden_dim, config.proj_dim)

    def project(self, views: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(views))

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = augment.two_views(batch, self.augment, generator)  # N×C×H×W each
        z = self.project(torch.cat([x1, x2]))  # one pass: batch norm sees both views
        z1, z2 = z.chunk(2)
        loss = info_nce(z1, z2, self.config.temperature)
        with torch.no_grad():
            u1, u2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
            sim = u1 @ u2.T  # N×N: diagonal = positives
            n = sim.shape[0]
            off_diag = sim.masked_select(~torch.eye(n, dtype=torch.bool, device=sim.device))
            top1 = (sim.argmax(1) == torch.arange(n, device=sim.device)).float().mean()
        return {"loss": loss, "positive_sim": sim.diagonal().mean(), "negative_sim": off_diag.mean(), "pair_acc": top1}

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Two views per image and their normalised projections (eval-mode batch norm)."""
        was_training = self.training
        self.eval()
        try:
            x1, x2 = augment.two_views(batch, self.augment, generator)
            z = F.normalize(self.project(torch.cat([x1, x2])), dim=1)
        finally:
            self.train(was_training)
        return {"view1": x1.cpu(), "view2": x2.cpu(), "z": z.cpu(), "temperature": self.config.temperature}
