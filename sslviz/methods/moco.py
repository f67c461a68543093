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
from sslviz.methods.registry import MethodSpec
from sslviz.setting import setting


@dataclass(frozen=True)
class MoCoConfig(TwoViewConfig):
    temperature: float = setting(0.2, "Temperature τ", (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0))
    queue_size: int = setting(4096, "Queue size K", (16, 256, 1024, 4096, 16384), "Keys of earlier batches kept as negatives.")
    momentum: float = setting(0.99, "Momentum m", (0.0, 0.5, 0.9, 0.99, 0.999), "m of the key encoder's moving average: 0 makes it a copy of the query encoder.")


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


SPEC = MethodSpec(
    "moco", "MoCo", "contrastive", MoCo, MoCoConfig,
    "Contrastive with a queue of negatives from a momentum (moving-average) key encoder.",
    train={"batch_size": 256, "lr": 2e-3},
    dataset_augment=True,
    code=(moco_infonce, MoCo.training_step),
    diagram=(("x", "view x₁"), ("x", "view x₂"), ("view x₁", "query encoder → q"), ("view x₂", "momentum encoder → k"),
             ("query encoder → q", "InfoNCE"), ("momentum encoder → k", "InfoNCE"), ("queue of old keys", "InfoNCE"),
             ("momentum encoder → k", "queue of old keys", "enqueue"), ("query encoder → q", "momentum encoder → k", "EMA (no gradient)")),
)
