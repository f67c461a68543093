"""Registry of self-supervised methods: adding a method is one file plus one line here.

``create(name, dataset)`` returns a method configured with its tuned defaults for that
dataset, and ``train_defaults(name, dataset)`` the batch size and learning rate to use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sslviz.methods.base import Method
from sslviz.methods.simclr import SimCLR, SimCLRConfig


@dataclass(frozen=True)
class MethodSpec:
    """One registry entry: the class, its config type and tuned per-dataset defaults."""

    cls: type[Method]
    config_cls: type
    # dataset -> (config overrides, train overrides); "*" applies to every dataset.
    defaults: dict[str, tuple[dict[str, Any], dict[str, Any]]]
    summary: str


REGISTRY: dict[str, MethodSpec] = {
    "simclr": MethodSpec(
        SimCLR,
        SimCLRConfig,
        {
            "digits": ({"in_channels": 1, "augment": "digits", "width": 16, "temperature": 0.2}, {"batch_size": 256, "lr": 2e-3}),
            "shapes": ({"in_channels": 3, "augment": "SimCLR + rotation", "width": 16, "temperature": 0.2}, {"batch_size": 256, "lr": 2e-3}),
        },
        "Contrastive: two views of an image attract, other images repel (InfoNCE).",
    ),
}


def spec(name: str) -> MethodSpec:
    """The registry entry for ``name``; ValueError lists the known methods."""
    if name not in REGISTRY:
        raise ValueError(f"Unknown method {name!r}. Available methods: {', '.join(REGISTRY)}.")
    return REGISTRY[name]


def default_config(name: str, dataset: str, **overrides: Any) -> Any:
    """The tuned config of method ``name`` on ``dataset``, with ``overrides`` applied."""
    s = spec(name)
    config_overrides, _ = s.defaults.get(dataset, ({}, {}))
    return replace(s.config_cls(), **{**config_overrides, **overrides})


def train_defaults(name: str, dataset: str) -> dict[str, Any]:
    """Batch size, learning rate etc. tuned for method ``name`` on ``dataset``."""
    return dict(spec(name).defaults.get(dataset, ({}, {}))[1])


def create(name: str, dataset: str = "digits", **overrides: Any) -> Method:
    """A fresh, randomly initialised method with the defaults for ``dataset``."""
    return spec(name).cls(default_config(name, dataset, **overrides))


__all__ = ["Method", "MethodSpec", "REGISTRY", "create", "default_config", "spec", "train_defaults"]
