"""MoCo (He et al., 2020): negatives from a queue, keys from a slowly moving encoder.

    x1 ──f_q, g_q──> q ──┐
    x2 ──f_k, g_k──> k ──┴──> moco_infonce(q, k, queue, τ);   then  queue ← [queue, k][-K:]
                                                               θ_k ← m·θ_k + (1 − m)·θ_q

SimCLR's negatives are limited by the batch size. MoCo keeps the keys of the last K images in
a queue, so it can have thousands of negatives with small batches. The queue only makes sense
if old keys stay comparable with new ones — hence the key encoder is an exponential moving
average (momentum m close to 1) of the query encoder, never trained by gradients.
The loss is symmetrised (each view serves as query once), as in MoCo v3.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sslviz import augment
from sslviz.losses import moco_infonce
from sslviz.methods.base import TwoViewConfig, TwoViewMethod, ema_update, frozen_copy


@dataclass(frozen=True)
class MoCoConfig(TwoViewConfig):
    temperature: float = 0.2
    queue_size: int = 4096  # K: keys kept as negatives
    momentum: float = 0.99  # m of the key encoder's moving average


class MoCo(TwoViewMethod):
    """Query encoder trained by InfoNCE against a momentum key encoder and a queue of keys."""

    name = "moco"

    def __init__(self, config: MoCoConfig = MoCoConfig()) -> None:
        super().__init__(config)
        self.key_encoder, self.key_head = frozen_copy(self.encoder), frozen_copy(self.head)
        # Start with random unit keys, as MoCo does; real keys push them out after K/2N steps.
        self.register_buffer("queue", F.normalize(torch.randn(config.queue_size, config.proj_dim), dim=1))

    @torch.no_grad()
    def keys(self, views: torch.Tensor) -> torch.Tensor:
        """Normalised keys from the momentum encoder (no gradient)."""
        return F.normalize(self.key_head(self.key_encoder(views)), dim=1)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Append keys (newest last) and drop the oldest, keeping the queue at K rows."""
        self.queue = torch.cat([self.queue, keys.detach()])[-self.config.queue_size :]

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = augment.two_views(batch, self.augment, generator)
        q1, q2 = self.project(torch.cat([x1, x2])).chunk(2)  # N×D queries
        k1, k2 = self.keys(torch.cat([x1, x2])).chunk(2)  # N×D keys, no gradient
        queue = self.queue.clone()  # this step's negatives; the keys below join the queue afterwards
        loss = (moco_infonce(q1, k2, queue, self.config.temperature) + moco_infonce(q2, k1, queue, self.config.temperature)) / 2
        self.enqueue(torch.cat([k2, k1]))
        return {"loss": loss, **self.pair_metrics(q1, q2)}

    def after_step(self) -> None:
        ema_update(self.key_encoder, self.encoder, self.config.momentum)
        ema_update(self.key_head, self.head, self.config.momentum)
