"""The method registry: one :class:`MethodSpec` per method, declared in the method's own file.

A method module ends with ``SPEC = MethodSpec(...)``: its display name, family, one-line summary,
data-flow diagram, the functions "show the code" displays, its training defaults and any
per-dataset tuning. ``sslviz/methods/__init__.py`` registers it with one line; a method defined
anywhere else (a test fixture, a plug-in) registers itself with :func:`register`. Pages, the CLI
and the benchmarks read names, families, settings and defaults from here and restate none.

Defaults live in one place: the config dataclass (fields made with ``sslviz.setting.setting``
are the ones pages expose). What a dataset implies — channels, image size, its augmentation
preset — comes from its ``DatasetInfo``; ``overrides`` holds only real per-dataset tuning.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from sslviz import data
from sslviz.methods.base import Method
from sslviz.setting import Config, Setting, exposed, unranged

# Family -> what it means; pages list the methods of the families they teach, in this order.
FAMILIES = {
    "contrastive": "Contrastive: other images are negatives",
    "non-contrastive": "Non-contrastive: no negatives; an asymmetry prevents collapse",
    "redundancy-reduction": "Redundancy reduction: no negatives; the embedding's dimensions are decorrelated",
    "self-distillation": "Self-distillation: a student matches a centred, sharpened moving-average teacher",
    "clustering": "Clustering: pseudo-labels from k-means or online prototypes",
    "masked": "Masked image modelling",
    "pretext": "Pretext task: a made-up problem with free labels",
    "multi-modal": "Multi-modal: a second modality is the supervision",
}
# What stops a joint-embedding method from mapping every image to one point, in the order the Collapse page teaches them.
COLLAPSE_MECHANISMS = {
    "negatives": "Other images repel: a constant output would make every negative as close as the positive.",
    "predictor + stop-gradient": "An extra predictor on one side and no gradient through the other (BYOL adds a moving-average target).",
    "centering + sharpening": "The teacher's logits are centred (no output may dominate) and sharpened (the output may not go uniform).",
    "redundancy reduction": "Each dimension must vary over the batch and carry what no other dimension carries.",
    "equipartition": "Every prototype must receive an equal share of the batch's assignments (Sinkhorn–Knopp).",
}
Edge = tuple[str, str] | tuple[str, str, str]  # (from, to) or (from, to, label of a dashed edge)


@dataclass(frozen=True)
class MethodSpec:
    """Everything the app needs to know about one method, besides its code."""

    name: str  # the registry key, CLI flag and URL value
    title: str  # display name
    family: str  # a key of FAMILIES
    cls: type[Method]
    config_cls: type
    summary: str  # one line
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig values tuned for this method (batch size, lr, ...)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # dataset -> config values tuned for that dataset
    dataset_train: dict[str, dict[str, Any]] = field(default_factory=dict)  # dataset -> TrainConfig values tuned for that dataset
    dataset_augment: bool = False  # True: the dataset's own augmentation preset (DatasetInfo.augment) is the default
    pairs: str = ""  # multi-modal: the modality paired with the images; it trains only on datasets that have it
    mechanism: str = ""  # what stops this method's collapse (a key of COLLAPSE_MECHANISMS); "" when collapse is not its problem
    breaks: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)  # "break it" label -> (settings that remove the mechanism, what to expect)
    break_steps: int = 0  # steps a break-it needs before its collapse shows, on digits (Barlow Twins': on shapes; tests/test_collapse.py checks each): its one-click run lasts at least that long
    code: tuple[Callable, ...] = ()  # what "show the code" displays, the loss first
    diagram: tuple[Edge, ...] = ()  # the data flow, for a graphviz chart

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: unknown family {self.family!r}. Choose one of: {', '.join(FAMILIES)}.")
        if self.mechanism and self.mechanism not in COLLAPSE_MECHANISMS:
            raise ValueError(f"{self.name}: unknown mechanism {self.mechanism!r}. Choose one of: {', '.join(COLLAPSE_MECHANISMS)}.")
        if not (dataclasses.is_dataclass(self.config_cls) and issubclass(self.config_cls, Config) and issubclass(self.cls, Method)):
            raise ValueError(f"{self.name}: cls must be a Method and config_cls a dataclass deriving from sslviz.setting.Config.")
        missing = unranged(self.config_cls)
        if missing:  # a field without a range would let a forged bundle or link ask for any size
            raise ValueError(f"{self.name}: config fields {', '.join(missing)} declare no valid range; make them with setting(...) or internal(...).")

    def supports(self, dataset: str) -> bool:
        """Whether the method can train on ``dataset`` (paired methods need its modality; colorization needs colour)."""
        try:
            self.config_for(dataset)
            replace(self.config_cls(), **self.config_for(dataset))
        except (ValueError, TypeError):
            return False
        return True

    def config_for(self, dataset: str) -> dict[str, Any]:
        """The config values ``dataset`` implies (channels, size, augmentation) plus this method's tuning for it."""
        info = data.info(dataset)
        if self.pairs and self.pairs not in info.modalities:
            having = [d.name for d in data.REGISTRY.values() if self.pairs in d.modalities]
            raise ValueError(f"{self.title} pairs images with {self.pairs}, which only the {', '.join(having)} dataset has — not {dataset!r}.")
        fields = {f.name for f in dataclasses.fields(self.config_cls)}
        implied = {"in_channels": info.channels, "image_size": info.size, **({"augment": info.augment} if self.dataset_augment else {})}
        return {**{k: v for k, v in implied.items() if k in fields}, **self.overrides.get(dataset, {})}

    def settings(self) -> dict[str, Setting]:
        """The config fields a page exposes (label, options, help), by name."""
        return exposed(self.config_cls)


