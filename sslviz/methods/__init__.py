"""Registry of self-supervised methods: adding a method is one file plus one entry here.

``create(name, dataset)`` returns a method configured with its tuned defaults for that
dataset, and ``train_defaults(name, dataset)`` the batch size and learning rate to use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sslviz.methods.base import Method
from sslviz.methods.audiovisual import AudioVisual, AudioVisualConfig
from sslviz.methods.autoencoder import Autoencoder, AutoencoderConfig
from sslviz.methods.byol import BYOL, BYOLConfig
from sslviz.methods.clip import CLIP, CLIPConfig
from sslviz.methods.colorization import Colorization, ColorizationConfig
from sslviz.methods.deepcluster import DeepCluster, DeepClusterConfig
from sslviz.methods.depth import Depth, DepthConfig
from sslviz.methods.inpainting import Inpainting, InpaintingConfig
from sslviz.methods.jigsaw import Jigsaw, JigsawConfig
from sslviz.methods.mae import MAE, MAEConfig
from sslviz.methods.moco import MoCo, MoCoConfig
from sslviz.methods.rotation import Rotation, RotationConfig
from sslviz.methods.simclr import SimCLR, SimCLRConfig
from sslviz.methods.simsiam import SimSiam, SimSiamConfig
from sslviz.methods.temporal import Temporal, TemporalConfig
from sslviz.methods.virtex import VirTex, VirTexConfig

# What every two-view method needs to know about a dataset: its channels and which
# augmentations keep its class (digits must not be flipped; shapes may spin and change colour).
TWO_VIEW_DATA = {
    "digits": {"in_channels": 1, "augment": "digits"},
    "shapes": {"in_channels": 3, "augment": "SimCLR + rotation"},
    "photos": {"in_channels": 3, "augment": "SimCLR default"},
    "clutter": {"in_channels": 3, "augment": "SimCLR + rotation"},
}
CLUSTER_DATA = {name: {**d, "steps_per_round": 100 if name == "digits" else 50} for name, d in TWO_VIEW_DATA.items()}
IMAGE_DATA = {"digits": {"in_channels": 1, "image_size": 28}, **{name: {"in_channels": 3, "image_size": 32} for name in ("shapes", "photos", "clutter")}}
CHANNELS = {name: {"in_channels": d["in_channels"]} for name, d in IMAGE_DATA.items()}
PAIRED_DATA = {"shapes": {"in_channels": 3}}  # captions, clips, depth and sounds are generated for shapes only


def transfer_layers(data: dict[str, dict[str, Any]], digits: int, shapes: int, photos: int) -> dict[str, dict[str, Any]]:
    """A pretext method's per-dataset settings plus the block it transfers from (measured: benchmarks/RESULTS.md, pretext)."""
    layers = {"digits": digits, "shapes": shapes, "photos": photos, "clutter": shapes}  # clutter: shapes' block, not measured apart
    return {name: {**d, "transfer_layer": layers[name]} for name, d in data.items()}



@dataclass(frozen=True)
class MethodSpec:
    """One registry entry: the class, its config type, tuned defaults and a one-line summary."""

    cls: type[Method]
    config_cls: type
    summary: str
    config: dict[str, Any]  # method settings tuned for the default budgets (all datasets)
    train: dict[str, Any]  # batch size, learning rate, ...
    data: dict[str, dict[str, Any]]  # dataset -> settings that depend on the data
    paired: str = ""  # multi-modal methods: the modality they pair images with; they train only on datasets in ``data``

    def config_for(self, dataset: str) -> dict[str, Any]:
        if self.paired and dataset not in self.data:
            raise ValueError(f"{self.cls.name} pairs images with {self.paired}, which only the {', '.join(self.data)} dataset has — not {dataset!r}.")
        return {**self.data.get(dataset, {}), **self.config}


