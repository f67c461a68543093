"""The small interface every self-supervised method implements (docs/ARCHITECTURE.md).

A method is an ``nn.Module`` with a config dataclass, an ``encoder`` (the backbone whose
features are evaluated downstream), ``training_step(batch)`` returning the loss and scalar
metrics, ``embed(images)`` for frozen features and ``snapshot(batch)`` for what pages show (and optionally ``test_metrics(images)``).
Multi-modal methods also override ``inputs(dataset)``: their batches are dicts of paired modalities.
The Trainer relies on nothing else.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from sslviz import augment, data
from sslviz.diagnostics import embedding_health
from sslviz.nets import (
    LayerFeatures,
    SmallCNN,
    eval_mode,
    frozen_features,
    projection_head,
)
from sslviz.setting import Config, internal, setting


class Method(nn.Module):
    """Base class: subclasses set ``name``, ``encoder`` and implement ``training_step``."""

    name: ClassVar[str] = "method"
    encoder: nn.Module

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Return {"loss": scalar tensor to minimise, other metric names: scalar tensors}."""
        raise NotImplementedError

    def inputs(self, dataset: data.Dataset) -> torch.Tensor | dict[str, torch.Tensor]:
        """What the Trainer draws batches from: the images, or (multi-modal methods) a dict of aligned modalities."""
        return dataset.images

    def begin(self, images: torch.Tensor) -> None:
        """Called by the Trainer once before training with all training images (on the device); most methods ignore it."""

    def after_step(self) -> None:
        """Called by the Trainer after each optimiser step (e.g. for momentum encoders)."""

    def take_reinitialised(self) -> list[nn.Parameter]:
        """Parameters the method re-initialised since the last call (e.g. DeepCluster's classifier each round).

        The Trainer drops their optimiser state (momentum, Adam's moments and step count) before the next
        update, so they train as under a freshly built optimiser; most methods re-initialise nothing.
        """
        return []

    def embed(self, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Frozen encoder features of ``images`` (eval mode), N×D on the encoder's device."""
        return frozen_features(self.encoder, images, batch_size)

    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Tensors that a page visualises for ``batch`` (views, similarities, ...)."""
        return {}

    def test_metrics(self, images: torch.Tensor, seed: int = 0) -> dict[str, float]:
        """Method-specific scores on held-out ``images`` (e.g. reconstruction error); none by default."""
        return {}

    # --- Hooks for what differs per method; the runner and the recipes call only these. ---
    layers: ClassVar[tuple[int, ...]] = ()  # blocks that ``layer_encoder`` can read (pretext methods: 1, 2, 3)

    def report(self, test: data.Dataset) -> dict[str, Any]:
        """What a page shows about held-out ``test`` data beyond accuracies (the model is in eval mode); none by default."""
        return {}

    def layer_encoder(self, layer: int) -> nn.Module:
        """Frozen features after block ``layer`` of the backbone (one of ``layers``): where do good features live?"""
        raise ValueError(f"{self.name} has no layer-by-layer features.")

    def rounds_so_far(self) -> list[dict[str, Any]]:
        """Records of the rounds a round-based method has run (DeepCluster's clusterings); none by default."""
        return []

    def on_loaded(self, train_images: torch.Tensor, generator: torch.Generator) -> None:
        """Called once when trained weights are loaded instead of trained (checkpoint, run bundle); most methods ignore it."""


# Ranges several configs share. The bounds keep a forged config small (a width of 128 is a 4 MB
# encoder) while admitting every value a page, test or benchmark uses.
CHANNELS = (1, 3)  # grey or RGB
WIDTH = (1, 128)  # SmallCNN width; features have 4 × width dimensions
DIM = (1, 1024)  # hidden and output sizes of heads
IMAGE_SIZE = (8, 96)  # the datasets are 28-32 px; uploads are resized to the dataset's size
PRESETS = tuple(augment.PRESETS)
MAX_TOKENS = 1024  # patch tokens a ViT may take: attention grows with their square


@dataclass(frozen=True)
class TwoViewConfig(Config):
    """Settings shared by every method trained on two augmented views of each image."""

    in_channels: int = internal(1, CHANNELS)
    width: int = setting(16, "Encoder width (features = 4 × width)", (4, 8, 16, 32, 64), valid=WIDTH)
    hidden_dim: int = internal(128, DIM)
    proj_dim: int = setting(64, "Projection dim", (2, 3, 16, 64, 128),
                            "2 or 3 puts the embeddings on a circle or sphere you can look at (uniformity made visible).", valid=DIM)
    augment: str = setting("digits", "Augmentations", PRESETS, "The dataset's own preset is the default (a preset in sslviz.augment.PRESETS).")


class TwoViewMethod(Method):
    """Encoder f, projection head g and an augmentation pipeline; subclasses add the loss.

    Provides the per-step diagnostics every Siamese method logs (similarities, alignment,
    uniformity, spread, effective rank) and the snapshot the pages draw.
    """

    def __init__(self, config: TwoViewConfig) -> None:
        super().__init__()
        self.config = config
        self.augment = augment.preset(config.augment)
        self.encoder = SmallCNN(config.in_channels, config.width)
        self.head = projection_head(self.encoder.out_dim, config.hidden_dim, config.proj_dim)

    def project(self, views: torch.Tensor) -> torch.Tensor:
        """z = g(f(x)): what the loss sees."""
        return self.head(self.encoder(views))

    @torch.no_grad()
    def pair_metrics(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        """Mean cosine of positives and negatives, top-1 pair retrieval, and embedding health."""
        scores = pair_scores(z1, z2)
        return {"positive_sim": scores["positive_sim"], "negative_sim": scores["negative_sim"], "pair_acc": scores["row_top1"], **embedding_health(z1, z2)}

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Two views per image and their normalised projections (eval-mode batch norm)."""
        with eval_mode(self):
            x1, x2 = augment.two_views(batch, self.augment, generator)
            z = F.normalize(self.project(torch.cat([x1, x2])), dim=1)
        return {"view1": x1.cpu(), "view2": x2.cpu(), "z": z.cpu()}

    @torch.no_grad()
    def report(self, test: data.Dataset, n: int = 500) -> dict[str, Any]:
        """With a 2- or 3-D projection head: ``sphere``, the normalised projections of the first ``n`` test images (uniformity made visible)."""
        if self.config.proj_dim not in (2, 3):
            return {}
        device = next(self.parameters()).device
        return {"sphere": F.normalize(self.project(test.images[:n].to(device)), dim=1).cpu().numpy()}


@torch.no_grad()
def pair_scores(z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
    """For N pairs (z1[i], z2[i]): mean cosine of the pairs and of all other combinations, and top-1 retrieval both ways."""
    sim = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T  # N×N: diagonal = the pairs
    n = sim.shape[0]
    target = torch.arange(n, device=sim.device)
    off_diag = sim.masked_select(~torch.eye(n, dtype=torch.bool, device=sim.device))
    return {"positive_sim": sim.diagonal().mean(), "negative_sim": off_diag.mean(),
            "row_top1": (sim.argmax(1) == target).float().mean(), "column_top1": (sim.argmax(0) == target).float().mean()}


def frozen_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module`` that gets no gradients (a momentum/target network)."""
    twin = copy.deepcopy(module)
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """θ_target ← m·θ_target + (1 − m)·θ_online, parameter by parameter."""
    for t, o in zip(target.parameters(), online.parameters()):
        t.mul_(momentum).add_(o.detach(), alpha=1 - momentum)


@dataclass(frozen=True)
class PretextConfig(Config):
    """Settings shared by the pretext-task methods (autoencoder, rotation, jigsaw, inpainting, colorization)."""

    in_channels: int = internal(1, CHANNELS)
    width: int = internal(16, WIDTH)
    transfer_layer: int = setting(3, "Transfer layer (block evaluated downstream)", (1, 2, 3), "Which block's pooled output the probe and kNN read.")
    augment: str = internal("none", PRESETS)  # applied before the pretext transform


class PretextMethod(Method):
    """A ``SmallCNN`` backbone trained on a pretext task; ``encoder`` is its pooled block ``transfer_layer``.

    Subclasses add their task head and ``training_step``. ``grey_input`` backbones see grey images only.
    """

    grey_input: ClassVar[bool] = False

    def __init__(self, config: PretextConfig) -> None:
        super().__init__()
        self.config = config
        self.augment = augment.preset(config.augment)
        self.backbone = SmallCNN(1 if self.grey_input else config.in_channels, config.width)
        self.encoder = LayerFeatures(self.backbone, config.transfer_layer, grey=self.grey_input)

    layers: ClassVar[tuple[int, ...]] = (1, 2, 3)

    def layer_encoder(self, layer: int) -> nn.Module:
        return LayerFeatures(self.backbone, layer, grey=self.grey_input)

    def views(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The batch after the (optional) augmentation."""
        return augment.augment(batch, self.augment, generator)

    @torch.no_grad()
    def prediction_snapshot(self, shown: str, inputs: torch.Tensor, target: torch.Tensor,
                            logits: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, Any]:
        """A classification task's live snapshot: ``inputs`` (under key ``shown``), the true class, and the
        class probabilities in eval mode (BatchNorm's running statistics, as at test time)."""
        with eval_mode(self):
            probs = logits(inputs).softmax(dim=1)
        return {shown: inputs.cpu(), "target": target.cpu(), "probs": probs.cpu()}

