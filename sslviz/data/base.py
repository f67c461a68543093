"""The dataset type, the per-dataset facts (:class:`DatasetInfo`) and the registry that ``load`` reads.

A dataset is one module in ``sslviz/data/`` that builds its splits and calls :func:`register`
once; ``sslviz/data/__init__.py`` imports it (one line). Everything else — the methods' channels,
image size and augmentation preset, the sidebar's choices and help, the CLI — reads the
registration instead of restating it (docs/ARCHITECTURE.md, "Add a dataset in one file").
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from sslviz.data.cache import memoized

if TYPE_CHECKING:
    from sslviz.data.files import Files

# "train" and "test" are built by each dataset. "fit" and "val" split "train" once per dataset
# (a fixed VALIDATION_SHARE, the same for every seed): settings are chosen by training on "fit"
# and scoring on "val", so the test split that reports accuracy never chose anything.
# "unlabelled": images without labels that the SSL methods train on, for datasets that have them (STL-10's 100,000).
SPLITS = ("train", "test", "fit", "val", "unlabelled")
VALIDATION_SHARE = 0.2


@dataclass(frozen=True)
class Dataset:
    """Images with labels, attributes and captions.

    images: float32 tensor N×C×H×W in [0, 1]; labels: int64 tensor N;
    attributes: name -> array of N values; captions: N strings; class_names: label -> name.
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    captions: tuple[str, ...] = ()
    seed: int = 0  # what generated it (0 for bundled data): paired modalities are regenerated from it

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.images.shape[-1]


@dataclass(frozen=True)
class DatasetInfo:
    """What the rest of sslviz needs to know about a dataset, declared once where it is built.

    ``augment`` is the preset (``sslviz.augment.PRESETS``) that keeps its class (digits must not
    be flipped; shapes may spin and change colour); ``modalities`` the paired modalities generated
    for it (``sslviz.data.paired``); ``load(split, seed)`` builds a split.
    """

    name: str
    channels: int
    size: int
    classes: tuple[str, ...]
    augment: str
    summary: str
    load: Callable[[str, int], Dataset]
    modalities: tuple[str, ...] = ()
    files: Files | None = None  # a dataset read from the data directory (sslviz.data.files); None: generated or bundled
    unlabelled: bool = False  # True: an "unlabelled" split exists, and the SSL methods pre-train on it (evaluation uses train/test)
    labelled: bool = True  # False: a flat folder of the user's images — no classes, so nothing reports accuracy on it
    seconds: int = 30  # the training budget the sidebar starts at on this dataset (the registration says what it rests on)

    def __post_init__(self) -> None:
        if self.channels not in (1, 3) or self.size < 8:
            raise ValueError(f"{self.name}: channels must be 1 or 3 and size >= 8, got {self.channels} and {self.size}.")
        if not 5 <= self.seconds <= 600:
            raise ValueError(f"{self.name}: seconds (the default training budget) must be between 5 and 600, got {self.seconds}.")


REGISTRY: dict[str, DatasetInfo] = {}
# Datasets made at run time (the user's own images, sslviz.data.own): each resolver maps a name it owns to its
# DatasetInfo, or returns None. They are not in REGISTRY, so the sidebar lists them only where they belong.
RESOLVERS: list[Callable[[str], DatasetInfo | None]] = []


def register(info: DatasetInfo) -> DatasetInfo:
    """Add ``info`` to the registry (a module-level call in the dataset's own file); returns it."""
    if info.name in REGISTRY and REGISTRY[info.name] != info:
        raise ValueError(f"A dataset named {info.name!r} is already registered.")
    REGISTRY[info.name] = info
    return info


def names() -> tuple[str, ...]:
    """The registered dataset names, in registration order."""
    return tuple(REGISTRY)


def info(name: str) -> DatasetInfo:
    """The registration of dataset ``name`` (or a resolver's dataset, see RESOLVERS); ValueError lists the known datasets."""
    if name in REGISTRY:
        return REGISTRY[name]
    for resolve in RESOLVERS:
        found = resolve(name)
        if found is not None:
            return found
    raise ValueError(f"Unknown dataset {name!r}. Available datasets: {', '.join(REGISTRY)}.")


def missing(name: str) -> str:
    """Why dataset ``name`` cannot load here (its files are not downloaded), with the fix; "" when it can."""
    files = info(name).files
    return files.message() if files is not None and files.missing() else ""


def load(name: str = "digits", split: str = "train", seed: int = 0) -> Dataset:
    """Return the ``split`` of dataset ``name``; ``seed`` only affects generated datasets.

    Raises ValueError naming the valid choices for an unknown dataset or split, and
    ``sslviz.data.files.MissingFiles`` (a ValueError) when a file-backed dataset is not downloaded.
    """
    entry = info(name)
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}. Use one of: {', '.join(SPLITS)}.")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if split == "unlabelled" and not entry.unlabelled:
        raise ValueError(f"{name} has no unlabelled split; its methods train on its train split.")
    if split in ("fit", "val"):
        return _carved(name, split, seed)
    return entry.load(split, seed)


def validation_index(n: int, name: str) -> torch.Tensor:
    """The items of a dataset's ``train`` split (of ``n``) that form its ``val`` split: a fixed random
    VALIDATION_SHARE, drawn from the dataset's name so it is the same on every machine and seed."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(zlib.crc32(name.encode())))
    return order[: max(1, round(VALIDATION_SHARE * n))].sort().values


def subset(ds: Dataset, index: torch.Tensor, split: str) -> Dataset:
    """The items ``index`` of ``ds`` as a dataset named ``split``."""
    picked = index.numpy()
    return replace(ds, split=split, images=ds.images[index], labels=ds.labels[index],
                   attributes={k: np.asarray(v)[picked] for k, v in ds.attributes.items()},
                   captions=tuple(ds.captions[i] for i in picked) if ds.captions else ())


@memoized
def _carved(name: str, split: str, seed: int) -> Dataset:
    train = info(name).load("train", seed)
    val = validation_index(len(train), name)
    if split == "val":
        return subset(train, val, "val")
    keep = torch.ones(len(train), dtype=torch.bool)
    keep[val] = False
    return subset(train, keep.nonzero().squeeze(1), "fit")


Inputs = torch.Tensor | dict[str, torch.Tensor]  # images, or aligned modalities (images, captions, ...) sharing the first dimension


def check_inputs(inputs: Inputs) -> None:
    """ValueError unless ``inputs`` is an N×C×H×W image tensor, or a dict of tensors with the same N >= 2 (paired modalities)."""
    if isinstance(inputs, dict):
        sizes = {k: v.shape[0] for k, v in inputs.items()}
        if not sizes or len(set(sizes.values())) != 1 or min(sizes.values()) < 2:
            raise ValueError(f"paired inputs must all have the same number N >= 2 of items, got {sizes}.")
    elif inputs.ndim != 4 or inputs.shape[0] < 2:
        raise ValueError(f"images must be N×C×H×W with N >= 2, got shape {tuple(inputs.shape)}.")


def take(inputs: Inputs, index: torch.Tensor | slice) -> Inputs:
    """The items ``index`` of an image tensor or of every modality of a dict."""
    return {k: v[index] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[index]


def to_device(inputs: Inputs, device: torch.device | str) -> Inputs:
    """``inputs`` (a tensor or a dict of them) on ``device``."""
    return {k: v.to(device) for k, v in inputs.items()} if isinstance(inputs, dict) else inputs.to(device)
