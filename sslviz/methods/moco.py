"""MoCo (He et al., 2020): negatives from a queue, keys from a slowly moving encoder.

    x1 ──f_q, g_q──> q ──┐
    x2 ──f_k, g_k──> k ──┴──> moco_infonce(q, k, queue, τ);   then  queue ← [queue, k][-K:]
                                                               θ_k ← m·θ_k + (1 − m)·θ_q

SimCLR's negatives are limited by the batch size. MoCo keeps the keys of the last K images in
a queue, so it can have thousands of negatives with small batches. On a small dataset the queue
outlasts an epoch and would hold earlier keys of the query's own image; those are left out of its
negatives (MoCo's ImageNet queue, 65,536 keys of 1.28 M images, never meets this). The queue only makes sense
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
    queue_size: int = setting(4096, "Queue size K", (16, 256, 1024, 4096, 16384), "Keys of earlier batches kept as negatives.", valid=(1, 16384))
    momentum: float = setting(0.99, "Momentum m", (0.0, 0.5, 0.9, 0.99, 0.999), "m of the key encoder's moving average: 0 makes it a copy of the query encoder.", valid=(0.0, 1.0))


@torch.no_grad()
def image_ids(images: torch.Tensor) -> torch.Tensor:
    """A fingerprint per image (N, int64): its 8-bit pixels weighted by fixed pseudo-random integers and summed.

    Equal images share it; distinct ones practically never do. Integers, so it works on every device.
    """
    flat = (images.flatten(1) * 255).round().long()
    weights = (torch.arange(1, flat.shape[1] + 1, device=images.device) * 2654435761) % 2147483647  # Knuth's multiplicative hash
    return (flat * weights).sum(dim=1)


class MoCo(TwoViewMethod):
    """Query encoder trained by InfoNCE against a momentum key encoder and a queue of keys."""

    name = "moco"

    def __init__(self, config: MoCoConfig = MoCoConfig()) -> None:
        super().__init__(config)
        self.key_encoder, self.key_head = frozen_copy(self.encoder), frozen_copy(self.head)
        # Start with random unit keys, as MoCo does; real keys push them out after K/2N steps.
        self.register_buffer("queue", F.normalize(torch.randn(config.queue_size, config.proj_dim), dim=1))
        # Which image each key came from (a fingerprint of its pixels; -1 for the random start keys), so a
        # query never meets an earlier key of its own image among its negatives. Not saved with the weights.
        self.register_buffer("queue_ids", torch.full((config.queue_size,), -1, dtype=torch.long), persistent=False)

    @torch.no_grad()
    def keys(self, views: torch.Tensor) -> torch.Tensor:
        """Normalised keys from the momentum encoder (no gradient)."""
        return F.normalize(self.key_head(self.key_encoder(views)), dim=1)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, ids: torch.Tensor) -> None:
        """Append keys and their images' fingerprints (newest last), dropping the oldest: K rows."""
        self.queue = torch.cat([self.queue, keys.detach()])[-self.config.queue_size :]
        self.queue_ids = torch.cat([self.queue_ids, ids])[-self.config.queue_size :]

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = augment.two_views(batch, self.augment, generator)
        q1, q2 = self.project(torch.cat([x1, x2])).chunk(2)  # N×D queries
        k1, k2 = self.keys(torch.cat([x1, x2])).chunk(2)  # N×D keys, no gradient
        queue = self.queue.clone()  # this step's negatives; the keys below join the queue afterwards
        ids = image_ids(batch)
        own = ids.unsqueeze(1) == self.queue_ids.unsqueeze(0)  # N×K: earlier keys of the query's own image
        tau = self.config.temperature
        loss = (moco_infonce(q1, k2, queue, tau, exclude=own) + moco_infonce(q2, k1, queue, tau, exclude=own)) / 2
        self.enqueue(torch.cat([k2, k1]), torch.cat([ids, ids]))
        return {"loss": loss, "own_keys_left_out": own.sum(dim=1).float().mean(), **self.pair_metrics(q1, q2),
                **self.loss_similarities(torch.cat([q1, q2]), torch.cat([k2, k1]), queue, torch.cat([own, own]))}

    @torch.no_grad()
    def loss_similarities(self, q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, own: torch.Tensor) -> dict[str, torch.Tensor]:
        """The similarities the loss compares: q·k₊ (positive) and q·(queue keys of other images) (negatives)."""
        q, k, queue = F.normalize(q, dim=1), F.normalize(k, dim=1), F.normalize(queue, dim=1)
        negatives = (q @ queue.T).masked_fill(own, float("nan"))
        return {"positive_sim": (q * k).sum(dim=1).mean(), "negative_sim": negatives.nanmean()}

    def after_step(self) -> None:
        ema_update(self.key_encoder, self.encoder, self.config.momentum)
        ema_update(self.key_head, self.head, self.config.momentum)


SPEC = MethodSpec(
    "moco", "MoCo", "contrastive", MoCo, MoCoConfig,
    "Contrastive with a queue of negatives from a momentum (moving-average) key encoder.",
    train={"batch_size": 256, "lr": 2e-3},
    dataset_augment=True,
    mechanism="negatives",
    code=(moco_infonce, MoCo.training_step),
    diagram=(("x", "view x₁"), ("x", "view x₂"), ("view x₁", "query encoder → q"), ("view x₂", "momentum encoder → k"),
             ("query encoder → q", "InfoNCE"), ("momentum encoder → k", "InfoNCE"), ("queue of old keys", "InfoNCE"),
             ("momentum encoder → k", "queue of old keys", "enqueue"), ("query encoder → q", "momentum encoder → k", "EMA (no gradient)")),
)