REGISTRY: dict[str, MethodSpec] = {
    "simclr": MethodSpec(
        SimCLR, SimCLRConfig, "Contrastive: two views of an image attract, other images in the batch repel (InfoNCE).",
        {"width": 16, "temperature": 0.2}, {"batch_size": 256, "lr": 2e-3}, TWO_VIEW_DATA,
    ),
    "moco": MethodSpec(
        MoCo, MoCoConfig, "Contrastive with a queue of negatives from a momentum (moving-average) key encoder.",
        {"width": 16, "temperature": 0.2, "queue_size": 4096, "momentum": 0.99}, {"batch_size": 256, "lr": 2e-3}, TWO_VIEW_DATA,
    ),
    "byol": MethodSpec(
        BYOL, BYOLConfig, "No negatives: an online network with a predictor regresses a moving-average target network.",
        {"width": 16, "momentum": 0.8}, {"batch_size": 128, "lr": 1e-3}, TWO_VIEW_DATA,
    ),
    "simsiam": MethodSpec(
        SimSiam, SimSiamConfig, "No negatives, no momentum: a predictor and a stop-gradient prevent collapse.",
        {"width": 16, "predictor_hidden": 64}, {"batch_size": 128, "lr": 1e-3}, TWO_VIEW_DATA,
    ),
    "deepcluster": MethodSpec(
        DeepCluster, DeepClusterConfig, "Deep clustering: k-means on the features gives pseudo-labels, the network learns to predict them, repeat.",
        {"k": 30}, {"batch_size": 256, "lr": 1e-3}, CLUSTER_DATA,
    ),
    "mae": MethodSpec(
        MAE, MAEConfig, "Masked autoencoder: hide 75% of the patches, reconstruct them with a ViT that sees only the rest.",
        {}, {"batch_size": 256, "lr": 1e-3, "weight_decay": 0.05}, IMAGE_DATA,
    ),
    "autoencoder": MethodSpec(
        Autoencoder, AutoencoderConfig, "Pretext: compress the image into a small code and rebuild it (optionally from a noisy copy).",
        {}, {"batch_size": 256, "lr": 1e-3}, transfer_layers(IMAGE_DATA, 3, 2, 2),
    ),
    "rotation": MethodSpec(
        Rotation, RotationConfig, "Pretext (RotNet): predict whether the image was rotated by 0°, 90°, 180° or 270°.",
        {}, {"batch_size": 128, "lr": 1e-3}, transfer_layers(CHANNELS, 3, 2, 2),
    ),
    "jigsaw": MethodSpec(
        Jigsaw, JigsawConfig, "Pretext: the four tiles of the image were shuffled — predict which of the 24 orders was used.",
        {}, {"batch_size": 256, "lr": 1e-3}, transfer_layers(CHANNELS, 2, 2, 2),
    ),
    "inpainting": MethodSpec(
        Inpainting, InpaintingConfig, "Pretext (context encoder): paint back a square cut out of the image.",
        {}, {"batch_size": 256, "lr": 1e-3}, transfer_layers(CHANNELS, 3, 2, 2),
    ),
    "colorization": MethodSpec(
        Colorization, ColorizationConfig, "Pretext: see the grey image, predict its colours (needs colour images).",
        {}, {"batch_size": 256, "lr": 1e-3}, transfer_layers(CHANNELS, 3, 3, 3),
    ),
    "clip": MethodSpec(
        CLIP, CLIPConfig, "Multi-modal: images and their captions meet in one space (symmetric InfoNCE); prompts then classify zero-shot.",
        {}, {"batch_size": 256, "lr": 2e-3, "lr_schedule": "cosine"}, PAIRED_DATA, paired="text",  # cosine: zero-shot shape 0.93–0.95 at 60 s, constant lr 0.71–0.95
    ),
    "virtex": MethodSpec(
        VirTex, VirTexConfig, "Multi-modal: pre-train the image encoder by generating the image's caption word by word.",
        {}, {"batch_size": 128, "lr": 2e-3}, PAIRED_DATA, paired="text",
    ),
    "temporal": MethodSpec(
        Temporal, TemporalConfig, "Multi-modal (video): two frames of the same clip are positives, frames of other clips negatives.",
        {"augment": "colour only"}, {"batch_size": 256, "lr": 2e-3}, PAIRED_DATA, paired="video",
    ),
    "depth": MethodSpec(
        Depth, DepthConfig, "Multi-modal (3-D): an RGB image and its depth map attract (cross-modal InfoNCE).",
        {}, {"batch_size": 256, "lr": 2e-3}, PAIRED_DATA, paired="depth",
    ),
    "audiovisual": MethodSpec(
        AudioVisual, AudioVisualConfig, "Multi-modal (audio): an image and the sound its object makes attract (cross-modal InfoNCE).",
        {}, {"batch_size": 256, "lr": 2e-3}, PAIRED_DATA, paired="audio",
    ),
}
PRETEXT_METHODS = ("autoencoder", "rotation", "jigsaw", "inpainting", "colorization")
MULTIMODAL_METHODS = ("clip", "virtex", "temporal", "depth", "audiovisual")


def spec(name: str) -> MethodSpec:
    """The registry entry for ``name``; ValueError lists the known methods."""
    if name not in REGISTRY:
        raise ValueError(f"Unknown method {name!r}. Available methods: {', '.join(REGISTRY)}.")
    return REGISTRY[name]


def default_config(name: str, dataset: str, **overrides: Any) -> Any:
    """The tuned config of method ``name`` on ``dataset``, with ``overrides`` applied."""
    s = spec(name)
    try:
        return replace(s.config_cls(), **{**s.config_for(dataset), **overrides})
    except TypeError as err:  # an override the method does not have
        raise ValueError(f"{name}: {err}") from None


def train_defaults(name: str, dataset: str) -> dict[str, Any]:
    """Batch size, learning rate etc. tuned for method ``name`` (``dataset`` reserved for per-data tuning)."""
    return dict(spec(name).train)


def create(name: str, dataset: str = "digits", **overrides: Any) -> Method:
    """A fresh, randomly initialised method with the defaults for ``dataset``."""
    return spec(name).cls(default_config(name, dataset, **overrides))


__all__ = ["Method", "MethodSpec", "MULTIMODAL_METHODS", "PRETEXT_METHODS", "REGISTRY", "create", "default_config", "spec", "train_defaults"]
