"""CLIP (Radford et al., 2021): images and their captions meet in one embedding space.

    image ──CNN──> head ──> u ┐
                              ├──> symmetric InfoNCE over the batch (learnable temperature)
    caption ──bag of words──> v ┘

After training, *any* sentence can be embedded, so a classifier is just a list of prompts:
zero-shot classification picks the prompt whose v is closest to the image's u. Captions come in
several phrasings; colour–shape combinations in ``data.HELD_OUT_COMBOS`` are never shown in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from sslviz import data
from sslviz.losses import clip_loss
from sslviz.methods.base import DIM
from sslviz.methods.crossmodal import CrossModal, CrossModalConfig, without_held_out
from sslviz.methods.paired_scores import (
    RETRIEVAL_PAIRS,
    retrieval_scores,
    zero_shot_scores,
)
from sslviz.methods.registry import MethodSpec
from sslviz.nets import TextEncoder, eval_mode
from sslviz.setting import internal


@dataclass(frozen=True)
class CLIPConfig(CrossModalConfig):
    """CLIP's settings; ``text_dim`` is the word-embedding size of the tiny text encoder."""

    text_dim: int = internal(64, DIM)


class CLIP(CrossModal):
    """Image encoder + tiny text encoder trained with the symmetric InfoNCE on image–caption pairs."""

    name = "clip"
    modality = "text"
    partner_key = "captions"

    def __init__(self, config: CLIPConfig = CLIPConfig()) -> None:
        super().__init__(config)

    def make_partner_encoder(self) -> TextEncoder:
        return TextEncoder(len(data.VOCAB), self.config.text_dim, self.config.embed_dim, pad=data.PAD)

    def inputs(self, dataset: data.Dataset) -> dict[str, torch.Tensor]:
        return without_held_out(dataset, super().inputs(dataset))

    def partner_view(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        captions = batch["captions"]  # B×K×L: K phrasings per image
        if captions.ndim == 2:
            return captions
        if not self.training:
            return captions[:, 0]
        pick = torch.randint(captions.shape[1], (captions.shape[0],), generator=generator, device=captions.device)
        return captions[torch.arange(captions.shape[0], device=captions.device), pick]  # B×L: one phrasing each

    @torch.no_grad()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """Unit vectors for free text; ValueError names words outside the vocabulary."""
        ids = data.tokenize(texts).to(self.log_scale.device)
        with eval_mode(self):
            return self.embed_partners(ids)

    @torch.no_grad()
    def partner_similarity(self, dataset: data.Dataset, n: int = RETRIEVAL_PAIRS) -> torch.Tensor:
        """n×n cosine similarity of the first ``n`` images and their canonical captions, on the CPU."""
        with eval_mode(self):
            u = self.embed_images(dataset.images[:n].to(self.log_scale.device))
            return (u @ self.embed_text(list(dataset.captions[:n])).T).cpu()

    def report(self, test: data.Dataset) -> dict[str, Any]:
        """``multimodal``: zero-shot accuracy (all test images and the held-out combinations) and retrieval recall."""
        return {"multimodal": {**zero_shot_scores(self, test), **retrieval_scores(self.partner_similarity(test))}}

    @torch.no_grad()
    def zero_shot(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """N×P softmax over the prompts for each image: CLIP's zero-shot classifier, softmax(s·u·vᵀ)."""
        if not prompts:
            raise ValueError("Give at least one prompt.")
        v = self.embed_text(prompts)
        with eval_mode(self):
            u = torch.cat([self.embed_images(chunk.to(v.device)) for chunk in images.split(1024)])
        return torch.softmax(self.scale * u @ v.T, dim=1).cpu()


SPEC = MethodSpec(
    "clip", "CLIP", "multi-modal", CLIP, CLIPConfig,
    "Multi-modal: images and their captions meet in one space (symmetric InfoNCE); prompts then classify zero-shot.",
    train={"batch_size": 256, "lr": 2e-3},  # constant lr: chosen over cosine on the validation split (RESULTS.md, "select-on-val")
    pairs="text",
    code=(clip_loss, CrossModal.training_step, CLIP.zero_shot),
)
