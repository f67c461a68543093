"""BYOL (Grill et al., 2020): no negatives at all — predict a slow target network's output.

    x1 ──f, g──> z1 ──q──> p1 ──┐
    x2 ──f', g'──> z2' ─(no grad)┴──> 2 − 2·cos(p1, z2')   (and symmetrically)
    θ' ← m·θ' + (1 − m)·θ

Without negatives, mapping every image to one point would give zero loss. Two things stop
that from happening: the predictor q (an extra MLP on the online side only) and the target
network being a moving average that lags behind. Remove either and the page shows collapse.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sslviz import augment
from sslviz.losses import byol_loss, negative_cosine
from sslviz.methods.base import TwoViewConfig, TwoViewMethod, ema_update, frozen_copy
from sslviz.methods.registry import MethodSpec
from sslviz.nets import MLPHead
from sslviz.setting import internal, setting


@dataclass(frozen=True)
class BYOLConfig(TwoViewConfig):
    momentum: float = setting(0.8, "Momentum m", (0.0, 0.5, 0.9, 0.99, 0.999), "The target network's moving average.", valid=(0.0, 1.0))  # the paper's 0.99+ barely moves in a short run; 0.5-0.99 tie on the validation split (RESULTS.md, "select-on-val")
    predictor_hidden: int = internal(128, (1, 1024))
    use_predictor: bool = setting(True, "Predictor", help="Off: the online network regresses the target directly — it collapses.")


class BYOL(TwoViewMethod):
    """Online network + predictor regress the EMA target network's projections."""

    name = "byol"

    def __init__(self, config: BYOLConfig = BYOLConfig()) -> None:
        super().__init__(config)
        self.predictor = MLPHead(config.proj_dim, config.predictor_hidden, config.proj_dim) if config.use_predictor else nn.Identity()
        self.target_encoder, self.target_head = frozen_copy(self.encoder), frozen_copy(self.head)

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = augment.two_views(batch, self.augment, generator)
        both = torch.cat([x1, x2])
        z = self.project(both)
        p1, p2 = self.predictor(z).chunk(2)
        with torch.no_grad():
            t1, t2 = self.target_head(self.target_encoder(both)).chunk(2)
        loss = (byol_loss(p1, t2) + byol_loss(p2, t1)) / 2
        z1, z2 = z.chunk(2)
        return {"loss": loss, **self.pair_metrics(z1, z2)}

    def after_step(self) -> None:
        ema_update(self.target_encoder, self.encoder, self.config.momentum)
        ema_update(self.target_head, self.head, self.config.momentum)


SPEC = MethodSpec(
    "byol", "BYOL", "non-contrastive", BYOL, BYOLConfig,
    "No negatives: an online network with a predictor regresses a moving-average target network.",
    train={"batch_size": 128, "lr": 1e-3},
    dataset_augment=True,
    mechanism="predictor + stop-gradient",
    break_steps=120,
    breaks={"BYOL without predictor": ({"use_predictor": False}, "The BYOL paper reports collapse without the predictor: with nothing to predict, "
                                       "the online net can copy the target and both drift to a constant. Does this run collapse?")},
    code=(byol_loss, negative_cosine, BYOL.training_step),
    diagram=(("x", "view x₁"), ("x", "view x₂"), ("view x₁", "online f, g → z₁"), ("online f, g → z₁", "predictor → p₁"),
             ("view x₂", "target f', g' → z₂'"), ("predictor → p₁", "2 − 2·cos(p₁, z₂')"), ("target f', g' → z₂'", "2 − 2·cos(p₁, z₂')"),
             ("online f, g → z₁", "target f', g' → z₂'", "EMA (no gradient)")),
)
