"""Datasets that live in files: the data directory, readers for the official on-disk formats, and a cache.

The standard datasets (MNIST, Fashion-MNIST, CIFAR-10, SVHN, STL-10) are read from the layout
torchvision's own dataset classes download into (``python -m sslviz download NAME`` calls them).
Nothing here downloads: a missing file raises :class:`MissingFiles`, whose message names the
dataset, the folder it looked in and the command that fetches it.

Reading is done here, not by torchvision's classes, for two reasons: CIFAR-10's official batches are
Python pickles, which we never unpickle freely (a restricted unpickler admits only numpy arrays,
bytes, lists and dicts); and torchvision re-checks MD5 sums on every load, which the small test files
written in the same format cannot pass. The download still goes through torchvision, which checks them.

Decoded splits are resized once to the model's size and cached as plain ``.npy`` arrays (uint8,
loaded with ``allow_pickle=False``), keyed by a hash of the source files' bytes, so a second load of
50,000 images takes a fraction of a second and a changed file is never served stale.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from sslviz.data.base import Dataset

DATA_DIR_VARIABLE = "SSLVIZ_DATA_DIR"
CACHE_FOLDER = "sslviz-cache"  # under the data directory
CHUNK = 4096  # images resized at a time: bounds the float copy a resize needs (STL-10's 96-px images)


class MissingFiles(ValueError):
    """A dataset's files are not in the data directory; the message says which, where, and how to get them."""


def data_dir() -> Path:
    """Where the standard datasets and the cache live: ``$SSLVIZ_DATA_DIR``, else ``~/.cache/sslviz/data``.

    ValueError when the variable names something that is not a folder (a file, or a path with a NUL).
    """
    raw = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if not raw:
        return Path.home() / ".cache" / "sslviz" / "data"
    if "\x00" in raw:
        raise ValueError(f"{DATA_DIR_VARIABLE} contains a NUL character; set it to a folder path.")
    path = Path(raw).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"{DATA_DIR_VARIABLE}={raw!r} is a file, not a folder; set it to the folder that holds the datasets.")
    return path


@dataclass(frozen=True)
class Files:
    """What a file-backed dataset needs on disk, and how to get it.

    ``folder``: relative to the data directory; ``needed``: file names inside it (a ``.gz`` twin is
    accepted for each); ``download_mb``: the size of the download, shown before it starts;
    ``fetch(root)``: downloads into ``root`` with torchvision's own class (URLs and MD5 sums are its).
    """

    dataset: str
    title: str
    folder: str
    needed: tuple[str, ...]
    download_mb: float
    fetch: Callable[[Path], None]
    homepage: str

    def path(self, name: str = "") -> Path:
        return data_dir() / self.folder / name

    def missing(self) -> list[str]:
        """The needed files that are absent (empty when the dataset can load)."""
        return [n for n in self.needed if not (self.path(n).is_file() or self.path(n + ".gz").is_file())]

    def message(self) -> str:
        """Why the dataset cannot load, and the exact way to fix it."""
        missing = self.missing()
        return (f"{self.title} is not downloaded: {', '.join(missing)} not found in {self.path()}. "
                f"Download it ({self.download_mb:,.0f} MB) with the sidebar's Download button or `python -m sslviz download {self.dataset}`, "
                f"or put the official files from {self.homepage} there (set {DATA_DIR_VARIABLE} to use another folder).")

    def check(self) -> None:
        """MissingFiles unless every needed file is present."""
        if self.missing():
            raise MissingFiles(self.message())

    def open(self, name: str) -> io.BufferedIOBase:
        """A needed file, transparently un-gzipped when only its ``.gz`` twin exists."""
        plain = self.path(name)
        return open(plain, "rb") if plain.is_file() else gzip.open(self.path(name + ".gz"), "rb")

    def fingerprint(self, names: tuple[str, ...]) -> str:
        """A hash of the bytes of ``names`` (and the reader's version): the cache key."""
        digest = hashlib.blake2b(f"{self.dataset}:{READER_VERSION}".encode(), digest_size=16)
        for name in names:
            with self.open(name) as f:
                while block := f.read(1 << 23):
                    digest.update(block)
        return digest.hexdigest()


# The sidebar's starting budget on a downloaded dataset: the longest it offers. NOT tuned — no real files reach this
# machine — but real photos take longer than the generated sets (30 s, time-to-accuracy-shapes/-clutter in RESULTS.md).
DOWNLOADED_SECONDS = 120
READER_VERSION = 1  # bump when a reader or the resize changes: old cache entries are then ignored


