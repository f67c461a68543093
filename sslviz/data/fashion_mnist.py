"""``fashion_mnist``: Zalando's 70,000 clothing images, 28×28 grey, in MNIST's format (Xiao et al. 2017)."""

from __future__ import annotations

from pathlib import Path

from sslviz.data.base import Dataset, DatasetInfo, register
from sslviz.data.cache import memoized
from sslviz.data.files import DOWNLOADED_SECONDS, Files, data_dir
from sslviz.data.mnist import IDX_FILES, MNIST_SIZE, idx_split

FASHION_NAMES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")


def _fetch(root: Path) -> None:
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(root), train=True, download=True)


FILES = Files("fashion_mnist", "Fashion-MNIST", folder="FashionMNIST/raw", download_mb=30, needed=IDX_FILES,
              fetch=_fetch, homepage="https://github.com/zalandoresearch/fashion-mnist")


@memoized
def _fashion(split: str, root: Path) -> Dataset:  # root: the data directory, so another one is not served from this cache
    return idx_split(FILES, split, FASHION_NAMES)


INFO = register(DatasetInfo(
    # the digits preset: no flips or colour (grey images), small rotations and crops
    "fashion_mnist", channels=1, size=MNIST_SIZE, classes=FASHION_NAMES, augment="digits", load=lambda split, seed: _fashion(split, data_dir()), files=FILES, seconds=DOWNLOADED_SECONDS,
    summary="Fashion-MNIST: 70,000 clothing images, 28×28 (a download, 30 MB).",
))
