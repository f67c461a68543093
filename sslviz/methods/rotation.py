"""RotNet (Gidaris et al., 2018): predict by how much an image was rotated — 0°, 90°, 180° or 270°.

    x ──rotate by k·90°──> x_k ──f──> h ──classifier──> p(k | x_k)      loss = cross-entropy(p, k)

To tell an upright 6 from an upside-down 9, the network must know what upright digits and
shapes look like. Every image gives four training examples with free labels. The last block
specialises in rotation, so RotNet's features transfer best from an earlier block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from sslviz.methods.base import DIM, PretextConfig, PretextMethod
from sslviz.methods.registry import MethodSpec, transfer_layers
from sslviz.nets import MLPHead
from sslviz.pretext import all_rotations, rotate
from sslviz.setting import internal


@dataclass(frozen=True)
class RotationConfig(PretextConfig):
    hidden_dim: int = internal(128, DIM)


class Rotation(PretextMethod):
    """Backbone + a 4-way classifier of the rotation, trained on all four rotations of each image."""

    name = "rotation"

    def __init__(self, config: RotationConfig = RotationConfig()) -> None:
        super().__init__(config)
        self.head = MLPHead(self.backbone.out_dim, config.hidden_dim, 4)

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x, k = all_rotations(self.views(batch, generator))  # 4N images, 4N labels in {0, 1, 2, 3}
        logits = self.head(self.backbone(x))  # 4N×4
        loss = F.cross_entropy(logits, k)
        return {"loss": loss, "pretext_acc": (logits.argmax(1) == k).float().mean().detach()}

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Each image at a random rotation, the true rotation and the predicted probabilities."""
        k = torch.randint(0, 4, (batch.shape[0],), generator=generator, device=batch.device)
        x = rotate(batch, k)
        return self.prediction_snapshot("input", x, k, lambda v: self.head(self.backbone(v)))


SPEC = MethodSpec(
    "rotation", "Rotation", "pretext", Rotation, RotationConfig,
    "Pretext (RotNet): predict whether the image was rotated by 0°, 90°, 180° or 270°.",
    train={"batch_size": 128, "lr": 1e-3},
    overrides=transfer_layers(digits=3, shapes=2, photos=2),
    code=(Rotation.training_step,),
)
