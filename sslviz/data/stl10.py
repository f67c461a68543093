"""``stl10``: Coates et al.'s STL-10, 96×96 colour photos of 10 classes (made for SSL), downscaled to 32 px once and cached.

The SSL methods pre-train on its 100,000 unlabelled images (``unlabeled_X.bin``, read in chunks and
kept at 32 px: 0.3 GB as bytes, 1.2 GB as floats); the probe and kNN fit on the labelled train split
(5,000) and report on the test split (8,000), as in the STL-10 protocol.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sslviz.data.base import Dataset, DatasetInfo, register
from sslviz.data.cache import memoized
from sslviz.data.files import DOWNLOADED_SECONDS, Files, cached, data_dir, labelled_split, read_stl10_resized, to_float

STL_SIZE = 32  # the models' size; the files hold 96×96
STL_NAMES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")


def _fetch(root: Path) -> None:
    from torchvision.datasets import STL10

    STL10(str(root), split="train", download=True)


FILES = Files("stl10", "STL-10", folder="stl10_binary", download_mb=2640,
              needed=("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "unlabeled_X.bin"),
              fetch=_fetch, homepage="https://cs.stanford.edu/~acoates/stl10/ (the binary files)")


@memoized
def _stl10(split: str, root: Path) -> Dataset:  # root: the data directory, so another one is not served from this cache
    if split == "unlabelled":
        return _unlabelled()
    sources = (f"{split}_X.bin", f"{split}_y.bin")

    def read():
        with FILES.open(sources[0]) as f, FILES.open(sources[1]) as g:
            images, labels = read_stl10_resized(f, STL_SIZE), np.frombuffer(g.read(), dtype=np.uint8).astype(np.int64) - 1  # stored 1..10
        if labels.shape != (images.shape[0],):
            raise ValueError(f"STL-10: {sources[0]} holds {images.shape[0]:,} images but {sources[1]} {labels.size:,} labels")
        return images, labels

    return labelled_split(FILES, split, STL_SIZE, sources, read, STL_NAMES)


def _unlabelled() -> Dataset:
    def read():
        with FILES.open("unlabeled_X.bin") as f:
            images = read_stl10_resized(f, STL_SIZE)
        return images, np.full(len(images), -1, dtype=np.int64)

    images, labels = cached(FILES, "unlabelled", STL_SIZE, ("unlabeled_X.bin",), read)
    # label -1: there is none (an index into the classes would fail loudly rather than name a wrong class)
    return Dataset(name="stl10", split="unlabelled", images=to_float(images), labels=torch.from_numpy(labels), class_names=STL_NAMES)


INFO = register(DatasetInfo(
    "stl10", channels=3, size=STL_SIZE, classes=STL_NAMES, augment="crop, flip, colour", load=lambda split, seed: _stl10(split, data_dir()), files=FILES, seconds=DOWNLOADED_SECONDS, unlabelled=True,
    summary="STL-10: made for SSL — methods pre-train on its 100,000 unlabelled photos, then 5,000 labelled ones fit the probe; 96×96 shown at 32×32 (a download, 2.6 GB).",
))
