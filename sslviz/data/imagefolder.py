"""Reading a folder or a zip of the user's images into a :class:`Collection` (decoded, checked, labelled).

Layout (the same for a folder and a zip; a single top folder that holds everything is looked through):

- ``CLASS/*.jpg`` — class subfolders become labels for evaluation; a fixed 20% of each class is the test split;
- ``train/CLASS/*`` and ``test/CLASS/*`` — your own split;
- ``*.jpg`` (flat) — unlabelled: the SSL methods train on it, and nothing reports accuracy (there are no classes).

Every file is untrusted. A zip is checked from its directory before anything is decompressed (its size,
its number of members, each member's declared size and compression ratio, the total); members are read
into memory, never extracted, so no name from a zip ever becomes a path. Anything that cannot be used —
a non-image, a nested zip, a name that leaves the zip (``../``, absolute), a damaged photo — is listed by
name with the reason, and the rest is used. JPEGs decode at a reduced DCT scale (``decode_image(draft=)``).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np
import torch

from sslviz.data.uploads import MAX_BYTES, UPLOAD_TYPES, ImageError, decode_image, to_tensor

OWN_SIZE = 32  # px: the size the models for CIFAR-10 train at, so a class of 30 trains at once on a laptop
TEST_SHARE = 0.2
UNLABELLED = "(no class)"
MAX_ZIP_BYTES = 200 * 2**20  # Streamlit's upload limit by default
MAX_MEMBERS = 10_000  # files in a zip or folder
MAX_TOTAL_BYTES = 2 * 2**30  # uncompressed, declared by the zip's directory
MAX_RATIO = 100  # a member that claims more than 100× its compressed size is treated as a zip bomb
MIN_IMAGES = 16
MAX_CLASSES = 100
IGNORED = re.compile(r"(^|/)(__MACOSX|\.[^/]*|Thumbs\.db|desktop\.ini)(/|$)")  # what zip tools and file managers add on their own
IMAGE_SUFFIXES = {f".{t}" for t in UPLOAD_TYPES}

Progress = Callable[[int, int], None]  # (done, total)


class OwnImagesError(ValueError):
    """A folder or zip that cannot become a dataset; the message says why, for the user."""


@dataclass
class Collection:
    """Decoded images: N×3×S×S uint8, a label and a test flag each, the class names, and what was left out (name: reason)."""

    images: np.ndarray
    labels: np.ndarray
    test: np.ndarray
    class_names: tuple[str, ...]
    title: str
    labelled: bool
    problems: list[str] = field(default_factory=list)


def from_folder(path: str | os.PathLike, size: int = OWN_SIZE, progress: Progress | None = None) -> Collection:
    """The images under folder ``path`` (see the module's layouts); OwnImagesError when nothing usable is there."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise OwnImagesError(f"{path}: not a folder. Give a folder of images (class subfolders become labels).")
    members, problems = [], []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root).as_posix()
        if IGNORED.search(rel) or file.is_dir():
            continue
        if file.is_symlink() or not stat.S_ISREG(file.lstat().st_mode):
            problems.append(f"{rel}: a link or special file, not followed")
            continue
        members.append(rel)
        if len(members) > MAX_MEMBERS:
            raise OwnImagesError(f"{path}: more than {MAX_MEMBERS:,} files; the limit is {MAX_MEMBERS:,}. Use a smaller selection.")

    def read(rel: str) -> bytes:
        file = root / rel
        if file.stat().st_size > MAX_BYTES:
            raise ImageError(f"{rel}: the file is {file.stat().st_size / 2**20:.1f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB.")
        return file.read_bytes()

    return _collect(root.name or str(root), members, read, size, problems, progress)


