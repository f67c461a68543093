"""Downloading a standard dataset when the user asks: one background process per dataset, shared by the server.

``python -m sslviz download NAME`` does the work (torchvision's own class: its URLs and MD5 sums);
the app starts that command with :func:`start`, reads :func:`progress` (bytes that arrived in the
data directory against the announced size) and can :func:`cancel` it. One download of a dataset
runs at a time however many students click: a second click joins the first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sslviz import data
from sslviz.data import files

_LOCK = threading.Lock()
COMMAND = (sys.executable, "-m", "sslviz", "download")  # + the dataset's name


@dataclass
class Download:
    """A download in progress or finished: its process, what the data directory held when it began, its log."""

    dataset: str
    process: subprocess.Popen
    start_bytes: int
    log: Path
    started: float
    cancelled: bool = False


@dataclass(frozen=True)
class Progress:
    """What a page shows: ``state`` is one of idle, running, done, failed, cancelled."""

    state: str
    fraction: float = 0.0
    mb: float = 0.0
    total_mb: float = 0.0
    message: str = ""


DOWNLOADS: dict[str, Download] = {}


def folder_bytes(root: Path) -> int:
    """Bytes under ``root`` outside the cache (what a download has written so far, partial files included)."""
    total = 0
    for path, _dirs, names in os.walk(root):
        if files.CACHE_FOLDER in Path(path).parts:
            continue
        for name in names:
            try:
                total += os.stat(os.path.join(path, name)).st_size
            except OSError:
                pass  # a temporary file renamed meanwhile
    return total


def _files(dataset: str) -> files.Files:
    entry = data.info(dataset).files
    if entry is None:
        raise ValueError(f"{dataset!r} ships with sslviz or is generated; there is nothing to download.")
    return entry


def start(dataset: str) -> Download:
    """Start downloading ``dataset`` (or return the download already running)."""
    entry = _files(dataset)
    with _LOCK:
        running = DOWNLOADS.get(dataset)
        if running is not None and running.process.poll() is None:
            return running
        root = files.data_dir()
        root.mkdir(parents=True, exist_ok=True)
        log = root / f".download-{dataset}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([*COMMAND, entry.dataset], stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # its own process group: Cancel stops its children too
        DOWNLOADS[dataset] = Download(dataset, process, folder_bytes(root), log, time.time())
        return DOWNLOADS[dataset]


def progress(dataset: str) -> Progress:
    """Where the download of ``dataset`` stands (idle when none was started in this server)."""
    entry = _files(dataset)
    job = DOWNLOADS.get(dataset)
    if job is None:
        return Progress("idle", total_mb=entry.download_mb)
    grown = max(0, folder_bytes(files.data_dir()) - job.start_bytes) / 1e6
    code = job.process.poll()
    if code is None:
        return Progress("running", min(1.0, grown / entry.download_mb), grown, entry.download_mb)
    if job.cancelled:
        return Progress("cancelled", total_mb=entry.download_mb, message="Download cancelled.")
    if code == 0 and not entry.missing():
        return Progress("done", 1.0, grown, entry.download_mb)
    tail = job.log.read_text(errors="replace").strip().splitlines()[-1:] if job.log.is_file() else []
    return Progress("failed", total_mb=entry.download_mb, message=(tail[0] if tail else f"the download stopped (exit code {code})."))


def cancel(dataset: str) -> None:
    """Stop the running download of ``dataset`` (its partial files stay; torchvision checks them next time)."""
    job = DOWNLOADS.get(dataset)
    if job is not None and job.process.poll() is None:
        job.cancelled = True
        os.killpg(job.process.pid, signal.SIGTERM)
        job.process.wait(30)


def fetch(dataset: str) -> None:
    """Download ``dataset`` into the data directory now (the CLI's ``download`` command); ValueError when it cannot."""
    entry = _files(dataset)
    root = files.data_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        entry.fetch(root)
    except (OSError, RuntimeError) as err:  # no connection, a refused URL, a failed MD5 check
        reason = " ".join(str(err).split())  # torchvision's messages span lines; the page and the log show one
        raise ValueError(f"downloading {entry.title} into {root} failed ({reason}). Check the internet connection, "
                         f"or put the official files from {entry.homepage} in {entry.path()}.") from None
    if entry.missing():
        raise ValueError(f"the download finished but {', '.join(entry.missing())} is not in {entry.path()}.")
