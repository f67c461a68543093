"""VICReg (Bardes et al., 2022): variance, invariance, covariance — three explicit terms, each with its weight.

    x1 ──f, g──> z1 ┐
    x2 ──f, g──> z2 ┴──> λ·s(z1, z2)                 invariance: the views agree (mean squared error)
                       + μ·[v(z1) + v(z2)] / 2       variance: every dimension keeps std ≥ 1 over the batch
                       + ν·[c(z1) + c(z2)]           covariance: off-diagonal covariances pushed to 0

Invariance alone is met by a constant output; the variance term forbids that (total collapse),
the covariance term stops the dimensions from copying each other (dimensional collapse). Each
term is plotted while it trains; set the variance weight to 0 and watch the spread fall.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sslviz import augment
from sslviz.losses import vicreg_loss, vicreg_terms
from sslviz.methods.base import TwoViewConfig, TwoViewMethod
from sslviz.methods.registry import MethodSpec
from sslviz.setting import setting

WEIGHTS = (0.0, 1.0, 5.0, 10.0, 25.0, 50.0)


@dataclass(frozen=True)
class VICRegConfig(TwoViewConfig):
    invariance_weight: float = setting(25.0, "Invariance weight λ", WEIGHTS, "The paper uses 25.")
    variance_weight: float = setting(25.0, "Variance weight μ", WEIGHTS, "The paper uses 25. 0: nothing forbids a constant output.")
    covariance_weight: float = setting(1.0, "Covariance weight ν", (0.0, 0.1, 1.0, 5.0, 25.0), "The paper uses 1. 0: dimensions may copy each other.")


class VICReg(TwoViewMethod):
    """Encoder + projector trained with the invariance, variance and covariance terms."""

    name = "vicreg"

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x1, x2 = augment.two_views(batch, self.augment, generator)
        z1, z2 = self.project(torch.cat([x1, x2])).chunk(2)
        c = self.config
        terms = vicreg_terms(z1, z2)  # the same three terms vicreg_loss weighs
        loss = c.invariance_weight * terms["invariance"] + c.variance_weight * terms["variance"] + c.covariance_weight * terms["covariance"]
        return {"loss": loss, **{k: v.detach() for k, v in terms.items()}, **self.pair_metrics(z1, z2)}


SPEC = MethodSpec(
    "vicreg", "VICReg", "redundancy-reduction", VICReg, VICRegConfig,
    "Redundancy reduction: explicit variance, invariance and covariance terms, each with its own weight.",
    train={"batch_size": 256, "lr": 2e-3},
    dataset_augment=True,
    mechanism="redundancy reduction",
    break_steps=100,
    breaks={"VICReg, invariance only": ({"variance_weight": 0.0, "covariance_weight": 0.0}, "Invariance alone is met by a constant output, and "
                                        "without the variance and covariance terms nothing forbids it. Watch the spread chart and the banner.")},
    code=(vicreg_terms, vicreg_loss, VICReg.training_step),
    diagram=(("x", "view x₁"), ("x", "view x₂"), ("view x₁", "f, g → z₁"), ("view x₂", "f, g → z₂"),
             ("f, g → z₁", "λ·invariance + μ·variance + ν·covariance"), ("f, g → z₂", "λ·invariance + μ·variance + ν·covariance")),
)