def from_zip(data: bytes, name: str = "upload.zip", size: int = OWN_SIZE, progress: Progress | None = None) -> Collection:
    """The images in zip ``data``, checked from its directory before anything is decompressed (see the module)."""
    if len(data) > MAX_ZIP_BYTES:
        raise OwnImagesError(f"{name} is {len(data) / 2**20:,.0f} MB; a zip of images is at most {MAX_ZIP_BYTES // 2**20} MB.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as err:
        raise OwnImagesError(f"{name} is not a zip file we can read ({err}).") from None
    files = [e for e in entries if not e.is_dir()]
    if not files:
        raise OwnImagesError(f"{name} is empty: it holds no files. Zip a folder of images (class subfolders become labels).")
    if len(files) > MAX_MEMBERS:
        raise OwnImagesError(f"{name} holds {len(files):,} files; the limit is {MAX_MEMBERS:,}. Zip fewer images.")
    declared = sum(e.file_size for e in files)
    if declared > MAX_TOTAL_BYTES:
        raise OwnImagesError(f"{name} declares {declared / 2**30:,.1f} GB uncompressed; the limit is {MAX_TOTAL_BYTES / 2**30:.0f} GB.")
    members, problems, by_name = [], [], {}
    for entry in files:
        shown = entry.filename.replace("\\", "/")
        reason = _refused_member(entry, shown)
        if reason == "ignored":
            continue
        if reason:
            problems.append(f"{shown[:120]}: {reason}")
            continue
        members.append(shown)
        by_name[shown] = entry

    def read(member: str) -> bytes:
        with archive.open(by_name[member]) as f:  # read from memory, bounded: never more than the limit, whatever the header says
            body = f.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise ImageError(f"{member}: the file is over {MAX_BYTES / 2**20:.0f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB.")
        if body[:4] == b"PK\x03\x04":
            raise ImageError(f"{member}: a zip inside the zip (nested archives are not opened)")
        return body

    title = PurePosixPath(name).stem or "upload"
    return _collect(title, members, read, size, problems, progress)


def write_folder(splits: dict, folder: str | os.PathLike) -> None:
    """Write datasets (``{"train": Dataset, "test": Dataset}``) as ``folder/SPLIT/CLASS/00000.png``, numbered across
    classes — the layout :func:`from_folder` reads back to the same 8-bit images in the same order."""
    from PIL import Image

    for split, ds in splits.items():
        for i, (image, label) in enumerate(zip(ds.images, ds.labels)):
            target = Path(folder) / split / ds.class_names[int(label)]
            target.mkdir(parents=True, exist_ok=True)
            pixels = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(target / f"{i:05d}.png")


def _refused_member(entry: zipfile.ZipInfo, shown: str) -> str:
    """Why a zip member is not read ("" when it may be; "ignored" for what zip tools add on their own)."""
    parts = PurePosixPath(shown).parts
    if shown.startswith("/") or re.match(r"^[A-Za-z]:", shown) or ".." in parts or "\x00" in shown:
        return "the name leaves the zip's folder (an absolute path or ../), so it is not used"
    if IGNORED.search(shown):
        return "ignored"
    if entry.flag_bits & 0x1:
        return "encrypted; zip the images without a password"
    if shown.lower().endswith((".zip", ".tar", ".gz", ".7z", ".rar")):
        return "an archive inside the zip (nested archives are not opened)"
    if PurePosixPath(shown).suffix.lower() not in IMAGE_SUFFIXES:
        return f"not an image by its name (images are {', '.join(sorted(IMAGE_SUFFIXES))})"
    if entry.file_size > MAX_BYTES:
        return f"declares {entry.file_size / 2**20:,.0f} MB; an image is at most {MAX_BYTES / 2**20:.0f} MB"
    if entry.compress_size and entry.file_size / entry.compress_size > MAX_RATIO:
        return f"compressed {entry.file_size / entry.compress_size:,.0f}:1, like a zip bomb (an image compresses far less); not decompressed"
    return ""


def _layout(members: list[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(member, split or "", class or "") for each member, and the problems of the layout."""
    paths = [PurePosixPath(m).parts for m in members]
    while paths and all(len(p) > 1 for p in paths) and len({p[0] for p in paths}) == 1:
        paths = [p[1:] for p in paths]  # a zip of one folder: look through it
    split_layout = paths and {p[0].lower() for p in paths if len(p) > 1} >= {"train", "test"}
    out, problems = [], []
    for member, parts in zip(members, paths):
        split = ""
        if split_layout:
            if parts[0].lower() not in ("train", "test"):
                problems.append(f"{member}: outside the train/ and test/ folders; not used")
                continue
            split, parts = parts[0].lower(), parts[1:]
        out.append((member, split, parts[0] if len(parts) > 1 else ""))
    classed = {c for _, _, c in out if c}
    if classed and any(not c for _, _, c in out):
        problems += [f"{m}: not in a class folder (the other images are); not used" for m, _, c in out if not c]
        out = [row for row in out if row[2]]
    return out, problems


def _collect(title: str, members: list[str], read: Callable[[str], bytes], size: int, problems: list[str], progress: Progress | None) -> Collection:
    rows, layout_problems = _layout(members)
    rows.sort(key=lambda row: (PurePosixPath(row[0]).name, row[0]))  # by file name, then folder: numbered files keep their order across classes
    problems = problems + layout_problems
    images, kept = [], []
    for i, (member, split, cls) in enumerate(rows):
        try:
            rgb = decode_image(read(member), member, draft=size)
            images.append((to_tensor(rgb, size)[0] * 255).round().to(torch.uint8).numpy())
            kept.append((member, split, cls))
        except ImageError as err:
            problems.append(str(err))
        except (OSError, EOFError, zipfile.BadZipFile, RuntimeError, ValueError) as err:  # a damaged member, a CRC mismatch
            problems.append(f"{member}: could not be read ({err})")
        if progress is not None and (i % 16 == 0 or i == len(rows) - 1):
            progress(i + 1, len(rows))
    if len(images) < MIN_IMAGES:
        listed = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise OwnImagesError(f"{title}: {len(images)} usable image(s); at least {MIN_IMAGES} are needed to train." + (f" Not used: {listed}." if problems else ""))
    classes = sorted({c for _, _, c in kept if c})
    if len(classes) > MAX_CLASSES:
        raise OwnImagesError(f"{title}: {len(classes)} class folders; the limit is {MAX_CLASSES}.")
    labelled = len(classes) >= 2
    index = {c: i for i, c in enumerate(classes)}
    labels = np.array([index[c] if labelled else 0 for _, _, c in kept], dtype=np.int64)
    test = _test_flags(kept, labels)
    if labelled and (not test.any() or test.all()):
        raise OwnImagesError(f"{title}: the test split would be {'empty' if not test.any() else 'everything'}; put images in both train/ and test/.")
    return Collection(np.stack(images), labels, test, tuple(classes) if labelled else (UNLABELLED,), title, labelled, problems)


def _test_flags(kept: list[tuple[str, str, str]], labels: np.ndarray) -> np.ndarray:
    """Given splits as they are; otherwise TEST_SHARE of each class, picked by a hash of the file name (stable, not by order)."""
    test = np.array([split == "test" for _, split, _ in kept])
    if any(split for _, split, _ in kept):
        return test
    keys = np.array([int.from_bytes(hashlib.blake2b(m.encode(), digest_size=8).digest(), "big") for m, _, _ in kept], dtype=np.uint64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) >= 2:
            chosen = members[np.argsort(keys[members], kind="stable")][: max(1, round(TEST_SHARE * len(members)))]
            test[chosen] = True
    return test


