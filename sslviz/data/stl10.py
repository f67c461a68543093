"""``stl10``: Coates et al.'s STL-10, 96×96 colour photos of 10 classes (made for SSL), downscaled to 32 px once and cached.

Its labelled train (5,000) and test (8,000) splits are read; its 100,000 unlabelled images are in
the same download (``unlabeled_X.bin``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from sslviz.data.base import Dataset, DatasetInfo, register
from sslviz.data.files import Files, data_dir, labelled_split, read_stl10, resize

STL_SIZE = 32  # the models' size; the files hold 96×96
STL_NAMES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")


def _fetch(root: Path) -> None:
    from torchvision.datasets import STL10

    STL10(str(root), split="train", download=True)


FILES = Files("stl10", "STL-10", folder="stl10_binary", download_mb=2640,
              needed=("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin"),
              fetch=_fetch, homepage="https://cs.stanford.edu/~acoates/stl10/ (the binary files)")


@functools.lru_cache(maxsize=2)
def _stl10(split: str, root: Path) -> Dataset:  # root: the data directory, so another one is not served from this cache
    sources = (f"{split}_X.bin", f"{split}_y.bin")

    def read():
        with FILES.open(sources[0]) as f, FILES.open(sources[1]) as g:
            images, labels = read_stl10(f), np.frombuffer(g.read(), dtype=np.uint8).astype(np.int64) - 1  # stored 1..10
        if labels.shape != (images.shape[0],):
            raise ValueError(f"STL-10: {sources[0]} holds {images.shape[0]:,} images but {sources[1]} {labels.size:,} labels")
        return resize(images, STL_SIZE), labels

    return labelled_split(FILES, split, STL_SIZE, sources, read, STL_NAMES)


INFO = register(DatasetInfo(
    "stl10", channels=3, size=STL_SIZE, classes=STL_NAMES, augment="crop, flip, colour", load=lambda split, seed: _stl10(split, data_dir()), files=FILES,
    summary="STL-10: colour photos of 10 classes, 96×96 shown at 32×32 (a download, 2.6 GB).",
))