def cached(files: Files, split: str, size: int, sources: tuple[str, ...], read: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """``read()``'s (images N×C×H×W uint8 at ``size`` px, labels N int64), from the cache when the sources are unchanged."""
    files.check()
    folder = data_dir() / CACHE_FOLDER
    stem = folder / f"{files.dataset}-{split}-{size}px-{files.fingerprint(sources)}"
    images_path, labels_path = stem.with_suffix(".images.npy"), stem.with_suffix(".labels.npy")
    if images_path.is_file() and labels_path.is_file():
        try:
            images, labels = np.load(images_path, allow_pickle=False), np.load(labels_path, allow_pickle=False)
            if images.dtype == np.uint8 and images.ndim == 4 and labels.shape == (images.shape[0],):
                return images, labels
        except (OSError, ValueError):
            pass  # a damaged cache entry is rebuilt below
    try:
        images, labels = read()
    except (ValueError, OSError, EOFError, KeyError, IndexError, pickle.UnpicklingError, NotImplementedError) as err:
        raise ValueError(f"{files.title}: {', '.join(sources)} in {files.path()} could not be read ({err}). "
                         f"Delete the damaged file and run `python -m sslviz download {files.dataset}` again.") from None
    folder.mkdir(parents=True, exist_ok=True)
    save_array(images_path, images)
    save_array(labels_path, labels)
    return images, labels


def save_array(path: Path, array: np.ndarray) -> None:
    """``array`` as a plain ``.npy`` file (no pickles), written whole and then renamed: a crash leaves no half file."""
    partial = path.with_suffix(".partial.npy")
    np.save(partial, array, allow_pickle=False)
    os.replace(partial, path)


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """N×C×H×W uint8 images as N×C×size×size uint8 (area averaging when shrinking), CHUNK images at a time."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return np.ascontiguousarray(images)
    out = np.empty((images.shape[0], images.shape[1], size, size), dtype=np.uint8)
    for start in range(0, images.shape[0], CHUNK):
        x = torch.from_numpy(np.ascontiguousarray(images[start : start + CHUNK])).float()
        mode = {"mode": "area"} if x.shape[-1] > size else {"mode": "bilinear", "align_corners": False}
        out[start : start + CHUNK] = F.interpolate(x, size=(size, size), **mode).round().clamp(0, 255).to(torch.uint8).numpy()
    return out


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 N×C×H×W as float32 in [0, 1], the form every ``Dataset`` holds."""
    return torch.from_numpy(images).float().div_(255.0)


# --- the official formats ------------------------------------------------------------------


def read_idx(f: io.BufferedIOBase) -> np.ndarray:
    """An IDX file (MNIST's format: a magic number giving the type and rank, then the sizes, then the data)."""
    header = f.read(4)
    if len(header) != 4 or header[0] != 0 or header[1] != 0 or header[2] != 0x08:
        raise ValueError("not an IDX file of unsigned bytes (bad magic number)")
    rank = header[3]
    if not 1 <= rank <= 4:
        raise ValueError(f"an IDX file of rank {rank} is not images or labels")
    shape = tuple(int(v) for v in np.frombuffer(f.read(4 * rank), dtype=">u4"))
    count = int(np.prod(shape))
    body = f.read(count + 1)
    if len(body) != count:
        raise ValueError(f"the IDX file declares {count:,} values but holds {len(body):,}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles CIFAR's batch dictionaries and nothing else: numpy arrays, dtypes, bytes, lists, dicts."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):  # noqa: ANN201 — pickle's signature
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"the file asks to load {module}.{name}, which a CIFAR batch never contains")
        return super().find_class(module, name)


def read_cifar_batch(f: io.BufferedIOBase) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images N×3×32×32 uint8 and labels N, through the restricted unpickler."""
    batch = _ArraysOnly(f, encoding="latin1").load()  # latin1, as torchvision reads them: the batches were written by Python 2
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        raise ValueError("not a CIFAR-10 batch (no data and labels)")
    images = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if images.ndim != 2 or images.shape[1] != 3 * 32 * 32 or labels.shape != (images.shape[0],):
        raise ValueError(f"a CIFAR-10 batch holds N×3072 bytes and N labels, got {images.shape} and {labels.shape}")
    return images.reshape(-1, 3, 32, 32), labels


def read_stl10_resized(f: io.BufferedIOBase, size: int, chunk: int = 1024) -> np.ndarray:
    """STL-10 images read ``chunk`` at a time and each chunk resized to ``size`` px: the 100,000 unlabelled images
    (2.8 GB at 96 px) never sit in memory at full size, only their 32-px copy (0.3 GB)."""
    record = 3 * 96 * 96
    parts = []
    while block := f.read(record * chunk):
        if len(block) % record:
            raise ValueError(f"an STL-10 image file holds a multiple of {record} bytes; it ends {len(block) % record} bytes into an image")
        parts.append(resize(np.frombuffer(block, dtype=np.uint8).reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2), size))
    if not parts:
        raise ValueError("the STL-10 image file is empty")
    return np.concatenate(parts)


def read_svhn(f: io.BufferedIOBase) -> tuple[np.ndarray, np.ndarray]:
    """SVHN's cropped digits (.mat, MATLAB v5): X 32×32×3×N, y N×1 with 10 meaning the digit 0."""
    from scipy.io import loadmat  # no pickles: MATLAB's own format

    mat = loadmat(f)
    images, labels = np.asarray(mat["X"], dtype=np.uint8), np.asarray(mat["y"], dtype=np.int64).reshape(-1)
    if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or images.shape[3] != labels.size:
        raise ValueError(f"SVHN holds X 32×32×3×N and N labels, got {images.shape} and {labels.shape}")
    return images.transpose(3, 2, 0, 1), labels % 10


def labelled_split(files: Files, split: str, size: int, sources: tuple[str, ...], read: Callable[[], tuple[np.ndarray, np.ndarray]],
                   class_names: tuple[str, ...]) -> Dataset:
    """A file-backed split as a :class:`Dataset` (through the cache); labels outside the classes are refused."""
    images, labels = cached(files, split, size, sources, read)
    if labels.size and not (0 <= labels.min() and labels.max() < len(class_names)):
        raise ValueError(f"{files.title}: labels run from {labels.min()} to {labels.max()}, but it has {len(class_names)} classes.")
    names = np.array(class_names)[labels]
    return Dataset(name=files.dataset, split=split, images=to_float(images), labels=torch.from_numpy(labels.astype(np.int64)),
                   class_names=class_names, attributes={"class": names})
