"""Autoencoder: squeeze the image through a small code, then rebuild it.

    x (+ noise, if denoising) ──f──> h ──> z (latent_dim numbers) ──decoder──> x̂      loss = ‖x̂ − x‖²

The bottleneck forces a summary of the image; the denoising variant (Vincent et al., 2008)
must also tell signal from noise. Reconstruction rewards keeping every pixel detail, not just
what matters for recognition — which is why autoencoders are the weakest pretext here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from sslviz.methods.base import IMAGE_SIZE, PretextConfig, PretextMethod
from sslviz.methods.registry import MethodSpec, transfer_layers
from sslviz.nets import ConvDecoder, eval_mode
from sslviz.setting import internal, setting


@dataclass(frozen=True)
class AutoencoderConfig(PretextConfig):
    image_size: int = internal(28, IMAGE_SIZE)
    latent_dim: int = setting(32, "Latent size", (2, 8, 32, 128), valid=(1, 1024))
    noise_std: float = setting(0.0, "Denoising: input noise σ", (0.0, 0.1, 0.3, 0.5), valid=(0.0, 2.0))  # > 0: denoising autoencoder (Gaussian noise on the input, clean target)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_size % 4:
            raise ValueError(f"the autoencoder needs an image size divisible by 4, got {self.image_size}.")


class Autoencoder(PretextMethod):
    """Backbone → latent code → linear up-projection → convolutional decoder."""

    name = "autoencoder"

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()) -> None:
        super().__init__(config)
        self.side = config.image_size // 4  # the backbone pools twice
        channels = self.backbone.out_dim
        self.to_latent = nn.Linear(channels, config.latent_dim)
        self.from_latent = nn.Sequential(nn.Linear(config.latent_dim, channels * self.side**2), nn.ReLU(inplace=True))
        self.decoder = ConvDecoder(channels, config.in_channels, config.width)

    def reconstruct(self, images: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        noisy = images
        if self.config.noise_std > 0:
            noise = torch.randn(images.shape, generator=generator, device=images.device)
            noisy = (images + self.config.noise_std * noise).clamp(0, 1)
        z = self.to_latent(self.backbone(noisy))  # N×latent_dim
        h = self.from_latent(z).reshape(images.shape[0], -1, self.side, self.side)
        return {"input": noisy, "latent": z, "pred": self.decoder(h)}

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x = self.views(batch, generator)
        loss = ((self.reconstruct(x, generator)["pred"] - x) ** 2).mean()
        return {"loss": loss, "reconstruction_mse": loss.detach()}

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        with eval_mode(self):
            out = self.reconstruct(batch, generator)
        return {"original": batch.cpu(), "input": out["input"].cpu(), "pred": out["pred"].cpu()}


SPEC = MethodSpec(
    "autoencoder", "Autoencoder", "pretext", Autoencoder, AutoencoderConfig,
    "Pretext: compress the image into a small code and rebuild it (optionally from a noisy copy).",
    train={"batch_size": 256, "lr": 1e-3},
    overrides=transfer_layers(digits=3, shapes=2, photos=2),
    code=(Autoencoder.training_step,),
)
