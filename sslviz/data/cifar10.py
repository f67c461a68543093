"""``cifar10``: Krizhevsky's 60,000 32×32 colour photographs in 10 classes, from torchvision's download folder.

The official "python version" batches are pickles; they are read with a restricted unpickler that
admits numpy arrays and nothing else (``sslviz.data.files.read_cifar_batch``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sslviz.data.base import Dataset, DatasetInfo, register
from sslviz.data.cache import memoized
from sslviz.data.files import DOWNLOADED_SECONDS, Files, data_dir, labelled_split, read_cifar_batch

CIFAR_SIZE = 32
CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))


def _fetch(root: Path) -> None:
    from torchvision.datasets import CIFAR10

    CIFAR10(str(root), train=True, download=True)


FILES = Files("cifar10", "CIFAR-10", folder="cifar-10-batches-py", download_mb=163, needed=(*TRAIN_BATCHES, "test_batch"),
              fetch=_fetch, homepage="https://www.cs.toronto.edu/~kriz/cifar.html (the CIFAR-10 python version)")


@memoized
def _cifar10(split: str, root: Path) -> Dataset:  # root: the data directory, so another one is not served from this cache
    sources = TRAIN_BATCHES if split == "train" else ("test_batch",)

    def read():
        parts = []
        for name in sources:
            with FILES.open(name) as f:
                parts.append(read_cifar_batch(f))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    return labelled_split(FILES, split, CIFAR_SIZE, sources, read, CIFAR_NAMES)


INFO = register(DatasetInfo(
    "cifar10", channels=3, size=CIFAR_SIZE, classes=CIFAR_NAMES, augment="crop, flip, colour", load=lambda split, seed: _cifar10(split, data_dir()), files=FILES, seconds=DOWNLOADED_SECONDS,
    summary="CIFAR-10: 60,000 colour photos of 10 classes, 32×32 (a download, 163 MB).",
))
