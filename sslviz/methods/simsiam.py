"""SimSiam (Chen & He, 2021): BYOL without the moving average — stop-gradient is enough.

    x1 ──f, g──> z1 ──h──> p1
    x2 ──f, g──> z2 ──h──> p2          L = ½·D(p1, sg(z2)) + ½·D(p2, sg(z1)),  D = −cos

One network, no negatives, no momentum encoder. The stop-gradient sg(·) makes z a fixed
target for this step; take it away and the trivial solution (a constant output, loss −1) is
reached within a few steps — the page's "break it" button shows exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sslviz import augment
from sslviz.losses import negative_cosine
from sslviz.methods.base import TwoViewConfig, TwoViewMethod
from sslviz.methods.registry import MethodSpec
from sslviz.nets import MLPHead
from sslviz.setting import setting


@dataclass(frozen=True)
class SimSiamConfig(TwoViewConfig):
    # As wide as the projection. The paper's 1/4 bottleneck (2048→512→2048; set 0 for proj_dim // 4) learned far less at
    # this scale on the validation split: val kNN 0.600 vs 0.842, shapes, 787 steps (RESULTS.md, "select-on-val"); a 1/2 bottleneck (32)
    # too, on seeds 0, 1, 2 (0.603, 0.585, 0.593 vs 0.613, 0.657, 0.712; "select-on-val-more").
    predictor_hidden: int = setting(64, "Predictor hidden width", (16, 32, 64),
                                    "The default 64 is as wide as the default 64-d projection (chosen on the validation split); 16 with it is "
                                    "the paper's 1/4 bottleneck (2048→512→2048). 0 in a saved config means projection dim // 4.", valid=(0, 1024))
    stop_gradient: bool = setting(True, "Stop-gradient", help="Off: both branches get gradients — the constant solution appears.")
    projector_output_norm: bool = setting(True, "Batch norm on the projector output", help="As in the paper; on its own it already forbids a constant output.")

    def __post_init__(self) -> None:
        super().__post_init__()


class SimSiam(TwoViewMethod):
    """Siamese encoder + predictor with a symmetric negative-cosine loss and stop-gradient."""

    name = "simsiam"

    def __init__(self, config: SimSiamConfig = SimSiamConfig()) -> None:
        super().__init__(config)
        if config.projector_output_norm:
            self.head = MLPHead(self.encoder.out_dim, config.hidden_dim, config.proj_dim, output_norm=True)
        self.predictor = MLPHead(config.proj_dim, self.predictor_width(config), config.proj_dim)

    @staticmethod
    def predictor_width(config: SimSiamConfig) -> int:
        """The predictor's hidden width: ``predictor_hidden``, or the paper's 1/4 bottleneck when it is 0."""
        return config.predictor_hidden or max(1, config.proj_dim // 4)

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = augment.two_views(batch, self.augment, generator)
        z = self.project(torch.cat([x1, x2]))
        p1, p2 = self.predictor(z).chunk(2)
        z1, z2 = z.chunk(2)
        t1, t2 = (z1.detach(), z2.detach()) if self.config.stop_gradient else (z1, z2)
        loss = negative_cosine(p1, t2) / 2 + negative_cosine(p2, t1) / 2
        return {"loss": loss, **self.pair_metrics(z1, z2)}


SPEC = MethodSpec(
    "simsiam", "SimSiam", "non-contrastive", SimSiam, SimSiamConfig,
    "No negatives, no momentum: a predictor and a stop-gradient prevent collapse.",
    train={"batch_size": 128, "lr": 1e-3},
    dataset_augment=True,
    mechanism="predictor + stop-gradient",
    break_steps=120,
    breaks={"SimSiam without stop-gradient": ({"stop_gradient": False, "projector_output_norm": False},
                                              "A constant output makes −cos = −1, the minimum, and without stop-gradient nothing stops the network from "
                                              "finding it (the SimSiam paper, Fig. 2). The projector's output batch norm is removed too: it alone forbids a "
                                              "constant output.")},
    code=(negative_cosine, SimSiam.training_step),
    diagram=(("x", "view x₁"), ("x", "view x₂"), ("view x₁", "f, g → z₁"), ("f, g → z₁", "predictor → p₁"),
             ("view x₂", "f, g → z₂"), ("f, g → z₂", "stop-gradient"), ("predictor → p₁", "−cos(p₁, sg(z₂))"), ("stop-gradient", "−cos(p₁, sg(z₂))")),
)
