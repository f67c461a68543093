"""Cross-modal contrastive learning: an image and its partner in another modality attract.

    image x ──f──> h ──g──> u ┐
                              ├──> clip_loss(u, v, s)      (symmetric InfoNCE, learnable s = 1/τ)
    partner y ──f'─────────> v ┘

The partner is a caption (CLIP), a depth map (RGB ↔ depth) or a sound (audio-visual). Nothing is
labelled: the pairing itself is the supervision, and the other modality decides what the image
encoder f must keep — a depth map has no colour, so RGB ↔ depth learns shape, not colour. This
file holds what the three share; each method file adds its partner's encoder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from sslviz import augment, data
from sslviz.data import take
from sslviz.losses import clip_loss
from sslviz.methods.base import CHANNELS, DIM, PRESETS, WIDTH, Method, pair_scores
from sslviz.methods.paired_scores import RETRIEVAL_PAIRS, retrieval_scores
from sslviz.nets import SmallCNN, eval_mode, projection_head
from sslviz.setting import Config, Range, internal

MAX_LOGIT_SCALE = 100.0  # CLIP clamps 1/τ at 100 so training stays stable
TEMPERATURE = Range(1 / MAX_LOGIT_SCALE, 10.0, why=f"1/τ is capped at {MAX_LOGIT_SCALE:g}")  # the initial τ a config may hold


@dataclass(frozen=True)
class CrossModalConfig(Config):
    """Settings shared by the cross-modal contrastive methods."""

    in_channels: int = internal(3, CHANNELS)
    width: int = internal(16, WIDTH)  # image encoder width: features have 4·width dimensions
    embed_dim: int = internal(64, DIM)  # the joint embedding space both modalities map into
    temperature: float = internal(0.07, TEMPERATURE)  # initial τ (CLIP's); 1/τ is capped at MAX_LOGIT_SCALE
    learn_temperature: bool = internal(True)
    augment: str = internal("none", PRESETS)  # image augmentation; the partner must still match, so keep it mild


class CrossModal(Method):
    """Image encoder + head, a partner encoder, and the symmetric InfoNCE between them.

    Subclasses set ``modality`` (a key of ``sslviz.data.pairs``), ``partner_key`` (the batch entry
    holding the partner) and implement ``make_partner_encoder``; ``partner_view`` may pick what
    the step uses (CLIP draws one of several phrasings).
    """

    modality: ClassVar[str] = ""
    partner_key: ClassVar[str] = ""

    def __init__(self, config: CrossModalConfig) -> None:
        super().__init__()
        self.config = config
        self.augment = augment.preset(config.augment)
        self.encoder = SmallCNN(config.in_channels, config.width)
        self.image_head = projection_head(self.encoder.out_dim, 128, config.embed_dim)
        self.partner = self.make_partner_encoder()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / config.temperature)), requires_grad=config.learn_temperature)

    def make_partner_encoder(self) -> nn.Module:
        """A module mapping a batch of partners to B×embed_dim."""
        raise NotImplementedError

    def inputs(self, dataset: data.Dataset) -> dict[str, torch.Tensor]:
        return {k: v for k, v in data.pairs(dataset, self.modality).items() if k in ("images", self.partner_key)}

    def partner_view(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """The partner tensor a training step uses."""
        return batch[self.partner_key]

    @property
    def scale(self) -> torch.Tensor:
        """s = 1/τ. Not clamped here: a clamp in the forward pass would give log s a zero gradient
        once it reaches the bound, so :meth:`after_step` clamps the parameter instead (as open_clip does)."""
        return self.log_scale.exp()

    @torch.no_grad()
    def after_step(self) -> None:
        """Keep s = 1/τ ≤ MAX_LOGIT_SCALE by clamping the parameter after each optimiser step."""
        self.log_scale.clamp_(max=math.log(MAX_LOGIT_SCALE))

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """Unit vectors u in the joint space (B×embed_dim)."""
        return F.normalize(self.image_head(self.encoder(images)), dim=1)

    def embed_partners(self, partners: torch.Tensor) -> torch.Tensor:
        """Unit vectors v in the joint space (B×embed_dim)."""
        return F.normalize(self.partner(partners), dim=1)

    def training_step(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        images = augment.augment(batch["images"], self.augment, generator)  # B×C×H×W
        u = self.image_head(self.encoder(images))  # B×E
        v = self.partner(self.partner_view(batch, generator))  # B×E
        loss = clip_loss(u, v, self.scale)
        scores = pair_scores(u.detach(), v.detach())  # batch retrieval both ways, mean cosine of matching and other pairs
        return {"loss": loss, "temperature": 1 / self.scale.detach(), "image_to_partner_acc": scores["row_top1"], "partner_to_image_acc": scores["column_top1"],
                "positive_sim": scores["positive_sim"], "negative_sim": scores["negative_sim"]}

    @torch.no_grad()
    def similarity(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """B×B cosine similarities: image i (rows) against partner j (columns), eval mode."""
        with eval_mode(self):
            return self.embed_images(batch["images"]) @ self.embed_partners(self.partner_view(batch)).T

    @torch.no_grad()
    def partner_similarity(self, dataset: data.Dataset, n: int = RETRIEVAL_PAIRS) -> torch.Tensor:
        """n×n cosine similarity of the first ``n`` images of ``dataset`` (rows) and their partners (columns), on the CPU."""
        return self.similarity(take(self.inputs(dataset), slice(0, n))).cpu()

    def report(self, test: data.Dataset) -> dict[str, Any]:
        """``multimodal``: recall@1 and @5 both ways among held-out pairs."""
        return {"multimodal": retrieval_scores(self.partner_similarity(test))}

    @torch.no_grad()
    def snapshot(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> dict[str, Any]:
        """The image–partner similarity matrix of ``batch`` (what the page draws during training)."""
        return {"similarity": self.similarity(batch).cpu(), "temperature": float(1 / self.scale)}


def image_like_partner(config: CrossModalConfig, channels: int = 1) -> nn.Module:
    """A partner encoder for image-like partners (depth maps, spectrograms): a SmallCNN of the image encoder's width and a projection head."""
    cnn = SmallCNN(channels, config.width)
    return nn.Sequential(cnn, projection_head(cnn.out_dim, 128, config.embed_dim))


def without_held_out(dataset: data.Dataset, pairs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """On the train split, drop the images whose colour–shape combination is held out (data.HELD_OUT_COMBOS)."""
    if dataset.split != "train":
        return pairs
    keep = torch.from_numpy(~data.held_out_mask(dataset))
    return {k: v[keep] for k, v in pairs.items()}