REGISTRY: dict[str, MethodSpec] = {}


def register(method_spec: MethodSpec) -> MethodSpec:
    """Add a method to the registry (idempotent for the same spec); every page, the CLI and the benchmarks then offer it."""
    known = REGISTRY.get(method_spec.name)
    if known is not None and known.cls is not method_spec.cls:
        raise ValueError(f"A different method named {method_spec.name!r} is already registered.")
    REGISTRY[method_spec.name] = method_spec
    return method_spec


def register_module(module: str) -> MethodSpec:
    """Import ``sslviz.methods.<module>`` (or a dotted path) and register its ``SPEC``."""
    return register(importlib.import_module(module if "." in module else f"sslviz.methods.{module}").SPEC)


def unregister(name: str) -> None:
    """Remove a method (tests that register a temporary one)."""
    REGISTRY.pop(name, None)


def spec(name: str) -> MethodSpec:
    """The registry entry for ``name``; ValueError lists the known methods."""
    if name not in REGISTRY:
        raise ValueError(f"Unknown method {name!r}. Available methods: {', '.join(REGISTRY)}.")
    return REGISTRY[name]


def of_family(*families: str, dataset: str | None = None) -> list[str]:
    """Names of the registered methods in ``families`` (in FAMILIES order), optionally only those that train on ``dataset``."""
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"Unknown families {sorted(unknown)}. Choose from: {', '.join(FAMILIES)}.")
    order = [f for f in FAMILIES if f in families]
    names = [s.name for f in order for s in REGISTRY.values() if s.family == f]
    return [n for n in names if dataset is None or REGISTRY[n].supports(dataset)]


def by_mechanism(dataset: str | None = None) -> dict[str, list[str]]:
    """Mechanism -> the registered methods it protects (in COLLAPSE_MECHANISMS order), optionally only those that train on ``dataset``."""
    out: dict[str, list[str]] = {m: [] for m in COLLAPSE_MECHANISMS}
    for s in REGISTRY.values():
        if s.mechanism and (dataset is None or s.supports(dataset)):
            out[s.mechanism].append(s.name)
    return {m: names for m, names in out.items() if names}


def title(name: str) -> str:
    """The display name of method ``name``."""
    return spec(name).title


def default_config(name: str, dataset: str, **overrides: Any) -> Any:
    """The config of method ``name`` on ``dataset``: dataclass defaults, what the dataset implies, tuning, then ``overrides``."""
    s = spec(name)
    try:
        return replace(s.config_cls(), **{**s.config_for(dataset), **overrides})
    except TypeError as err:  # an override the method does not have
        raise ValueError(f"{name}: {err}") from None


def train_defaults(name: str, dataset: str) -> dict[str, Any]:
    """Batch size, learning rate etc. tuned for method ``name``, with its tuning for ``dataset`` on top."""
    s = spec(name)
    return {**s.train, **s.dataset_train.get(dataset, {})}


def create(name: str, dataset: str = "digits", **overrides: Any) -> Method:
    """A fresh, randomly initialised method with the defaults for ``dataset``."""
    return spec(name).cls(default_config(name, dataset, **overrides))


def transfer_layers(**layers: int) -> dict[str, dict[str, int]]:
    """A pretext method's transfer block per dataset; clutter takes shapes' block.

    Digits and shapes were re-selected on the validation split (benchmarks/RESULTS.md, "select-on-val"), photos too
    ("select-on-val-more": every block within 0.01 of the others except colorization's, where block 3 is best).
    """
    layers.setdefault("clutter", layers["shapes"])  # not measured apart
    return {dataset: {"transfer_layer": layer} for dataset, layer in layers.items()}
