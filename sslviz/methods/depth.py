"""RGB ↔ depth (cross-modal contrastive, in the spirit of Tian et al.'s CMC, 2020).

Each image is paired with its depth map; a CNN on the depth map and the image encoder are
trained so that matching pairs are close. The depth map has no colour, so the only way to match
is by the silhouette: the image encoder learns shape, size and position — and can drop colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from sslviz.methods.crossmodal import TEMPERATURE, CrossModal, CrossModalConfig, image_like_partner
from sslviz.methods.registry import MethodSpec
from sslviz.setting import internal


@dataclass(frozen=True)
class DepthConfig(CrossModalConfig):
    """RGB ↔ depth settings (the depth encoder has the image encoder's width)."""

    temperature: float = internal(0.1, TEMPERATURE)


class Depth(CrossModal):
    """Image encoder and depth-map encoder trained with the symmetric InfoNCE."""

    name = "depth"
    modality = "depth"
    partner_key = "depth"

    def __init__(self, config: DepthConfig = DepthConfig()) -> None:
        super().__init__(config)

    def make_partner_encoder(self) -> nn.Module:
        return image_like_partner(self.config)  # the depth map is a 1-channel image


SPEC = MethodSpec(
    "depth", "RGB ↔ depth", "multi-modal", Depth, DepthConfig,
    "Multi-modal (3-D): an RGB image and its depth map attract (cross-modal InfoNCE).",
    train={"batch_size": 256, "lr": 2e-3},
    pairs="depth",
    code=(Depth.training_step,),
)
