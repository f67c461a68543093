"""Temporal contrastive learning: two frames of the same clip are positives.

    clip ──pick frame t──> x1 ──f──g──> z1 ┐
         └─pick frame t'─> x2 ──f──g──> z2 ┴──> info_nce(z1, z2, τ)

Video gives augmentations for free: between frames the object moves and turns but stays the
same object (Wang & Gupta 2015; the "slowness" idea). Frames of *other* clips are the negatives.
Nothing is hand-designed apart from "time passes".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from sslviz import augment, data
from sslviz.losses import info_nce
from sslviz.methods.base import CHANNELS, PRESETS, TwoViewConfig, TwoViewMethod
from sslviz.methods.paired_scores import RETRIEVAL_PAIRS, retrieval_scores
from sslviz.methods.registry import MethodSpec
from sslviz.nets import eval_mode
from sslviz.setting import internal


@dataclass(frozen=True)
class TemporalConfig(TwoViewConfig):
    """Settings; ``max_gap`` is the largest distance in frames between the two positives."""

    in_channels: int = internal(3, CHANNELS)
    temperature: float = internal(0.2, (0.01, 2.0))
    max_gap: int = internal(data.CLIP_FRAMES - 1, (1, data.CLIP_FRAMES - 1))
    augment: str = internal("colour only", PRESETS)  # time never changes an object's colour: without jitter, frames are matched by colour (kNN 0.67-0.73 vs 0.94-0.98)


class Temporal(TwoViewMethod):
    """Encoder + projection head trained with InfoNCE on two frames of each clip."""

    name = "temporal"

    def __init__(self, config: TemporalConfig = TemporalConfig()) -> None:
        super().__init__(config)

    def inputs(self, dataset: data.Dataset) -> dict[str, torch.Tensor]:
        return {"clips": data.pairs(dataset, "video")["clips"]}

    def frames(self, clips: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Two frames per clip, 1..max_gap apart, as float images (clips: B×T×C×H×W uint8)."""
        b, t = clips.shape[:2]
        gap = torch.randint(1, self.config.max_gap + 1, (b,), generator=generator, device=clips.device)
        # the first frame leaves room for the gap: clips are not periodic, so no pair wraps from the end back to the start
        first = (torch.rand(b, generator=generator, device=clips.device) * (t - gap)).long()
        second = first + gap
        rows = torch.arange(b, device=clips.device)
        x1, x2 = clips[rows, first].float() / 255, clips[rows, second].float() / 255
        return augment.augment(x1, self.augment, generator), augment.augment(x2, self.augment, generator)

    def training_step(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = self.frames(batch["clips"], generator)
        z1, z2 = self.project(torch.cat([x1, x2])).chunk(2)
        loss = info_nce(z1, z2, self.config.temperature)
        return {"loss": loss, **self.pair_metrics(z1, z2)}

    @torch.no_grad()
    def partner_similarity(self, dataset: data.Dataset, n: int = RETRIEVAL_PAIRS) -> torch.Tensor:
        """n×n cosine similarity of the first frames (rows; the dataset images) and the *last* frames (columns) of ``n`` clips."""
        clips = data.pairs(dataset, "video")["clips"][:n].to(next(self.parameters()).device)
        with eval_mode(self):
            first, last = (F.normalize(self.project(clips[:, t].float() / 255), dim=1) for t in (0, -1))
        return (first @ last.T).cpu()

    def report(self, test: data.Dataset) -> dict[str, Any]:
        """``multimodal``: first-frame → last-frame retrieval recall among held-out clips."""
        return {"multimodal": retrieval_scores(self.partner_similarity(test))}

    @torch.no_grad()
    def snapshot(self, batch: dict[str, torch.Tensor] | torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Two frames per clip (or two copies of plain images) and their normalised projections."""
        if not isinstance(batch, dict):
            return super().snapshot(batch, generator)
        with eval_mode(self):
            x1, x2 = self.frames(batch["clips"], generator)
            z = F.normalize(self.project(torch.cat([x1, x2])), dim=1)
        return {"view1": x1.cpu(), "view2": x2.cpu(), "z": z.cpu(), "temperature": self.config.temperature}


SPEC = MethodSpec(
    "temporal", "Temporal (video)", "multi-modal", Temporal, TemporalConfig,
    "Multi-modal (video): two frames of the same clip are positives, frames of other clips negatives.",
    train={"batch_size": 256, "lr": 2e-3},
    pairs="video",
    code=(Temporal.training_step,),
)
