"""Colorization (Zhang et al., 2016): see the grey image, predict its colours.

    x ──grey──> g ──f──> feature map ──decoder──> x̂ (RGB)      loss = mean squared error to x

Colour is not determined by brightness alone — a red and a green of equal luminance look the
same in grey — so the network must use what the object is. (Zhang et al. predict a distribution
over colours to handle that ambiguity; regression, used here, averages it into brownish grey.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from sslviz.methods.base import CHANNELS, PretextConfig, PretextMethod
from sslviz.methods.registry import MethodSpec, transfer_layers
from sslviz.nets import ConvDecoder, eval_mode
from sslviz.pretext import grey
from sslviz.setting import internal


@dataclass(frozen=True)
class ColorizationConfig(PretextConfig):
    in_channels: int = internal(3, CHANNELS)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.in_channels != 3:
            raise ValueError(f"colorization needs colour (RGB) images, got {self.in_channels} channel(s): "
                             "digits are grey, so there is nothing to predict — use shapes or photos.")


class Colorization(PretextMethod):
    """A grey-input backbone + convolutional decoder to RGB."""

    name = "colorization"
    grey_input = True

    def __init__(self, config: ColorizationConfig = ColorizationConfig()) -> None:
        super().__init__(config)
        self.decoder = ConvDecoder(self.backbone.layer_dim(3), 3, config.width)

    def colourise(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.backbone.feature_map(grey(images)))

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x = self.views(batch, generator)
        loss = ((self.colourise(x) - x) ** 2).mean()
        return {"loss": loss, "colour_mse": loss.detach()}

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        with eval_mode(self):
            pred = self.colourise(batch)
        return {"original": batch.cpu(), "input": grey(batch).cpu(), "pred": pred.cpu()}


SPEC = MethodSpec(
    "colorization", "Colorization", "pretext", Colorization, ColorizationConfig,
    "Pretext: see the grey image, predict its colours (needs colour images).",
    train={"batch_size": 256, "lr": 1e-3},
    overrides=transfer_layers(digits=3, shapes=2, photos=3),  # shapes 2: chosen on the validation split (RESULTS.md, "select-on-val")
    code=(Colorization.training_step,),
)
