"""Audio-visual correspondence (after Arandjelović & Zisserman, 2017; here contrastive, as in later work).

Each image comes with the sound its object makes: the shape sets the timbre, the size the pitch.
A CNN on the sound's spectrogram and the image encoder are trained so that an image and its own
sound are closer than any other sound in the batch. To hear which image a sound belongs to, the
image encoder must see shape and size; colour and position make no sound.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from sslviz.methods.crossmodal import TEMPERATURE, CrossModal, CrossModalConfig, image_like_partner
from sslviz.methods.registry import MethodSpec
from sslviz.setting import internal


@dataclass(frozen=True)
class AudioVisualConfig(CrossModalConfig):
    """Image ↔ sound settings (the spectrogram encoder has the image encoder's width)."""

    temperature: float = internal(0.1, TEMPERATURE)


class AudioVisual(CrossModal):
    """Image encoder and spectrogram encoder trained with the symmetric InfoNCE."""

    name = "audiovisual"
    modality = "audio"
    partner_key = "spectrogram"

    def __init__(self, config: AudioVisualConfig = AudioVisualConfig()) -> None:
        super().__init__(config)

    def make_partner_encoder(self) -> nn.Module:
        return image_like_partner(self.config)  # the spectrogram is a 1-channel image


SPEC = MethodSpec(
    "audiovisual", "Audio-visual", "multi-modal", AudioVisual, AudioVisualConfig,
    "Multi-modal (audio): an image and the sound its object makes attract (cross-modal InfoNCE).",
    train={"batch_size": 256, "lr": 2e-3},
    pairs="audio",
    code=(AudioVisual.training_step,),
)
