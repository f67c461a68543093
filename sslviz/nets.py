"""Tiny networks that train in seconds on a laptop CPU.

``SmallCNN`` is the backbone every method shares (three conv blocks, global average pool);
``MLPHead`` is the one generic head class, and ``projection_head`` its SimCLR-style preset.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put ``module`` in eval mode (batch norm uses running statistics), then restore its mode."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@torch.no_grad()
def frozen_features(encoder: nn.Module, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Features of ``images`` from ``encoder`` in eval mode, without gradients, in chunks, on the encoder's device."""
    device = next(encoder.parameters()).device
    with eval_mode(encoder):
        return torch.cat([encoder(chunk.to(device)) for chunk in images.split(batch_size)])


def conv_block(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    """3×3 conv → batch norm → ReLU (→ 2×2 max pool)."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Three conv blocks (width w, 2w, 4w) and a global average pool: B×C×H×W -> B×4w.

    Small enough that a 256-image batch trains in a fraction of a second on two CPU cores.
    """

    def __init__(self, in_channels: int = 1, width: int = 32) -> None:
        super().__init__()
        if in_channels < 1 or width < 1:
            raise ValueError(f"in_channels and width must be >= 1, got {in_channels} and {width}.")
        self.in_channels = in_channels
        self.width = width
        self.blocks = nn.Sequential(
            conv_block(in_channels, width, pool=True),
            conv_block(width, 2 * width, pool=True),
            conv_block(2 * width, 4 * width, pool=False),
        )
        self.out_dim = 4 * width
        # Channels-last: measured 1.36× faster SimCLR steps on 2 CPU cores (benchmarks/utilization.py).
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x.contiguous(memory_format=torch.channels_last)).mean(dim=(2, 3))


class MLPHead(nn.Module):
    """Linear layers with batch norm and ReLU between them: in_dim -> hidden_dim ... -> out_dim.

    ``output_norm`` adds a final batch norm without learnable scale/shift.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 2, batch_norm: bool = True, output_norm: bool = False) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            last = i == num_layers - 1
            layers.append(nn.Linear(a, b, bias=last or not batch_norm))
            if not last:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(b))
                layers.append(nn.ReLU(inplace=True))
        if output_norm:  # SimSiam's projector ends in batch norm (no affine), which keeps outputs spread
            layers.append(nn.BatchNorm1d(out_dim, affine=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def projection_head(in_dim: int, hidden_dim: int = 128, out_dim: int = 64) -> MLPHead:
    """SimCLR's projection head g(·): a 2-layer MLP whose output feeds the contrastive loss."""
    return MLPHead(in_dim, hidden_dim, out_dim, num_layers=2, batch_norm=True)
