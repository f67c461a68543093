"""Jigsaw puzzles (Noroozi & Favaro, 2016): shuffle an image's tiles, predict the permutation.

    x ──2×2 tiles──> shuffle by permutation p (one of 24) ──f on each tile──> concat ──MLP──> p

Each tile is cropped at a random offset, leaving gaps of random width between tiles, so the
network cannot solve the puzzle by matching pixels along the edges (Noroozi & Favaro's trick);
it has to recognise which part of an object each tile shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from sslviz.methods.base import PretextConfig, PretextMethod
from sslviz.methods.registry import MethodSpec, transfer_layers
from sslviz.nets import MLPHead
from sslviz.pretext import JIGSAW_PERMUTATIONS, crop_tiles, shuffle_tiles, split_tiles
from sslviz.setting import internal, setting


@dataclass(frozen=True)
class JigsawConfig(PretextConfig):
    gap: int = setting(4, "Gap between tiles (pixels)", (0, 2, 4), "0: the network can cheat by matching pixels along tile edges.")  # pixels cut from each tile, at a random offset per tile
    hidden_dim: int = internal(256, (1, 2048))


class Jigsaw(PretextMethod):
    """A shared backbone embeds each tile; an MLP on the four embeddings classifies the permutation."""

    name = "jigsaw"

    def __init__(self, config: JigsawConfig = JigsawConfig()) -> None:
        super().__init__(config)
        self.head = MLPHead(4 * self.backbone.out_dim, config.hidden_dim, len(JIGSAW_PERMUTATIONS))

    def puzzle(self, images: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Tiles with gaps, shuffled: N×4×C×t×t, and the permutation index of each image (N)."""
        tiles = crop_tiles(split_tiles(images, 2), self.config.gap, generator)
        perm = torch.randint(0, len(JIGSAW_PERMUTATIONS), (images.shape[0],), generator=generator, device=images.device)
        return shuffle_tiles(tiles, perm), perm

    def logits(self, tiles: torch.Tensor) -> torch.Tensor:
        n = tiles.shape[0]
        features = self.backbone(tiles.flatten(0, 1)).reshape(n, -1)  # N×(4·D): the order of the tiles is kept
        return self.head(features)

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        tiles, perm = self.puzzle(self.views(batch, generator), generator)
        logits = self.logits(tiles)
        loss = F.cross_entropy(logits, perm)
        return {"loss": loss, "pretext_acc": (logits.argmax(1) == perm).float().mean().detach()}

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Shuffled tiles, the true and the predicted permutation (with its probability)."""
        tiles, perm = self.puzzle(batch, generator)
        return self.prediction_snapshot("tiles", tiles, perm, self.logits)


SPEC = MethodSpec(
    "jigsaw", "Jigsaw", "pretext", Jigsaw, JigsawConfig,
    "Pretext: the four tiles of the image were shuffled — predict which of the 24 orders was used.",
    train={"batch_size": 256, "lr": 1e-3},
    overrides=transfer_layers(digits=3, shapes=2, photos=2),  # digits 3: chosen on the validation split (RESULTS.md, "select-on-val")
    code=(Jigsaw.training_step,),
)
