"""``svhn``: Street View House Numbers (Netzer et al. 2011), 32×32 colour crops of one digit each, from torchvision's download folder."""

from __future__ import annotations

from pathlib import Path

from sslviz.data.base import Dataset, DatasetInfo, register
from sslviz.data.cache import memoized
from sslviz.data.files import DOWNLOADED_SECONDS, Files, data_dir, labelled_split, read_svhn

SVHN_SIZE = 32
SVHN_NAMES = tuple(str(d) for d in range(10))


def _fetch(root: Path) -> None:
    from torchvision.datasets import SVHN

    for split in ("train", "test"):
        SVHN(str(root / "SVHN"), split=split, download=True)


FILES = Files("svhn", "SVHN", folder="SVHN", download_mb=246, needed=("train_32x32.mat", "test_32x32.mat"),
              fetch=_fetch, homepage="http://ufldl.stanford.edu/housenumbers/ (format 2, cropped digits)")


@memoized
def _svhn(split: str, root: Path) -> Dataset:  # root: the data directory, so another one is not served from this cache
    source = f"{split}_32x32.mat"

    def read():
        with FILES.open(source) as f:
            return read_svhn(f)

    return labelled_split(FILES, split, SVHN_SIZE, (source,), read, SVHN_NAMES)


INFO = register(DatasetInfo(
    # digits again: a mirrored 2 is not a 2, so no flips; colour varies freely in street photos
    "svhn", channels=3, size=SVHN_SIZE, classes=SVHN_NAMES, augment="digits", load=lambda split, seed: _svhn(split, data_dir()), files=FILES, seconds=DOWNLOADED_SECONDS,
    summary="SVHN: house-number digits photographed in the street, 32×32 colour (a download, 246 MB).",
))
