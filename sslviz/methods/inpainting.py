"""Inpainting, as in Context Encoders (Pathak et al., 2016): cut a hole, paint it back.

    x ──grey square at a random place──> x̃ ──f──> feature map ──decoder──> x̂
    loss = mean squared error inside the hole only

Filling the hole needs context: a stroke that continues, the rest of a triangle's edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from sslviz.methods.base import PretextConfig, PretextMethod
from sslviz.methods.registry import MethodSpec, transfer_layers
from sslviz.nets import ConvDecoder, eval_mode
from sslviz.pretext import box_masks
from sslviz.setting import setting

FILL = 0.5  # what the hole shows: mid grey, distinct from the dark backgrounds


@dataclass(frozen=True)
class InpaintingConfig(PretextConfig):
    hole: float = setting(0.4, "Hole size (share of the side)", (0.2, 0.3, 0.4, 0.5, 0.6))  # side of the square hole as a fraction of the image side


class Inpainting(PretextMethod):
    """Backbone feature map + convolutional decoder that predicts the pixels under the hole."""

    name = "inpainting"

    def __init__(self, config: InpaintingConfig = InpaintingConfig()) -> None:
        super().__init__(config)
        self.decoder = ConvDecoder(self.backbone.layer_dim(3), config.in_channels, config.width)

    def fill(self, images: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Holed input, mask (N×1×H×W, True in the hole) and the prediction of every pixel."""
        n, _, h, w = images.shape
        mask = box_masks(n, h, w, max(1, round(self.config.hole * min(h, w))), generator, images.device)
        holed = images.masked_fill(mask, FILL)
        return {"input": holed, "mask": mask, "pred": self.decoder(self.backbone.feature_map(holed))}

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x = self.views(batch, generator)
        out = self.fill(x, generator)
        mask = out["mask"].expand_as(x)
        loss = ((out["pred"] - x) ** 2)[mask].mean()
        return {"loss": loss, "hole_mse": loss.detach()}

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Holed input, raw prediction, and the prediction pasted into the hole."""
        with eval_mode(self):
            out = self.fill(batch, generator)
        pasted = torch.where(out["mask"], out["pred"], batch)
        return {"original": batch.cpu(), "input": out["input"].cpu(), "pred": out["pred"].cpu(), "pasted": pasted.cpu(), "mask": out["mask"].cpu()}


SPEC = MethodSpec(
    "inpainting", "Inpainting", "pretext", Inpainting, InpaintingConfig,
    "Pretext (context encoder): paint back a square cut out of the image.",
    train={"batch_size": 256, "lr": 1e-3},
    overrides=transfer_layers(digits=3, shapes=2, photos=2),
    code=(Inpainting.training_step,),
)
