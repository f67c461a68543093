"""SwAV (Caron et al., 2020): swap the views' cluster assignments — online clustering with equal-size clusters.

    x1 ──f, g──> z1 (unit) ──· prototypes C──> scores₁ ──Sinkhorn──> code q₁
    x2 ──f, g──> z2 (unit) ──· prototypes C──> scores₂ ──Sinkhorn──> code q₂
    L = ½ [ H(q₂, softmax(scores₁/τ)) + H(q₁, softmax(scores₂/τ)) ]      (swapped prediction)

It connects DeepCluster and contrastive learning: like DeepCluster it assigns images to
clusters (the K learnable prototypes), but online, within each batch, and like contrastive
methods it compares two views. The codes come from Sinkhorn–Knopp under an *equal partition*
constraint — every prototype gets the same share of the batch. Without it, the codes follow the
scores and nothing stops every image from landing in one prototype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sslviz import augment, data
from sslviz.losses import sinkhorn, swav_loss
from sslviz.methods.base import TwoViewConfig, TwoViewMethod
from sslviz.methods.registry import MethodSpec
from sslviz.nets import eval_mode
from sslviz.setting import internal, setting


@dataclass(frozen=True)
class SwAVConfig(TwoViewConfig):
    prototypes: int = setting(32, "Prototypes K", (4, 8, 16, 32, 64, 128), "The clusters SwAV assigns images to (3,000 in the paper for ImageNet).", valid=(2, 1024))
    # The paper's 0.1 learned far less here: val kNN 0.757 vs 0.993 at 0.2 (shapes, 480 steps; RESULTS.md, "select-new-methods").
    temperature: float = setting(0.2, "Temperature τ", (0.05, 0.1, 0.2, 0.5), "Of the softmax that predicts the other view's code.")
    epsilon: float = internal(0.05, (0.001, 1.0))  # Sinkhorn's entropy regularisation (the paper's value)
    sinkhorn_iterations: int = internal(3, (1, 100))
    equipartition: bool = setting(True, "Equal partition (Sinkhorn)", help="Off: the codes are the plain softmax of the scores — everything can join one prototype.")
    freeze_prototypes_steps: int = internal(50, (0, 100_000))  # the paper freezes the prototypes for the first epoch: early assignments are random


class SwAV(TwoViewMethod):
    """Encoder + projector + K prototypes trained by swapped prediction of Sinkhorn codes."""

    name = "swav"

    def __init__(self, config: SwAVConfig = SwAVConfig()) -> None:
        super().__init__(config)
        self.prototypes = nn.Linear(config.proj_dim, config.prototypes, bias=False)
        self.steps = 0

    def scores(self, z: torch.Tensor, frozen: bool = False) -> torch.Tensor:
        """Cosine similarity of each (normalised) feature to each (normalised) prototype, B×K; ``frozen``: no gradient to the prototypes."""
        weight = self.prototypes.weight.detach() if frozen else self.prototypes.weight
        return F.normalize(z, dim=1) @ F.normalize(weight, dim=1).T

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        x1, x2 = augment.two_views(batch, self.augment, generator)
        z = self.project(torch.cat([x1, x2]))
        s1, s2 = self.scores(z, frozen=self.steps < c.freeze_prototypes_steps).chunk(2)  # N×K each
        loss = swav_loss(s1, s2, c.temperature, c.sinkhorn_iterations, c.epsilon, c.equipartition)
        self.steps += 1
        with torch.no_grad():
            used = torch.bincount(s1.argmax(dim=1), minlength=c.prototypes)  # which prototype each image is nearest to
            share = used.float() / used.sum()
            assignment_entropy = -(share * share.clamp_min(1e-12).log()).sum()
            # Health is measured on the predicted assignments softmax(scores/τ): all images in one prototype is one point.
            p1, p2 = (s1 / c.temperature).softmax(dim=1), (s2 / c.temperature).softmax(dim=1)
        return {"loss": loss, "prototypes_used": (used > 0).sum().float(), "assignment_entropy": assignment_entropy, **self.pair_metrics(p1, p2)}

    @torch.no_grad()
    def assignments(self, images: torch.Tensor) -> torch.Tensor:
        """The nearest prototype of each image (eval mode, no augmentation), N."""
        with eval_mode(self):
            return self.scores(self.project(images)).argmax(dim=1)

    @torch.no_grad()
    def report(self, test: data.Dataset, n: int = 500) -> dict[str, Any]:
        """``prototype_assignments``: the nearest prototype of the first ``n`` test images, and those images (the page's gallery)."""
        device = next(self.parameters()).device
        return {**super().report(test), "prototype_assignments": self.assignments(test.images[:n].to(device)).cpu().numpy(),
                "gallery_images": test.images[:n]}


SPEC = MethodSpec(
    "swav", "SwAV", "clustering", SwAV, SwAVConfig,
    "Online clustering: each view predicts the other's equal-partition (Sinkhorn) assignment to learned prototypes.",
    train={"batch_size": 256, "lr": 2e-3},
    dataset_augment=True,
    mechanism="equipartition",
    break_steps=100,
    breaks={"SwAV without equal partition": ({"equipartition": False}, "The codes now follow the scores: the easiest solution is one prototype "
                                             "for everything. Watch 'prototypes used' and the spread.")},
    code=(swav_loss, sinkhorn, SwAV.training_step),
    diagram=(("x", "view x₁"), ("x", "view x₂"), ("view x₁", "f, g → z₁ · C"), ("view x₂", "f, g → z₂ · C"),
             ("f, g → z₁ · C", "Sinkhorn → q₁"), ("f, g → z₂ · C", "Sinkhorn → q₂"),
             ("Sinkhorn → q₁", "predict q₁ from z₂"), ("Sinkhorn → q₂", "predict q₂ from z₁"),
             ("f, g → z₂ · C", "predict q₁ from z₂"), ("f, g → z₁ · C", "predict q₂ from z₁")),
)
