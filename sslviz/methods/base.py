"""The small interface every self-supervised method implements (see DESIGN.md).

A method is an ``nn.Module`` with a config dataclass, an ``encoder`` (the backbone whose
features are evaluated downstream), ``training_step(batch)`` returning the loss and scalar
metrics, ``embed(images)`` for frozen features and ``snapshot(batch)`` for what pages show.
The Trainer relies on nothing else.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class Method(nn.Module):
    """Base class: subclasses set ``name``, ``encoder`` and implement ``training_step``."""

    name: ClassVar[str] = "method"
    encoder: nn.Module

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Return {"loss": scalar tensor to minimise, other metric names: scalar tensors}."""
        raise NotImplementedError

    def after_step(self) -> None:
        """Called by the Trainer after each optimiser step (e.g. for momentum encoders)."""

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Frozen encoder features of ``images`` (eval mode), N×D on the images' device."""
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            return torch.cat([self.encoder(chunk) for chunk in images.split(batch_size)])
        finally:
            self.encoder.train(was_training)

    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Tensors that a page visualises for ``batch`` (views, similarities, ...)."""
        return {}
