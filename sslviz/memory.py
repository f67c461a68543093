"""The process's memory: what the job watchdog measures, and handing freed memory back to the OS after a run."""

from __future__ import annotations

import ctypes
import resource


def rss_mb() -> float | None:
    """This process's resident memory in MB right now (None where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return None


def release_memory() -> None:
    """Hand freed heap memory back to the OS (glibc's malloc_trim), so the server's RSS falls after a big run."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass
