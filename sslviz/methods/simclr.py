"""SimCLR (Chen et al., 2020): two augmented views per image, pulled together by InfoNCE.

    x ──aug──> x1 ──f──> h1 ──g──> z1 ┐
      └─aug──> x2 ──f──> h2 ──g──> z2 ┴──> info_nce(z1, z2, τ)

f is the encoder (kept for downstream tasks), g a small projection head (thrown away).
Every other image in the batch provides the negatives, so bigger batches mean more negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sslviz import augment
from sslviz.losses import info_nce
from sslviz.methods.base import TwoViewConfig, TwoViewMethod


@dataclass(frozen=True)
class SimCLRConfig(TwoViewConfig):
    """Hyper-parameters; the defaults train well on ``digits`` within seconds."""

    temperature: float = 0.2


class SimCLR(TwoViewMethod):
    """Encoder + projection head trained with the NT-Xent loss on two views per image."""

    name = "simclr"

    def __init__(self, config: SimCLRConfig = SimCLRConfig()) -> None:
        super().__init__(config)

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = augment.two_views(batch, self.augment, generator)  # N×C×H×W each
        z = self.project(torch.cat([x1, x2]))  # one pass: batch norm sees both views
        z1, z2 = z.chunk(2)
        loss = info_nce(z1, z2, self.config.temperature)
        return {"loss": loss, **self.pair_metrics(z1, z2)}
