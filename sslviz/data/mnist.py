"""``mnist``: LeCun et al.'s 70,000 handwritten digits, 28×28 grey, read from torchvision's download folder.

``python -m sslviz download mnist`` fetches it (torchvision's ``MNIST`` class: its URLs, its MD5 sums).
"""

from __future__ import annotations

from pathlib import Path

from sslviz.data.base import Dataset, DatasetInfo, register
from sslviz.data.cache import memoized
from sslviz.data.files import DOWNLOADED_SECONDS, Files, data_dir, labelled_split, read_idx

MNIST_SIZE = 28
MNIST_NAMES = tuple(str(d) for d in range(10))


def _fetch(root: Path) -> None:
    from torchvision.datasets import MNIST

    MNIST(str(root), train=True, download=True)


def idx_split(files: Files, split: str, class_names: tuple[str, ...]) -> Dataset:
    """The train (60,000) or test (10,000) split of an MNIST-format dataset (MNIST, Fashion-MNIST)."""
    prefix = "train" if split == "train" else "t10k"
    sources = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")

    def read():
        with files.open(sources[0]) as f, files.open(sources[1]) as g:
            images, labels = read_idx(f), read_idx(g)
        if images.ndim != 3 or labels.shape != (images.shape[0],):
            raise ValueError(f"{files.title}: {sources[0]} holds {images.shape}, {sources[1]} holds {labels.shape}; expected N×28×28 and N")
        return images[:, None].copy(), labels.astype("int64")

    return labelled_split(files, split, MNIST_SIZE, sources, read, class_names)


IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")  # MNIST's format
FILES = Files("mnist", "MNIST", folder="MNIST/raw", download_mb=11, needed=IDX_FILES,
              fetch=_fetch, homepage="https://yann.lecun.com/exdb/mnist/")


@memoized
def _mnist(split: str, root: Path) -> Dataset:  # root: the data directory, so another one is not served from this cache
    return idx_split(FILES, split, MNIST_NAMES)


INFO = register(DatasetInfo(
    "mnist", channels=1, size=MNIST_SIZE, classes=MNIST_NAMES, augment="digits", load=lambda split, seed: _mnist(split, data_dir()), files=FILES, seconds=DOWNLOADED_SECONDS,
    summary="MNIST: 70,000 handwritten digits, 28×28 (a download, 11 MB).",
))
