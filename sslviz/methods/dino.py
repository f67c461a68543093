"""DINO (Caron et al., 2021): self-distillation with no labels — a student matches a teacher that is
its own moving average, through a softmax over K outputs.

    x1, x2 ──student f, h──> s₁, s₂ ──softmax(·/τ_s)──┐
    x1, x2 ──teacher f', h'─> t₁, t₂ ──softmax((· − c)/τ_t)─┴──> cross-entropy, swapped views
    teacher θ' ← m·θ' + (1 − m)·θ;   centre c ← m_c·c + (1 − m_c)·mean(t)

Two opposite collapses threaten it and each has its cure. One output can come to dominate for
every image: subtracting the running centre c from the teacher's logits prevents that. The
output can become uniform: a teacher temperature τ_t below the student's sharpens it. Each cure
alone pushes towards the other collapse; together they balance (the paper, sec. 5.3, Fig. 7).
With a ViT backbone the [CLS] token's attention over the patches is what the paper made famous:
without labels it learns to look at the object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sslviz import augment, data
from sslviz.losses import dino_center, dino_loss
from sslviz.methods.base import IMAGE_SIZE, MAX_TOKENS, TwoViewConfig, TwoViewMethod, ema_update, frozen_copy
from sslviz.methods.registry import MethodSpec
from sslviz.nets import MLPHead, TinyViT, eval_mode
from sslviz.setting import internal, setting

BACKBONES = ("cnn", "vit")


@dataclass(frozen=True)
class DINOConfig(TwoViewConfig):
    proj_dim: int = setting(64, "Outputs K", (16, 64, 256, 1024), "The softmax's size (65,536 in the paper): the 'classes' the teacher invents.")
    bottleneck_dim: int = internal(32, (1, 1024))
    teacher_temperature: float = setting(0.04, "Teacher temperature τ_t", (0.01, 0.02, 0.04, 0.07, 0.1, 0.2, 0.5),
                                         "Below the student's τ_s = 0.1 sharpens the teacher. Equal to it or above: nothing sharpens — the output goes uniform.")
    student_temperature: float = internal(0.1, (0.01, 1.0))
    momentum: float = setting(0.996, "Teacher momentum m", (0.9, 0.95, 0.99, 0.996, 0.999), "The teacher's moving average (0.996 → 1 in the paper). 0.9 collapses here within a minute.", valid=(0.0, 1.0))  # val kNN 0.783 vs 0.723 at 0.99, 0.398 at 0.9 (shapes, 60 s)
    center_momentum: float = internal(0.9, (0.0, 1.0))
    centering: bool = setting(True, "Centering", help="Off: one output comes to dominate for every image.")
    backbone: str = setting("cnn", "Backbone", BACKBONES, "vit: a tiny ViT with a [CLS] token, whose attention maps the page shows.")
    image_size: int = internal(28, IMAGE_SIZE)  # for the ViT: set from the dataset
    patch_size: int = internal(4, (1, 32))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.backbone == "vit" and self.image_size % self.patch_size:
            raise ValueError(f"image size {self.image_size} is not divisible by the patch size {self.patch_size}.")
        if self.backbone == "vit" and (self.image_size // self.patch_size) ** 2 > MAX_TOKENS:
            raise ValueError(f"a {self.image_size}-pixel image in {self.patch_size}-pixel patches makes {(self.image_size // self.patch_size) ** 2} tokens; "
                             f"the ViT takes at most {MAX_TOKENS}.")


class DINOHead(nn.Module):
    """MLP → bottleneck → L2-normalise → cosine to K unit-norm prototypes (DINO's head with its last layer normalised)."""

    def __init__(self, in_dim: int, hidden_dim: int, bottleneck_dim: int, out_dim: int) -> None:
        super().__init__()
        self.mlp = MLPHead(in_dim, hidden_dim, bottleneck_dim, num_layers=3, batch_norm=False)  # the paper's head has no batch norm
        self.prototypes = nn.Parameter(F.normalize(torch.randn(out_dim, bottleneck_dim), dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.mlp(x), dim=1) @ F.normalize(self.prototypes, dim=1).T  # B×K cosines


class DINO(TwoViewMethod):
    """Student (encoder + head) distilled from an EMA teacher with centring and sharpening."""

    name = "dino"

    def __init__(self, config: DINOConfig = DINOConfig()) -> None:
        super().__init__(config)
        if config.backbone == "vit":
            self.encoder = TinyViT(config.in_channels, config.image_size, config.patch_size, width=4 * config.width, depth=3, heads=4, class_token=True)
        self.head = DINOHead(self.encoder.out_dim, config.hidden_dim, config.bottleneck_dim, config.proj_dim)
        self.teacher_encoder, self.teacher_head = frozen_copy(self.encoder), frozen_copy(self.head)
        self.register_buffer("center", torch.zeros(config.proj_dim))

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        x1, x2 = augment.two_views(batch, self.augment, generator)
        both = torch.cat([x1, x2])
        student = self.head(self.encoder(both)).unflatten(0, (2, -1))  # 2×N×K
        with torch.no_grad():
            teacher = self.teacher_head(self.teacher_encoder(both)).unflatten(0, (2, -1))  # 2×N×K
        center = self.center if c.centering else torch.zeros_like(self.center)
        loss = dino_loss(student, teacher, center, c.student_temperature, c.teacher_temperature)
        with torch.no_grad():
            p_teacher = ((teacher - center) / c.teacher_temperature).softmax(dim=-1)
            entropy = -(p_teacher * p_teacher.clamp_min(1e-12).log()).sum(dim=-1).mean()  # nats; log K = uniform, 0 = one-hot
            if c.centering:
                self.center.copy_(dino_center(self.center, teacher, c.center_momentum))
            # The loss is H(P_t, P_s) = H(P_t) + KL(P_t ‖ P_s): what is left after the teacher's own entropy is the KL.
            metrics = {"teacher_entropy": entropy, "kl": loss.detach() - entropy,
                       "output_entropy_share": entropy / math.log(c.proj_dim)}  # 1 = uniform: the collapse that sharpening prevents
        # Health is measured on what collapses, the teacher's output distributions: the same one-hot for all is a point.
        return {"loss": loss, **metrics, **self.pair_metrics(p_teacher[0], p_teacher[1])}

    def after_step(self) -> None:
        ema_update(self.teacher_encoder, self.encoder, self.config.momentum)
        ema_update(self.teacher_head, self.head, self.config.momentum)

    def class_attention(self, images: torch.Tensor) -> torch.Tensor:
        """B×heads×grid×grid attention of the [CLS] token over the patches (ViT backbone only).

        The student's, as every score here is (the paper shows the teacher's; with a slow EMA the two are alike).
        """
        if self.config.backbone != "vit":
            raise ValueError("attention maps need DINO's ViT backbone (backbone='vit').")
        with eval_mode(self):
            return self.encoder.class_attention(images)

    @torch.no_grad()
    def report(self, test: data.Dataset, n: int = 16) -> dict[str, Any]:
        """With the ViT backbone: the [CLS] attention maps of the first ``n`` test images and, where the dataset knows
        its objects' pixels, the share of attention on them (``attention_on_object``, mean over 500 images)."""
        if self.config.backbone != "vit":
            return super().report(test)
        device = next(self.parameters()).device
        maps = self.class_attention(test.images[:n].to(device)).cpu()
        out: dict[str, Any] = {"attention": maps, "attention_images": test.images[:n]}
        masks = data.object_masks(test)
        if masks is not None:
            out["attention_on_object"] = attention_on_object(self.class_attention(test.images[:500].to(device)).cpu(), masks[:500])
        return out


def attention_on_object(attention: torch.Tensor, masks: torch.Tensor) -> float:
    """The share of the [CLS] attention (B×heads×g×g, averaged over heads) that falls on the object's pixels (B×H×W coverage).

    Each patch counts by the fraction of its pixels the object covers, so a uniform map scores the object's area share.
    """
    g = attention.shape[-1]
    cover = F.adaptive_avg_pool2d(masks.unsqueeze(1).float(), g).squeeze(1)  # B×g×g: object share of each patch
    weights = attention.mean(dim=1)
    weights = weights / weights.sum(dim=(1, 2), keepdim=True)
    return float((weights * cover).sum(dim=(1, 2)).mean())


SPEC = MethodSpec(
    "dino", "DINO", "self-distillation", DINO, DINOConfig,
    "Self-distillation: a student matches a centred, sharpened moving-average teacher through a softmax.",
    train={"batch_size": 128, "lr": 1e-3},
    dataset_augment=True,
    mechanism="centering + sharpening",
    break_steps=100,
    breaks={"DINO without centering": ({"centering": False}, "Sharpening alone: one output comes to dominate for every image — the teacher's "
                                       "entropy falls towards 0 (the paper, Fig. 7)."),
            "DINO without sharpening": ({"teacher_temperature": 0.1}, "Centering alone (τ_t = τ_s = 0.1): the outputs flatten towards uniform — "
                                        "the teacher's entropy rises towards log K (the paper, Fig. 7).")},
    code=(dino_loss, dino_center, DINO.training_step),
    diagram=(("x", "view x₁"), ("x", "view x₂"), ("view x₁", "student f, h"), ("view x₂", "teacher f', h'"),
             ("teacher f', h'", "− centre c, softmax(·/τ_t)"), ("student f, h", "softmax(·/τ_s)"),
             ("− centre c, softmax(·/τ_t)", "cross-entropy"), ("softmax(·/τ_s)", "cross-entropy"),
             ("student f, h", "teacher f', h'", "EMA (no gradient)")),
)
