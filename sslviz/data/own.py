"""Your own images as a dataset: a folder, or a zip uploaded in the app (read by ``sslviz.data.imagefolder``).

Decoded images are stored as uint8 ``.npy`` arrays in the data directory's cache under a name made from
their content (``own-<digest>``), so every process that can see the data directory — a cluster worker,
the CLI, another session given the link — loads the same dataset. Folders under the data directory's
``images/`` are offered to every session of the server (``folder-NAME``) and decoded once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from sslviz.data.base import RESOLVERS, Dataset, DatasetInfo
from sslviz.data.files import CACHE_FOLDER, data_dir, save_array, to_float
from sslviz.data.imagefolder import (  # noqa: F401  (re-exported: own.from_zip, own.MAX_ZIP_BYTES, …)
    MAX_CLASSES,
    MAX_MEMBERS,
    MAX_ZIP_BYTES,
    MIN_IMAGES,
    OWN_SIZE,
    UNLABELLED,
    Collection,
    OwnImagesError,
    Progress,
    from_folder,
    from_zip,
    write_folder,
)

OWN_AUGMENT = "crop, flip, colour"  # the preset of natural photos (CIFAR-10's)
PREFIX = "own-"
FOLDER_PREFIX = "folder-"  # a folder under the data directory's IMAGES_FOLDER, listed for every session of the server
IMAGES_FOLDER = "images"


# --- the cache, and the dataset every process can load by name -----------------------------


def _store_folder(digest: str) -> Path:
    return data_dir() / CACHE_FOLDER / "own" / digest


def store(collection: Collection, augment: str = OWN_AUGMENT) -> str:
    """Save ``collection`` into the cache and return its dataset name (``own-<digest>``, the same for the same images)."""
    h = hashlib.blake2b(digest_size=10)
    for part in (collection.images, collection.labels, collection.test):
        h.update(np.ascontiguousarray(part).tobytes())
    h.update(json.dumps([collection.class_names, collection.labelled, augment]).encode())
    digest = h.hexdigest()
    folder = _store_folder(digest)
    if not (folder / "meta.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for key in ("images", "labels", "test"):
            save_array(folder / f"{key}.npy", getattr(collection, key))
        meta = {"title": collection.title[:80], "classes": list(collection.class_names), "labelled": collection.labelled,
                "augment": augment, "size": int(collection.images.shape[-1]), "count": int(len(collection.labels)),
                "left_out": len(collection.problems)}
        (folder / "meta.partial.json").write_text(json.dumps(meta))
        os.replace(folder / "meta.partial.json", folder / "meta.json")  # last: a folder without meta.json is not a dataset
    return PREFIX + digest


def _meta(digest: str) -> dict | None:
    path = _store_folder(digest) / "meta.json"
    try:
        if path.stat().st_size > 64 * 1024:
            return None
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = (isinstance(meta, dict) and isinstance(meta.get("title"), str) and isinstance(meta.get("classes"), list)
          and all(isinstance(c, str) for c in meta["classes"]) and 1 <= len(meta["classes"]) <= MAX_CLASSES
          and isinstance(meta.get("size"), int) and 8 <= meta["size"] <= 128 and isinstance(meta.get("augment"), str))
    return meta if ok else None


def _resolve(name: str) -> DatasetInfo | None:
    if name.startswith(FOLDER_PREFIX):
        stored = prepared(name)
        return None if stored is None else _info(name, stored[len(PREFIX):])
    if not name.startswith(PREFIX) or not re.fullmatch(r"[0-9a-f]{20}", name[len(PREFIX):]):
        return None
    return _info(name, name[len(PREFIX):])


def _info(name: str, digest: str) -> DatasetInfo | None:
    meta = _meta(digest)
    if meta is None:
        return None
    labelled = bool(meta.get("labelled"))
    kind = f"{len(meta['classes'])} classes" if labelled else "no classes (a flat folder: nothing reports accuracy)"
    return DatasetInfo(name, channels=3, size=meta["size"], classes=tuple(meta["classes"]), augment=meta["augment"],
                       load=lambda split, seed: _load(digest, name, split, data_dir()), labelled=labelled,
                       summary=f"your images “{meta['title']}”: {meta.get('count', '?')} photos, {kind}.")


RESOLVERS.append(_resolve)


def title(name: str) -> str:
    """How the sidebar names an own dataset: its folder or zip name and size (other names are returned as they are)."""
    if name.startswith(FOLDER_PREFIX):
        stored = prepared(name)
        return f"Your images: {name[len(FOLDER_PREFIX):]} (folder)" if stored is None else title(stored)
    meta = _meta(name[len(PREFIX):]) if name.startswith(PREFIX) else None
    if meta is None:
        return name
    kind = f"{len(meta['classes'])} classes" if meta.get("labelled") else "unlabelled"
    return f"Your images: {meta['title']} ({meta.get('count', '?')}, {kind})"


@functools.lru_cache(maxsize=4)
def _arrays(digest: str, root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    folder = root / CACHE_FOLDER / "own" / digest
    try:
        images, labels, test = (np.load(folder / f"{k}.npy", allow_pickle=False) for k in ("images", "labels", "test"))
    except (OSError, ValueError) as err:
        raise OwnImagesError(f"The stored images {PREFIX}{digest} could not be read ({err}); upload them again.") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != 3 or labels.shape != (len(images),) or test.shape != (len(images),):
        raise OwnImagesError(f"The stored images {PREFIX}{digest} are damaged; upload them again.")
    return images, labels, test.astype(bool)


def _load(digest: str, name: str, split: str, root: Path) -> Dataset:
    images, labels, test = _arrays(digest, root)
    meta = _meta(digest) or {"classes": [UNLABELLED]}
    pick = test if split == "test" else ~test
    if not test.any():  # unlabelled, too small to split: train and test on the same images (nothing reports accuracy on it)
        pick = np.ones_like(test)
    classes = tuple(meta["classes"])
    if labels.max(initial=0) >= len(classes) or labels.min(initial=0) < 0:
        raise OwnImagesError(f"The stored images {PREFIX}{digest} are damaged (labels beyond their classes); upload them again.")
    chosen = labels[pick]
    return Dataset(name=name, split=split, images=to_float(images[pick]), labels=torch.from_numpy(chosen.copy()),
                   class_names=classes, attributes={"class": np.array(classes)[chosen]})


# --- folders under the data directory, shared by every session ------------------------------


def shared_folders() -> dict[str, Path]:
    """``folder-NAME`` -> the folder ``images/NAME`` under the data directory (each becomes a dataset once decoded)."""
    try:
        root = data_dir() / IMAGES_FOLDER
        found = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except (OSError, ValueError):
        return {}
    return {FOLDER_PREFIX + re.sub(r"[^A-Za-z0-9_.-]", "_", p.name)[:60]: p for p in found[:50]}


def _pointer(path: Path, augment: str = OWN_AUGMENT, recent: bool = False) -> Path:
    key = (_recent_folder_key(path) if recent else _folder_key(path)) + (hashlib.blake2b(augment.encode(), digest_size=4).hexdigest() if augment != OWN_AUGMENT else "")
    return data_dir() / CACHE_FOLDER / "own" / f"folder-{key}.txt"


def prepared(name: str) -> str | None:
    """The ``own-`` name a shared folder ``folder-NAME`` was decoded into, while its files are unchanged; None before."""
    path = shared_folders().get(name)
    if path is None:
        return None
    try:
        stored = _pointer(path, recent=True).read_text().strip()
    except OSError:
        return None
    return stored if _resolve(stored) is not None else None


def prepare_folder(path: str | os.PathLike, progress: Progress | None = None, augment: str = OWN_AUGMENT) -> str:
    """Decode a folder once (or find it in the cache by its files' names, sizes and times) and return its ``own-`` name."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise OwnImagesError(f"{path}: not a folder. Give a folder of images (class subfolders become labels).")
    pointer = _pointer(path, augment)
    try:
        stored = pointer.read_text().strip()
        if _resolve(stored) is not None:
            return stored
    except OSError:
        pass
    stored = store(from_folder(path, progress=progress), augment)
    pointer.write_text(stored)
    return stored


def _folder_key(path: Path) -> str:
    h = hashlib.blake2b(str(path.resolve()).encode(), digest_size=10)
    for entry in _walk(path):
        st = entry.stat()
        h.update(f"{entry.relative_to(path).as_posix()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


# A shared folder's key, reused for a few seconds: the sidebar names the folder on every rerun (several times), and walking
# and stat-ing 10,000 photos takes ~0.14 s each time. Decoding (prepare_folder) always walks afresh.
KEY_SECONDS = 10.0
_recent_keys: dict[Path, tuple[float, str]] = {}


def _recent_folder_key(path: Path) -> str:
    now = time.monotonic()
    hit = _recent_keys.get(path)
    if hit is None or now - hit[0] > KEY_SECONDS:
        hit = _recent_keys[path] = (now, _folder_key(path))
    return hit[1]


def _walk(path: Path) -> Iterator[Path]:
    for i, entry in enumerate(sorted(path.rglob("*"))):
        if i > MAX_MEMBERS * 2:
            return
        if entry.is_file():
            yield entry


def names_of(collection: Iterable[str]) -> list[str]:
    """The ``own-`` names among ``collection`` that still resolve (their cache entry exists)."""
    return [n for n in collection if _resolve(n) is not None]
